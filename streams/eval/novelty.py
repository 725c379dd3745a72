"""Story-update detection measured on version cases built from real articles.

``python -m streams.eval.novelty FILE.jsonl [--seed N] [--limit N] [--seeds SEEDS.jsonl]``
prints JSON figures. Works on any JSONL whose rows have ``body_text`` (and optionally
``headline``); when rows carry a gold event label (``_gold``, ``--gold-field``) the articles of
one event are concatenated, in file order, into one longer story (each article one paragraph) —
leads of the same event, so the story restates itself the way real multi-source copy does.
Without labels each row is its own story.

Each story (≥ 3 sentences after normalization) yields version cases — version 1 then version 2
of the same uri, through the very code the event stage runs (normalize, language, event state,
version diff, novelty: ``events.apply_story``):

* updates (facts added): ``held_back`` (a sentence missing from v1 comes in v2), ``glued`` (the
  held-back sentence comes glued onto a neighbouring sentence as a clause), ``figure`` (one number
  in one sentence changed; in about a third of them the new value is one the story already states
  elsewhere, in another context: ``figure_reused`` in the per-kind figures), ``figure_same`` (the
  new value is another figure of the same sentence: "aged 14 and 15" -> "aged 15 and 15"),
  ``figure_range`` (one side of a score or range changed: "14-14" -> "14-16");
* rewrites adding nothing: ``reorder``, ``quotes`` (restyled quote marks), ``join`` (two sentences
  joined), ``split`` (a sentence split in two), ``resplit`` (the same sentences laid out in other
  paragraphs, one sentence break turned into a dash), ``delete`` (a sentence dropped), ``resend``
  (an identical new version), ``after_other`` (an identical new version after another story of
  the event), ``late`` (version 3 without a sentence, then version 2 with it, arriving late).

Rows of several files can be given (``cluster-dev-multinews.jsonl``: full-length articles).

A held-back sentence is used only when it really adds something to the rest of the story: at
least 3 words outside the language's 500 most common that appear nowhere else in the story (or 2
and a number found nowhere else). Changed figures are never years or day numbers.

Figures: ``recall`` — share of added facts (held-back sentences, changed sentences) covered by a
reported fact (one that holds at least 80% of its words, so a clause reported as itself counts);
``precision`` — share of reported facts that carry an added fact (every fact reported on a rewrite
is wrong); ``false_alert_rate`` — rewrites that alerted; ``figure_named`` — changed-figure cases
whose reported fact names the new figure; ``by_kind`` — the same per kind. Stories are split by a hash of their
id into ``tune`` and ``holdout`` halves; the thresholds were tuned on ``tune`` only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..core import events, langid, normalize, novelty
from ..core.facts import _CALENDAR
from ..core.models import AssignedStory, Assignment, NewFact, Story
from ..core.pipeline import enrich

__all__ = ["Case", "build_cases", "evaluate_novelty", "main", "run_case", "seeds_check"]

UPDATE_KINDS = ("held_back", "glued", "figure", "figure_reused", "figure_same", "figure_range")
REWRITE_KINDS = ("reorder", "quotes", "join", "split", "resplit", "delete", "resend", "after_other", "late")

_WORDS = re.compile(r"[^\W_]+")
_CANDIDATE_NUMBER = re.compile(r"(?<=[\s$\u20ac\u00a3(])\d+(?:\.\d+)?(?=[\s%,;)]|\.(?!\d)|$)")
_CANDIDATE_RANGE = re.compile(r"(?<=\s)(\d{1,3})([-\u2013])(\d{1,3})(?=[\s,;.)]|$)")
_SPLIT_POINT = re.compile(r", and |; |, but |, while |, which ")
_CONNECTORS = (", and ", "; ", ", while ", " - ")


@dataclass(frozen=True, slots=True)
class Case:
    """Two versions of one story, and what version 2 adds."""

    story_id: str
    kind: str
    headline: str
    v1: str
    v2: str
    added: tuple[str, ...] = ()  # texts carrying the added facts (empty for rewrites)
    figure: str = ""  # the new figure of a ``figure`` case
    reused: bool = False  # the new figure appears elsewhere in the story
    split: str = "tune"
    versions: tuple[int, int] = (1, 2)  # the version numbers v1 and v2 are sent as
    between: str = ""  # another story of the event, sent (as another uri) between v1 and v2

    @property
    def scored_kind(self) -> str:
        return "figure_reused" if self.reused else self.kind


@dataclass(slots=True)
class _Counts:
    cases: int = 0
    alerts: int = 0
    added: int = 0
    found: int = 0
    reported: int = 0
    correct: int = 0
    figure_cases: int = 0
    figure_named: int = 0

    def add(self, other: _Counts) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class _Tally:
    per_kind: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))


# --- building cases ----------------------------------------------------------------------------

def _split_of(story_id: str) -> str:
    return "holdout" if hashlib.sha1(story_id.encode()).digest()[0] % 2 else "tune"


def _stories(rows: Iterable[dict[str, Any]], gold_field: str) -> list[tuple[str, str, list[list[str]]]]:
    """(story id, headline, paragraphs as sentence lists), grouping rows by their gold label."""
    grouped: dict[str, tuple[str, list[list[str]]]] = {}
    for n, row in enumerate(rows):
        body = row.get("body_text")
        if not isinstance(body, str) or not body.strip():
            continue
        key = str(row.get(gold_field) or row.get("uri") or f"row{n}")
        clean = normalize.clean_story(str(row.get("headline") or ""), body)
        if not clean.sentences:
            continue
        headline, paragraphs = grouped.setdefault(key, (clean.headline, []))
        paragraphs.append(list(clean.sentences))
    return [(k, h, p) for k, (h, p) in grouped.items()]


def _text(paragraphs: Sequence[Sequence[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


@lru_cache(maxsize=8)
def _common(lang: str) -> frozenset[str]:
    import wordfreq

    try:
        return frozenset(wordfreq.top_n_list(lang, 500))
    except Exception:
        return frozenset()


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(text)}


def _adds_something(sentence: str, rest: set[str], common: frozenset[str]) -> bool:
    words = _words(sentence)
    if len(_WORDS.findall(sentence)) < 6:
        return False
    novel = {w for w in words - rest if not w.isdigit() and len(w) >= 3 and w not in common}
    numbers = {w for w in words - rest if w.isdigit() and not (len(w) == 4 and 1800 <= int(w) <= 2100)}
    return len(novel) >= 3 or (len(novel) >= 2 and bool(numbers))


def _lower_first(sentence: str, story: str) -> str:
    first = sentence.split(" ", 1)[0]
    if first[:1].isupper() and f" {first}" not in story and first[1:].islower():
        return first[0].lower() + sentence[len(first[0]):]
    return sentence


def _glue(a: str, b: str, connector: str, story: str) -> str:
    return a.rstrip(".!? ") + connector + _lower_first(b, story)


def _is_date_number(sentence: str, start: int, end: int) -> bool:
    num = sentence[start:end]
    if num.isdigit() and len(num) == 4 and 1800 <= int(num) <= 2100:
        return True
    around = _words(sentence[max(0, start - 14):start] + " " + sentence[end:end + 14])
    return num.isdigit() and int(num) <= 31 and bool(around & _CALENDAR)


def _new_number(old: str, rng: random.Random, taken: set[str]) -> str:
    if "." in old:
        whole, frac = old.split(".")
        for _ in range(20):
            cand = f"{int(whole) + rng.randint(1, 9)}.{frac}"
            if cand not in taken:
                return cand
    value = int(old)
    for _ in range(50):
        cand = str(value + rng.choice((1, 2, 3, 4, 5, 7, 10, 15, 20, 50, value or 1)))
        if cand not in taken and cand != old:
            return cand
    return str(value * 10 + 7)


def _story_cases(story_id: str, headline: str, paragraphs: list[list[str]], seed: int, lang: str,
                 other: str = "") -> list[Case]:
    rng = random.Random(f"{seed}\x1f{story_id}")
    split = _split_of(story_id)
    flat = [(p, j) for p, para in enumerate(paragraphs) for j in range(len(para))]
    if len(flat) < 3:
        return []
    story = _text(paragraphs)
    cases: list[Case] = []

    def case(kind: str, v1: list[list[str]], v2: list[list[str]], added: tuple[str, ...] = (), figure: str = "",
             reused: bool = False, versions: tuple[int, int] = (1, 2), between: str = "") -> None:
        cases.append(Case(story_id, kind, headline, _text(v1), _text(v2), added, figure, reused, split, versions,
                          between))

    def without(p: int, j: int) -> list[list[str]]:
        return [[s for k, s in enumerate(para) if (q, k) != (p, j)] for q, para in enumerate(paragraphs)]

    common = _common(lang)
    eligible = []
    for p, j in flat:
        rest = _words(" ".join(s for q, para in enumerate(paragraphs) for k, s in enumerate(para) if (q, k) != (p, j)))
        if _adds_something(paragraphs[p][j], rest, common):
            eligible.append((p, j))
    if eligible:
        p, j = rng.choice(eligible)
        held = paragraphs[p][j]
        case("held_back", without(p, j), paragraphs, (held,))
        p, j = rng.choice(eligible)
        held = paragraphs[p][j]
        v1 = without(p, j)
        v2 = [list(para) for para in v1]
        connector = rng.choice(_CONNECTORS)
        if j > 0:
            v2[p][j - 1] = _glue(v2[p][j - 1], held, connector, story)
        elif v2[p]:
            v2[p][0] = _glue(held, v2[p][0], connector, story)
        else:
            v2[p] = [held]
        case("glued", v1, v2, (held,))

    numbers = [(p, j, m) for p, j in flat for m in _CANDIDATE_NUMBER.finditer(paragraphs[p][j])
               if not _is_date_number(paragraphs[p][j], m.start(), m.end())]
    if numbers:
        p, j, m = rng.choice(numbers)
        sentence = paragraphs[p][j]
        taken = set(_WORDS.findall(story))
        elsewhere = sorted({n.group(0) for q, k, n in numbers if (q, k) != (p, j) and n.group(0) != m.group(0)
                            and n.group(0) not in _WORDS.findall(sentence)})
        reused = bool(elsewhere) and rng.random() < 0.35
        new = rng.choice(elsewhere) if reused else _new_number(m.group(0), rng, taken)
        changed = sentence[:m.start()] + new + sentence[m.end():]
        v2 = [list(para) for para in paragraphs]
        v2[p][j] = changed
        case("figure", paragraphs, v2, (changed,), new, reused)

    order = list(range(len(paragraphs)))
    shuffled = [list(para) for para in paragraphs]
    for para in shuffled:
        rng.shuffle(para)
    rng.shuffle(order)
    shuffled = [shuffled[i] for i in order]
    case("reorder", paragraphs, shuffled)

    restyled = [[_restyle_quotes(s) for s in para] for para in paragraphs]
    case("quotes", paragraphs, restyled)

    pairs = [(p, j) for p, j in flat if j + 1 < len(paragraphs[p])]
    if pairs:
        p, j = rng.choice(pairs)
        v2 = [list(para) for para in paragraphs]
        v2[p][j:j + 2] = [_glue(v2[p][j], v2[p][j + 1], rng.choice(_CONNECTORS), story)]
        case("join", paragraphs, v2)

    splittable = [(p, j, m) for p, j in flat for m in _SPLIT_POINT.finditer(paragraphs[p][j])
                  if len(paragraphs[p][j][:m.start()].split()) >= 4 and len(paragraphs[p][j][m.end():].split()) >= 4]
    if splittable:
        p, j, m = rng.choice(splittable)
        s = paragraphs[p][j]
        tail = s[m.end():]
        if m.group(0) in (", but ", ", while "):
            tail = m.group(0).strip(", ") + " " + tail
        tail = tail[0].upper() + tail[1:]
        v2 = [list(para) for para in paragraphs]
        v2[p][j:j + 1] = [s[:m.start()] + ".", tail]
        case("split", paragraphs, v2)

    p, j = rng.choice(flat)
    case("delete", paragraphs, without(p, j))
    case("resend", paragraphs, paragraphs)
    if other:
        case("after_other", paragraphs, paragraphs, between=other)
    p, j = rng.choice(flat)
    case("late", without(p, j), paragraphs, versions=(3, 2))

    # the same sentences, laid out again: every sentence its own paragraph (or all in one), and
    # one sentence break written as a dash
    sentences = [s for para in paragraphs for s in para]
    relaid = [[s] for s in sentences] if len(paragraphs) > 1 and rng.random() < 0.5 else [list(sentences)]
    if len(sentences) > 1:
        k = rng.randrange(len(sentences) - 1)
        flat_v2 = list(sentences)
        flat_v2[k:k + 2] = [flat_v2[k].rstrip(".!? ") + " - " + flat_v2[k + 1]]
        relaid = [flat_v2] if len(relaid) == 1 else [[s] for s in flat_v2]
    case("resplit", paragraphs, relaid)

    # a figure changed to another figure of its own sentence
    same = [(p, j, m, others) for p, j, m in numbers
            if (others := sorted({n.group(0) for n in _CANDIDATE_NUMBER.finditer(paragraphs[p][j])
                                  if n.group(0) != m.group(0)
                                  and not _is_date_number(paragraphs[p][j], n.start(), n.end())}))]
    if same:
        p, j, m, others = rng.choice(same)
        sentence = paragraphs[p][j]
        new = rng.choice(others)
        changed = sentence[:m.start()] + new + sentence[m.end():]
        v2 = [list(para) for para in paragraphs]
        v2[p][j] = changed
        case("figure_same", paragraphs, v2, (changed,), new)
    ranges = [(p, j, m) for p, j in flat for m in _CANDIDATE_RANGE.finditer(paragraphs[p][j])]
    if ranges:
        p, j, m = rng.choice(ranges)
        sentence = paragraphs[p][j]
        taken = set(_WORDS.findall(sentence))
        new_side = _new_number(m.group(3), rng, taken)
        new = f"{m.group(1)}{m.group(2)}{new_side}"
        changed = sentence[:m.start()] + new + sentence[m.end():]
        v2 = [list(para) for para in paragraphs]
        v2[p][j] = changed
        case("figure_range", paragraphs, v2, (changed,), new)
    return cases


def _restyle_quotes(sentence: str) -> str:
    out: list[str] = []
    opened = False
    for ch in sentence:
        if ch == '"':
            out.append("\u201d" if opened else "\u201c")
            opened = not opened
        elif ch == "'":
            out.append("\u2019")
        else:
            out.append(ch)
    return "".join(out)


def build_cases(rows: Iterable[dict[str, Any]], seed: int = 0, *, gold_field: str = "_gold",
                limit: int | None = None, prefix: str = "") -> list[Case]:
    """Version cases from real articles (deterministic for a seed); ``prefix`` goes before story ids."""
    cases: list[Case] = []
    stories = [(prefix + k, h, p) for k, h, p in _stories(rows, gold_field)]
    if limit is not None:
        stories = stories[:limit]
    for n, (story_id, headline, paragraphs) in enumerate(stories):
        lang = langid.detect_language(headline, _text(paragraphs[:1]))
        # another story to send between two identical versions: the next one in the file
        other = _text(stories[(n + 1) % len(stories)][2]) if len(stories) > 1 else ""
        cases.extend(_story_cases(story_id, headline, paragraphs, seed, lang, other))
    return cases


# --- running and scoring -----------------------------------------------------------------------

def run_case(case: Case) -> list[NewFact]:
    """Version 1 seeds the event (then the ``between`` story, if any); the new facts version 2
    brings — what would alert. Through ``events.apply_story``, as the event stage runs it."""
    uri = f"urn:eval:{case.story_id}"
    state = None
    steps = [(uri, case.versions[0], case.v1)]
    if case.between:
        steps.append((f"{uri}:other", 1, case.between))
    steps.append((uri, case.versions[1], case.v2))
    applied = None
    for n, (story_uri, version, text) in enumerate(steps):
        story = Story(uri=story_uri, body_text=text, version=version, headline=case.headline, versioncreated=float(n))
        assigned = AssignedStory(enrich(story), Assignment("ev-eval", state is None, 1.0))
        applied = events.apply_story(state, assigned)
        state = applied.state
    return list(applied.new_facts) if applied is not None and applied.alert is not None else []


def _told(fact: NewFact) -> str:
    """What a reported fact tells: its text, and the sentence a clause sits in."""
    return fact.text if fact.context is None else f"{fact.text} {fact.context}"


def _carries(reported: str, added: str) -> bool:
    words = _words(added)
    return bool(words) and len(words & _words(reported)) >= 0.8 * len(words)


def _score(case: Case, facts: Sequence[NewFact], tally: _Tally) -> None:
    c = tally.per_kind[case.scored_kind]
    c.cases += 1
    c.alerts += bool(facts)
    c.reported += len(facts)
    c.added += len(case.added)
    for added in case.added:
        hits = [f for f in facts if _carries(_told(f), added)]
        c.found += bool(hits)
        if case.kind.startswith("figure"):
            c.figure_cases += 1
            c.figure_named += any(case.figure in " ".join(f.numbers) for f in hits)
    c.correct += sum(1 for f in facts if any(_carries(_told(f), a) for a in case.added))


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _summary(c: _Counts, updates: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"cases": c.cases, "alert_rate": _ratio(c.alerts, c.cases)}
    if updates:
        out["recall"] = _ratio(c.found, c.added)
    out["precision"] = _ratio(c.correct, c.reported)
    if c.figure_cases:
        out["figure_named"] = _ratio(c.figure_named, c.figure_cases)
    return out


def _figures(tally: _Tally, seconds: float) -> dict[str, Any]:
    total, updates, rewrites = _Counts(), _Counts(), _Counts()
    for kind, c in tally.per_kind.items():
        total.add(c)
        (updates if kind in UPDATE_KINDS else rewrites).add(c)
    return {
        "cases": total.cases,
        "update_cases": updates.cases,
        "rewrite_cases": rewrites.cases,
        "recall": _ratio(total.found, total.added),
        "precision": _ratio(total.correct, total.reported),
        "alert_rate_updates": _ratio(updates.alerts, updates.cases),
        "false_alert_rate": _ratio(rewrites.alerts, rewrites.cases),
        "figure_named": _ratio(total.figure_named, total.figure_cases),
        "by_kind": {k: _summary(c, k in UPDATE_KINDS) for k, c in sorted(tally.per_kind.items())},
        "ms_per_case": round(1000 * seconds / total.cases, 3) if total.cases else None,
    }


def evaluate_novelty(cases: Iterable[Case], *, examples: int = 0) -> dict[str, Any]:
    """Figures per split (``tune``, ``holdout``) and overall; optionally a few misses as examples."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    seconds: dict[str, float] = defaultdict(float)
    misses: list[dict[str, Any]] = []
    for case in cases:
        t0 = time.perf_counter()
        facts = run_case(case)
        dt = time.perf_counter() - t0
        for name in (case.split, "all"):
            _score(case, facts, tallies[name])
            seconds[name] += dt
        wrong = bool(facts) != bool(case.added) or any(not any(_carries(_told(f), a) for a in case.added) for f in facts)
        if examples and wrong and len(misses) < examples:
            misses.append({"kind": case.kind, "story": case.story_id, "added": list(case.added), "figure": case.figure,
                           "reported": [f.to_dict() for f in facts]})
    out: dict[str, Any] = {name: _figures(tallies[name], seconds[name]) for name in ("tune", "holdout", "all")}
    if examples:
        out["misses"] = misses
    return out


def seeds_check(path: Path) -> dict[str, Any]:
    """Cross-outlet behaviour on a two-story seed file: what each order reports as new."""
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: dict[str, Any] = {}
    for a, b in ((0, 1), (1, 0)):
        ca = normalize.clean_story(docs[a].get("headline", ""), docs[a]["body_text"])
        cb = normalize.clean_story(docs[b].get("headline", ""), docs[b]["body_text"])
        lang = langid.detect_language(ca.headline, ca.body)
        known = novelty.assess([], ca.sentences, lang).facts_to_add
        facts = novelty.assess(known, cb.sentences, lang, known_lang=lang).new_facts
        out[f"{docs[a].get('uri', a)} then {docs[b].get('uri', b)}"] = {
            "sentences": len(cb.sentences), "new_facts": [f.text for f in facts]}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.eval.novelty", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", type=Path, nargs="+", metavar="path",
                        help="JSONL with body_text (and headline, optional gold label)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="use at most this many stories of each file")
    parser.add_argument("--gold-field", default="_gold")
    parser.add_argument("--seeds", type=Path, default=None, help="also report the cross-outlet seeds behaviour")
    parser.add_argument("--examples", type=int, default=0, help="include this many misclassified cases")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    cases: list[Case] = []
    for path in args.paths:
        try:
            with path.open(encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh if line.strip()]
        except (OSError, ValueError) as exc:
            print(f"error: cannot read {path}: {exc}", file=sys.stderr)
            return 2
        cases.extend(build_cases(rows, args.seed, gold_field=args.gold_field, limit=args.limit,
                                 prefix=f"{path.stem}:" if len(args.paths) > 1 else ""))
    build_seconds = time.perf_counter() - t0
    result = evaluate_novelty(cases, examples=args.examples)
    result["build_seconds"] = round(build_seconds, 2)
    result["stories"] = len({c.story_id for c in cases})
    if args.seeds is not None:
        result["seeds"] = seeds_check(args.seeds)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
