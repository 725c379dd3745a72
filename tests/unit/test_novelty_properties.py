"""Invariants of story-update decisions (issue 13), as hypothesis properties over real text.

Stories come from the dev articles (``../shared/data/cluster-dev.jsonl``; those tests skip
without it) and from the hand-written articles committed with the tests (always run). Each
property runs the event stage's own code: ``events.apply_story`` (versions, late versions) or
``novelty.assess`` (the judgement against an event's facts).

(a) an identical re-send or identical new version never alerts, also after another story;
(b) monotonic: what is known given an event's facts stays known given more facts;
(c) reordering, splitting, joining, restyling quotes or deleting known sentences alerts nothing;
(d) every reported fact names something new: ``terms`` is never empty, and a fact without a new
    figure has a term the event did not know;
(e) a glued clause is reported as the clause, with its host sentence as ``context``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from streams.core import events, normalize, novelty
from streams.core.facts import analyze, is_content_word
from streams.core.models import AssignedStory, Assignment, Story
from streams.core.pipeline import enrich
from streams.core.versions import WORD

from .articles import ELECTION, FLOOD_OTHER_OUTLET, FLOOD_V1, FLOOD_V3_NEWS
from .test_novelty import EXTRA, QUAKE

DEV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cluster-dev.jsonl"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Story_ = list[list[str]]  # paragraphs of sentences


def _sample() -> list[Story_]:
    """The committed, hand-written articles."""
    stories = [[QUAKE[:3], QUAKE[3:] + [EXTRA]]]
    for doc in (FLOOD_V1, FLOOD_V3_NEWS, FLOOD_OTHER_OUTLET, ELECTION):
        stories.append([list(normalize.clean_story("", p).sentences) for p in doc["body_text"].split("\n\n")])
    return stories


@lru_cache(maxsize=1)
def _dev() -> list[Story_]:
    """Up to 120 dev stories (one article each) with at least four sentences."""
    stories: list[Story_] = []
    with open(DEV, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            clean = normalize.clean_story(row.get("headline") or "", row.get("body_text") or "")
            paragraphs = [list(normalize.clean_story("", p).sentences) for p in clean.paragraphs]
            paragraphs = [p for p in paragraphs if p]
            if sum(map(len, paragraphs)) >= 4:
                stories.append(paragraphs)
            if len(stories) >= 120:
                break
    return stories


SOURCES = [pytest.param("sample", id="sample"),
           pytest.param("dev", id="dev", marks=[pytest.mark.devdata,
                                                pytest.mark.skipif(not DEV.exists(), reason="needs ../shared/data")])]


def corpus(source: str) -> list[Story_]:
    return _sample() if source == "sample" else _dev()


def text(story: Story_) -> str:
    return "\n\n".join(" ".join(p) for p in story if p)


def flat(story: Story_) -> list[str]:
    return [s for p in story for s in p]


class Event:
    """One event, fed stories as the event stage would."""

    def __init__(self) -> None:
        self.state: events.EventState | None = None
        self.clock = 0.0

    def send(self, uri: str, version: int, body: str) -> events.StoryApplied:
        self.clock += 60.0
        story = Story(uri=uri, body_text=body, version=version, headline="", versioncreated=self.clock,
                      language_hint="en")
        applied = events.apply_story(self.state, AssignedStory(enrich(story), Assignment("ev", self.state is None, 1.0)))
        self.state = applied.state
        return applied


def rewrite(story: Story_, how: str, k: int) -> Story_:
    """The same facts told again: reordered, split, joined, restyled or with one sentence dropped."""
    sentences = flat(story)
    k %= len(sentences)
    if how == "reorder":
        return [sentences[k:] + sentences[:k]]
    if how == "restyle":
        return [[re.sub(r'"([^"]*)"', "\u201c\\1\u201d", s).replace("'", "\u2019") for s in p] for p in story]
    if how == "delete":
        return [sentences[:k] + sentences[k + 1:]]
    if how == "join" and k + 1 < len(sentences):
        joined = sentences[k].rstrip(".!? ") + "; " + sentences[k + 1]
        return [sentences[:k] + [joined] + sentences[k + 2:]]
    if how == "split":
        s = sentences[k]
        m = re.search(r", (and|but|while) ", s)
        if m and len(s[:m.start()].split()) >= 4 and len(s[m.end():].split()) >= 4:
            tail = m.group(1).capitalize() + " " + s[m.end():]
            return [sentences[:k] + [s[:m.start()] + ".", tail] + sentences[k + 1:]]
    return [list(sentences)]  # a re-layout: one paragraph


# --- (a) identical re-sends and versions ---------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_identical_resend_or_version_never_alerts(source: str) -> None:
    stories = corpus(source)

    @SETTINGS
    @given(st.integers(0, len(stories) - 1), st.integers(0, len(stories) - 1), st.booleans())
    def check(i: int, j: int, other_between: bool) -> None:
        event = Event()
        body = text(stories[i])
        event.send("urn:a", 1, body)
        if other_between and i != j:
            event.send("urn:b", 1, text(stories[j]))
        assert event.send("urn:a", 1, body).duplicate
        assert event.send("urn:a", 2, body).alert is None
        assert event.send("urn:a", 2, body).duplicate

    check()


# --- (b) monotonic -----------------------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_known_stays_known_as_the_event_learns_more(source: str) -> None:
    stories = corpus(source)

    @SETTINGS
    @given(st.integers(0, len(stories) - 1), st.lists(st.integers(0, len(stories) - 1), min_size=1, max_size=3),
           st.integers(0, len(stories) - 1), st.booleans())
    def check(seed: int, more: list[int], story: int, verbatim: bool) -> None:
        facts = novelty.assess([], flat(stories[seed]), "en").facts_to_add
        extended = list(facts)
        for n in more:
            extended += novelty.assess(extended, flat(stories[n]), "en", baseline=len(facts)).facts_to_add
        sentences = flat(stories[story])
        kwargs = {"baseline": len(facts), "known_lang": "en" if verbatim else None}
        before = {f.text for f in novelty.assess(facts, sentences, "en", **kwargs).new_facts}
        after = {f.text for f in novelty.assess(extended, sentences, "en", **kwargs).new_facts}
        assert after <= before, after - before

    check()


# --- (c) rewrites --------------------------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_rewrites_of_known_sentences_alert_nothing(source: str) -> None:
    stories = corpus(source)

    @SETTINGS
    @given(st.integers(0, len(stories) - 1),
           st.lists(st.sampled_from(["reorder", "restyle", "delete", "join", "split", "relayout"]), min_size=1,
                    max_size=3),
           st.integers(0, 1000), st.booleans())
    def check(i: int, hows: list[str], k: int, other_first: bool) -> None:
        event = Event()
        if other_first:  # the event knows another story first: the rewrite is still only a rewrite
            event.send("urn:other", 1, text(stories[(i + 1) % len(stories)]))
        story = stories[i]
        event.send("urn:a", 1, text(story))
        version = story
        for n, how in enumerate(hows):
            version = rewrite(version, how, k + n)
            applied = event.send("urn:a", 2 + n, text(version))
            assert applied.alert is None, (how, [f.text for f in applied.new_facts])

    check()


# --- (d) reported facts name something new ---------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_every_reported_fact_names_something_new(source: str) -> None:
    stories = corpus(source)

    @SETTINGS
    @given(st.integers(0, len(stories) - 1), st.integers(0, len(stories) - 1), st.integers(0, 1000),
           st.sampled_from(["other", "held_back", "figure", "rewrite"]))
    def check(i: int, j: int, k: int, how: str) -> None:
        event = Event()
        sentences = flat(stories[i])
        k %= len(sentences)
        if how == "other":
            event.send("urn:a", 1, text(stories[i]))
            body, uri = text(stories[j]), "urn:b"
        elif how == "held_back":
            event.send("urn:a", 1, " ".join(sentences[:k] + sentences[k + 1:]))
            body, uri = " ".join(sentences), "urn:a"
        elif how == "figure":
            event.send("urn:a", 1, " ".join(sentences))
            body, uri = " ".join(re.sub(r"\b(\d+)\b", lambda m: str(int(m.group(1)) + 3), s, count=1)
                                 for s in sentences), "urn:a"
        else:
            event.send("urn:a", 1, " ".join(sentences))
            body, uri = text(rewrite(stories[i], "reorder", k)), "urn:a"
        known = {key for fact in event.state.facts for key in fact["k"]}
        applied = event.send(uri, 2 if uri == "urn:a" else 1, body)
        for fact in applied.new_facts:
            assert fact.terms, fact
            if not fact.numbers:
                assert analyze(" ".join(fact.terms + fact.names), "en").keys - known, fact

    check()


# --- (e) glued clauses -----------------------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES)
def test_glued_clause_is_reported_as_the_clause_with_its_host(source: str) -> None:
    stories = corpus(source)

    @SETTINGS
    @given(st.integers(0, len(stories) - 1), st.integers(1, 1000), st.sampled_from(["; ", ", and ", ", while "]))
    def check(i: int, k: int, connector: str) -> None:
        sentences = flat(stories[i])
        k = 1 + k % (len(sentences) - 1)
        held, host = sentences[k], sentences[k - 1]
        # a host to glue onto: three content words at least (not a fragment such as "Mr.")
        assume(sum(1 for w in WORD.findall(host) if is_content_word(w, "en")) >= 3)
        # a clause that tells something: three content words the rest of the story does not have
        rest = {w.lower() for s in sentences[:k] + sentences[k + 1:] for w in WORD.findall(s)}
        assume(sum(1 for w in {w.lower() for w in WORD.findall(held)} - rest if is_content_word(w, "en")) >= 3)
        glued = host.rstrip(".!? ") + connector + held[0].lower() + held[1:]
        event = Event()
        event.send("urn:a", 1, " ".join(sentences[:k] + sentences[k + 1:]))
        v2 = sentences[:k - 1] + [glued] + sentences[k + 1:]
        applied = event.send("urn:a", 2, " ".join(v2))
        for fact in applied.new_facts:
            if fact.context is not None:
                assert fact.text in fact.context and fact.text != fact.context
        carrying = [f for f in applied.new_facts if held.rstrip(".!? ").lower()[-20:] in f.text.lower()]
        normalized = [s for s in normalize.clean_story("", " ".join(v2)).sentences if held[-20:] in s]
        for fact in carrying:
            # the glued sentence as normalization gave it: the clause is reported with it as context
            if normalized and host.rstrip(".!? ")[:20] in normalized[0]:
                assert fact.context == normalized[0], fact

    check()
