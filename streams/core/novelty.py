"""Which sentences of a story tell the event something it did not know.

Each known fact is kept compactly as ``{"text", "k": [term keys], "f": [figure keys]}`` (see
``facts.Fact.to_known``; events.py adds uri/source/time).

**A new version of a known uri** is first diffed against the latest version of that uri
(``versions.diff``): sentences kept (however re-split, joined, reordered or restyled) are known;
only what it adds is checked against the event — an added sentence, a clause glued onto a kept
sentence (reported as the clause, with its host sentence as ``context``), and words changed in
place: a figure whose value at its place in the sentence changed is new unless a known fact states
the same value in the same words around it.

**Any other story's** sentences (and a version's added sentences and clauses) are new when

* they state a figure (not a bare year or day number: "in 2022" is often retold as "last year")
  that no known fact states in a similar context (at least ``FIGURE_CONTEXT`` of the smaller term
  set shared); or
* their terms unknown to the event (rarer words weigh more; names at least ``facts.NAME_WEIGHT``)
  weigh at least ``MIN_NEW_WEIGHT`` and make a large enough share of the sentence — or of a
  leading or trailing run of its clauses, where a clause glued onto a known sentence sits (then
  reported as that run, with the sentence as ``context``).

"Large enough" adapts to the story: the share must exceed the story's median share (its own
paraphrase noise) by ``SHARE_MARGIN``, within [``MIN_NEW_SHARE``, ``MAX_NEW_SHARE``]. That median
is measured against the event's first story (``baseline``), which later stories never change: so
the decision is **monotonic** — a sentence known given the event's facts stays known when the
event learns more (every other test only gets harder to pass as facts are added).

Every reported fact names what makes it new: its ``terms`` are never empty (new terms, else new
names, else new figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import versions
from .facts import Fact, analyze, clause_spans, clause_weights, figure_spans, is_content_word, is_substantive
from .facts import names as name_phrases
from .models import NewFact

__all__ = ["NoveltyResult", "assess"]

MIN_NEW_WEIGHT = 1.5  # weight of unknown terms a new fact needs (about two rare words)
MIN_NEW_SHARE = 0.2  # ... as a share of the sentence's term weight, at least
MAX_NEW_SHARE = 0.4  # ... and at most (the story's median share + SHARE_MARGIN in between)
SHARE_MARGIN = 0.15
MIN_SPAN_SHARE = 0.3  # ... or as a share of a leading or trailing run of clauses (a glued clause)
SPAN_FACTOR = 1.5  # ... and at least this times the sentence threshold (short spans vary more)
FIGURE_CONTEXT = 0.3  # a figure is known where a known fact has it and this much term overlap


@dataclass(frozen=True, slots=True)
class NoveltyResult:
    """The story's new facts, and the known-fact records to append to the event: the same
    sentences, in the same order (``facts_to_add[i]`` records ``new_facts[i]``)."""

    new_facts: list[NewFact] = field(default_factory=list)
    facts_to_add: list[dict[str, Any]] = field(default_factory=list)
    removed: int = 0  # a new version: sentences of the version it replaces that it no longer has


class _Known:
    """The event's known terms, and the term sets of known facts by figure."""

    def __init__(self, known: Sequence[dict[str, Any]], figures: set[str]) -> None:
        """``figures``: the story's figures (the only ones looked up)."""
        self.terms: set[str] = set()
        self.by_figure: dict[str, list[frozenset[str]]] = {}
        for fact in known:
            keys = fact.get("k")
            if keys is None:  # a fact stored without keys: analyze its text again
                analysed = analyze(fact.get("text", ""))
                keys, figs = list(analysed.weights), [f.key for f in analysed.figures]
            else:
                figs = fact.get("f", ())
            self.terms.update(keys)
            for fig in figs:
                if fig in figures:
                    self.by_figure.setdefault(fig, []).append(frozenset(keys))

    def knows_figure(self, figure: str, keys: frozenset[str]) -> bool:
        """A known fact states this figure in a similar context."""
        for context in self.by_figure.get(figure, ()):
            smaller = min(len(keys), len(context))
            if smaller == 0 or len(keys & context) >= FIGURE_CONTEXT * smaller:
                return True
        return False


def _terms_of(known: Sequence[dict[str, Any]]) -> set[str]:
    terms: set[str] = set()
    for fact in known:
        keys = fact.get("k")
        terms.update(keys if keys is not None else analyze(fact.get("text", "")).weights)
    return terms


def _unknown_weight(fact: Fact, terms: set[str]) -> tuple[float, float]:
    """(weight of the sentence's terms not in ``terms``, their share of its total weight)."""
    if fact.keys.isdisjoint(terms):  # nothing known: the same sum, in the same order, as fact.weight
        new = sum(fact.weights.values())
    elif fact.keys <= terms:
        new = 0
    else:  # summed in the fact's key order, like fact.weight, so the share is exact
        new = sum(w for k, w in fact.weights.items() if k not in terms)
    return new, (new / fact.weight if fact.weight else 0.0)


def _glued_clause(fact: Fact, terms: set[str], min_share: float) -> str | None:
    """The leading or trailing run of clauses (where a glued clause sits) new enough, if any."""
    weights = clause_weights(fact)
    spans = clause_spans(fact)
    clauses = [(w, span) for w, span in zip(weights, spans) if w]
    for cut in range(1, len(clauses)):
        for run in (clauses[:cut], clauses[cut:]):
            merged: dict[str, float] = {}
            for w, _ in run:
                merged.update(w)
            total = sum(merged.values())
            new = sum(w for k, w in merged.items() if k not in terms)
            if (len(merged) >= 3 and new >= MIN_NEW_WEIGHT and total
                    and new / total >= max(MIN_SPAN_SHARE, SPAN_FACTOR * min_share)):
                return fact.text[run[0][1][0]:run[-1][1][1]].strip(_TRIM)
    return None


_TRIM = " ,;:-\u2013\u2014\"'\u201c\u201d\u2018\u2019()[]"


def _new_fact(fact: Fact, unknown_keys: set[str], numbers: Sequence[str], score: float, *,
              text: str | None = None, context: str | None = None) -> NewFact | None:
    """The reported fact, naming what makes it new (None when it names nothing: never reported)."""
    surfaces = fact.surfaces
    names = name_phrases(fact) if any([surfaces[k][1] for k in unknown_keys]) else ()
    terms = tuple([surface for k, (surface, name) in surfaces.items() if not name and k in unknown_keys])
    new_names = tuple([name for name, keys_ in names if not unknown_keys.isdisjoint(keys_)])
    if not terms:  # nothing but names or figures: they are the terms that make it new
        terms = new_names or tuple(fact.surfaces[k][0] for k in fact.weights if k in unknown_keys) or tuple(numbers)
    if not terms:
        return None
    return NewFact(text=fact.text if text is None else text, terms=terms, names=new_names, numbers=tuple(numbers),
                   score=score, context=context)


def _judge(fact: Fact, known: _Known, min_share: float) -> NewFact | None:
    """The new fact this sentence (or clause) states, or None when the event already knows it."""
    keys = fact.keys
    # a figure is new (unless it is a date, which is often retold as "last year" or "on
    # Tuesday") when no known fact states it in this context
    new_figures = [f.surface for f in fact.figures if not f.date and not known.knows_figure(f.key, keys)]
    new_weight, score = _unknown_weight(fact, known.terms)
    unknown_keys = keys - known.terms
    if new_figures or (new_weight >= MIN_NEW_WEIGHT and score >= min_share):
        return _new_fact(fact, unknown_keys, new_figures, max(score, 1.0 if new_figures else 0.0))
    if new_weight >= MIN_NEW_WEIGHT:
        clause = _glued_clause(fact, known.terms, min_share)
        if clause:
            part = analyze(clause, fact.lang)
            return _new_fact(part, unknown_keys & part.keys, (), score, context=fact.text)
    return None


_WORD = versions.WORD


def _figure_keys(sentence: str) -> list[tuple[int, int, str]]:
    return [(start, end, figure.key) for start, end, figure in figure_spans(sentence)]


def _judge_changed(edit: versions.Edit, fact: Fact, known: Sequence[dict[str, Any]], index: _Known) -> NewFact | None:
    """Words changed in place in a kept sentence: new when a changed figure or the changed terms are.

    A figure is changed when an uncovered word lies inside it: the value at its place changed,
    whatever else the sentence holds. It is known only when a known fact states the same value
    with the same words on either side of it (another story already carried the correction).
    """
    spans = edit.changed
    words = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(edit.sentence)]
    changed_figures = []
    for start, end, figure in figure_spans(edit.sentence):
        if any(a < end and start < b for a, b in spans):
            at = [i for i, (_, a, b) in enumerate(words) if a < end and start < b]
            window = tuple(w for w, _, _ in words[max(0, at[0] - 2):at[-1] + 3])
            if not _stated(known, figure.key, window):
                changed_figures.append(figure.surface)
    changed_text = " ".join(edit.sentence[a:b] for a, b in spans if not any(ch.isdigit() for ch in edit.sentence[a:b]))
    changed_terms = analyze(changed_text, fact.lang).keys & fact.keys if changed_text else frozenset()
    unknown = {k for k in changed_terms if k not in index.terms}
    weight = sum(fact.weights[k] for k in unknown)
    if not changed_figures and weight < MIN_NEW_WEIGHT:
        return None
    return _new_fact(fact, unknown, list(dict.fromkeys(changed_figures)), 1.0 if changed_figures else weight / fact.weight)


def _stated(known: Sequence[dict[str, Any]], figure: str, window: tuple[str, ...]) -> bool:
    """A known fact states ``figure`` between the same words."""
    n = len(window)
    for fact in known:
        if figure in fact.get("f", ()) or "k" not in fact:
            words = [w.lower() for w in _WORD.findall(fact.get("text", ""))]
            if any(tuple(words[i:i + n]) == window for i in range(len(words) - n + 1)):
                return True
    return False


def _threshold(shares: Sequence[float]) -> float:
    """The share of unknown weight a sentence needs: above the story's own paraphrase noise.

    A revision of a known text has most sentences fully known, so one sentence with a quarter of
    new words stands out; another outlet's retelling has new words everywhere, so it needs more.
    """
    ordered = sorted(shares)
    median = ordered[len(ordered) // 2] if ordered else 0.0
    return min(MAX_NEW_SHARE, max(MIN_NEW_SHARE, median + SHARE_MARGIN))


def assess(known: Sequence[dict[str, Any]], sentences: Sequence[str], lang: str, *, headline: str = "",
           known_lang: str | None = None, previous: Sequence[str] | None = None,
           baseline: int | None = None) -> NoveltyResult:
    """Compare a story's sentences with the event's known facts.

    Returns the substantive new facts and the fact records to append to the event (all of the
    story's substantive facts when the event knows none yet and this is no new version;
    otherwise only the new ones).

    ``previous``: the sentences of the latest version of this story's uri, when it is a new
    version of a story the event has (only what it adds or changes is then checked).
    ``baseline``: how many leading known facts (the event's first story) the story's paraphrase
    noise is measured against; they never change as the event grows, which keeps the decision
    monotonic. None: all of ``known``.
    ``headline`` is accepted for interface stability; headlines restate the lead and are not facts.
    ``known_lang``: the language every known fact was analysed in, when they all share one. When
    it is ``lang``, a sentence the event already has word for word is not analysed again (see
    ``_split_verbatim``); the result is the same either way.
    """
    if not known and previous is None:  # nothing known yet: every substantive fact is new
        facts = [f for f in (analyze(s, lang) for s in sentences) if is_substantive(f)]
        return NoveltyResult([_all_new(f) for f in facts], [_record(f) for f in facts])
    shadow: list[str] = []  # sentences known word for word, weighed for the threshold only
    if previous is not None:
        script = versions.diff(previous, sentences, lambda word: is_content_word(word, lang), _figure_keys)
        edits = list(script.new)
        kept, removed = len(script.edits) - len(edits), script.removed
    else:
        fresh, kept, shadow = (_split_verbatim(known, sentences, baseline) if known_lang == lang
                               else (list(sentences), 0, []))
        edits = [versions.Edit("added", s, s) for s in fresh]
        removed = 0
    # what each edit brings, analysed: an added sentence, a clause (reported with its host), or a
    # kept sentence with words changed in place
    units: list[tuple[versions.Edit, Fact]] = []
    for edit in edits:
        if edit.kind == "clause":
            part = analyze(edit.text, lang)
            if is_substantive(part):
                units.append((edit, part))
                continue
            # too short to stand alone: judged as words changed in its host, reported as itself
            edit = versions.Edit("changed", edit.sentence, edit.text, edit.changed)
        fact = analyze(edit.sentence, lang)
        if is_substantive(fact) or edit.kind == "changed":
            units.append((edit, fact))
    if not units:
        return NoveltyResult([], [], removed)
    figures = {g.key for _, f in units for g in f.figures}
    index = _Known(known, figures)
    base_terms = index.terms if baseline is None or baseline >= len(known) else _terms_of(known[:baseline])
    shares = [_unknown_weight(f, base_terms)[1] if e.kind != "changed" else 0.0 for e, f in units]
    shares += [_unknown_weight(f, base_terms)[1] for f in (analyze(t, lang) for t in shadow) if is_substantive(f)]
    min_share = _threshold(shares + [0.0] * kept)
    new_facts: list[NewFact] = []
    to_add: list[dict[str, Any]] = []
    reported: set[tuple[frozenset[str], frozenset[str]]] = set()
    for edit, fact in units:
        if edit.kind == "changed":
            found = _judge_changed(edit, fact, known, index)
            if found is not None and edit.text != edit.sentence:  # a short clause
                found = NewFact(edit.text, found.terms, found.names, found.numbers, found.score, edit.sentence)
        else:
            found = _judge(fact, index, min_share)
            if found is not None and edit.kind == "clause":
                found = NewFact(found.text, found.terms, found.names, found.numbers, found.score, edit.sentence)
        if found is None:
            continue
        # a story repeating its own new fact reports it once
        signature = (fact.keys, frozenset(g.key for g in fact.figures))
        if signature in reported:
            continue
        reported.add(signature)
        new_facts.append(found)
        to_add.append(_record(fact if found.context is None or fact.text == found.text else analyze(found.text, lang)))
    return NoveltyResult(new_facts, to_add, removed)


def _split_verbatim(known: Sequence[dict[str, Any]], sentences: Sequence[str],
                    baseline: int | None) -> tuple[list[str], int, list[str]]:
    """The sentences to judge; how many repeat a baseline fact word for word; those repeating a
    later known fact word for word.

    A known fact's record holds the keys and figures its sentence gave (in the same language), so
    a sentence with the same text would give them again: every term known, every figure known in
    the same context — never new. Against the baseline (the threshold's reference) a repeat of a
    baseline fact is wholly known (share 0); a repeat of a later fact is weighed for the threshold
    as any sentence (so the threshold does not fall as the event learns more) but not judged.
    Records stored without keys are analysed again by ``_Known`` and are not used here.
    """
    cut = len(known) if baseline is None else min(baseline, len(known))
    base = {fact["text"] for fact in known[:cut] if "k" in fact}
    later = {fact["text"] for fact in known[cut:] if "k" in fact}
    fresh = [s for s in sentences if s not in base and s not in later]
    shadow = [s for s in sentences if s in later and s not in base]
    return fresh, len(sentences) - len(fresh) - len(shadow), shadow


def _all_new(fact: Fact) -> NewFact:
    surfaces = fact.surfaces.values()
    terms = tuple([surface for surface, name in surfaces if not name])
    names = tuple([surface for surface, name in surfaces if name])
    numbers = tuple([f.surface for f in fact.figures])
    return NewFact(text=fact.text, terms=terms or names or numbers, names=names, numbers=numbers, score=1.0)


def _record(fact: Fact) -> dict[str, Any]:
    return fact.to_known()
