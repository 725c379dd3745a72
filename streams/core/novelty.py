"""Which sentences of a story tell the event something it did not know.

Each known fact is kept compactly as ``{"text", "k": [term keys], "f": [figure keys]}`` (see
``facts.Fact.to_known``; events.py adds uri/source/time). A substantive sentence of a new story
is a **new fact** when

* it states a figure that replaces another figure of a known sentence it nearly repeats (an edited
  sentence: at least ``EDIT_OVERLAP`` of the smaller term set shared) — a toll changed from 12 to
  27, a corrected date; or
* it states a figure (not a bare year or day number: "in 2022" is often retold as "last year") that
  no known fact states in a similar context (at least ``FIGURE_CONTEXT`` of the smaller term set
  shared) — so "27" elsewhere in the event, in another context, does not hide a changed toll; or
* its terms unknown to the event (rarer words weigh more; names at least ``facts.NAME_WEIGHT``)
  weigh at least ``MIN_NEW_WEIGHT`` and make a large enough share of the sentence — or of a
  leading or trailing run of its clauses, where a clause glued onto a known sentence sits.

"Large enough" adapts to the story: the share must exceed the story's median share (its own
paraphrase noise) by ``SHARE_MARGIN``, within [``MIN_NEW_SHARE``, ``MAX_NEW_SHARE``]. A revision
of a known text has most sentences fully known, so a sentence with a quarter of new words stands
out; another outlet's retelling has new words everywhere, so it needs more.

Coverage is checked against all of the event's known terms together, so sentences that are merely
split, joined, reordered or restyled add nothing. Facts found new are added to the comparison at
once, so a story repeating its own new sentence reports it once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .facts import Fact, analyze, clause_weights, is_substantive
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
EDIT_OVERLAP = 0.7  # a sentence sharing this much with a known fact (smaller set) is an edit of it


@dataclass(frozen=True, slots=True)
class NoveltyResult:
    """The story's new facts, and the known-fact records to append to the event: the same
    sentences, in the same order (``facts_to_add[i]`` records ``new_facts[i]``)."""

    new_facts: list[NewFact] = field(default_factory=list)
    facts_to_add: list[dict[str, Any]] = field(default_factory=list)


class _Known:
    """The event's known terms, the term sets of known facts by figure, and an edit finder."""

    def __init__(self, known: Sequence[dict[str, Any]], figures: set[str],
                 edit_keys: set[str] | None = None) -> None:
        """``figures``: the story's figures; ``edit_keys``: the term keys of its facts with figures
        (the only keys ``changed_figures`` is asked about; None: any)."""
        self.terms: set[str] = set()
        self.by_figure: dict[str, list[frozenset[str]]] = {}
        self._with_figures: list[tuple[Sequence[str], Sequence[str]]] = []
        self._edit: tuple[list[tuple[frozenset[str], frozenset[str]]], dict[str, list[int]]] | None = None
        self.version = 0  # bumped by add(): unknown weights computed before it are stale
        self._edit_keys = edit_keys
        for fact in known:
            keys = fact.get("k")
            if keys is None:  # a fact stored without keys: analyze its text again
                keys, figs = _keys_of(analyze(fact.get("text", "")))
            else:
                figs = fact.get("f", ())
            self.terms.update(keys)
            if figs:
                self._with_figures.append((keys, figs))
            for fig in figs:
                if fig in figures:
                    self.by_figure.setdefault(fig, []).append(frozenset(keys))

    def add(self, fact: Fact) -> None:
        self.version += 1
        keys = fact.keys
        self.terms.update(keys)
        figs = [f.key for f in fact.figures]
        if figs:
            self._with_figures.append((list(keys), figs))
            if self._edit is not None:
                # extend the edit finder in place: exactly what a rebuild from _with_figures
                # gives (the new fact last, its index appended to each key's postings), without
                # going over every known fact with figures again after each new one
                facts, postings = self._edit
                for k in self._wanted(keys):
                    postings.setdefault(k, []).append(len(facts))
                facts.append((keys, frozenset(figs)))
        for fig in figs:
            self.by_figure.setdefault(fig, []).append(keys)

    def _wanted(self, keys: frozenset[str]) -> Iterable[str]:
        return keys if self._edit_keys is None else self._edit_keys.intersection(keys)

    def knows_figure(self, figure: str, keys: frozenset[str]) -> bool:
        """A known fact states this figure in a similar context."""
        for context in self.by_figure.get(figure, ()):
            smaller = min(len(keys), len(context))
            if smaller == 0 or len(keys & context) >= FIGURE_CONTEXT * smaller:
                return True
        return False

    def changed_figures(self, keys: frozenset[str], figures: frozenset[str]) -> set[str]:
        """Figures that replace another figure of a known sentence this one nearly repeats."""
        if self._edit is None:
            facts = [(frozenset(k), frozenset(f)) for k, f in self._with_figures]
            postings: dict[str, list[int]] = {}
            for i, (ks, _) in enumerate(facts):
                # only the keys the story's facts can ask about: a known fact's other keys would
                # never be looked up (a big event has thousands of facts with figures)
                for k in self._wanted(ks):
                    postings.setdefault(k, []).append(i)
            self._edit = (facts, postings)
        facts, postings = self._edit
        counts = Counter(i for k in keys for i in postings.get(k, ()))
        near = [facts[i][1] for i, shared in counts.items()
                if shared >= EDIT_OVERLAP * min(len(keys), len(facts[i][0]))]
        if not any(figs - figures for figs in near):
            return set()
        return set(figures.difference(*near))


def _keys_of(fact: Fact) -> tuple[list[str], list[str]]:
    return list(fact.weights), [f.key for f in fact.figures]


def _unknown_weight(fact: Fact, known: _Known) -> tuple[float, float]:
    """(weight of the sentence's unknown terms, their share of its total weight)."""
    terms = known.terms
    if fact.keys.isdisjoint(terms):  # nothing known: the same sum, in the same order, as fact.weight
        new = sum(fact.weights.values())
    elif fact.keys <= terms:
        new = 0
    else:  # summed in the fact's key order, like fact.weight, so the share is exact
        new = sum(w for k, w in fact.weights.items() if k not in terms)
    return new, (new / fact.weight if fact.weight else 0.0)


def _glued_clause(fact: Fact, known: _Known, min_share: float) -> bool:
    """Whether a leading or trailing run of clauses (where a glued clause sits) is new enough."""
    clauses = [c for c in clause_weights(fact) if c]
    terms = known.terms
    for cut in range(1, len(clauses)):
        for span in (clauses[:cut], clauses[cut:]):
            merged: dict[str, float] = {}
            for c in span:
                merged.update(c)
            total = sum(merged.values())
            new = sum(w for k, w in merged.items() if k not in terms)
            if (len(merged) >= 3 and new >= MIN_NEW_WEIGHT and total
                    and new / total >= max(MIN_SPAN_SHARE, SPAN_FACTOR * min_share)):
                return True
    return False


def _judge(fact: Fact, known: _Known, min_share: float, unknown: tuple[float, float] | None = None) -> NewFact | None:
    """The new fact this sentence states, or None when the event already knows it.

    ``unknown`` is the fact's ``_unknown_weight`` when already computed against the same ``known``.
    """
    keys = fact.keys
    changed = known.changed_figures(keys, frozenset(f.key for f in fact.figures)) if fact.figures else set()
    # a figure is new when it replaces one in a known sentence, or (unless it is a date, which is
    # often retold as "last year" or "on Tuesday") when no known fact states it in this context
    new_figures = [f for f in fact.figures
                   if f.key in changed or (not f.date and not known.knows_figure(f.key, keys))]
    new_weight, score = unknown if unknown is not None else _unknown_weight(fact, known)
    is_new = bool(new_figures) or (new_weight >= MIN_NEW_WEIGHT and score >= min_share)
    if not is_new and new_weight >= MIN_NEW_WEIGHT:
        is_new = _glued_clause(fact, known, min_share)
    if not is_new:
        return None
    unknown_keys = {k for k in fact.weights if k not in known.terms}
    names = name_phrases(fact) if any(fact.surfaces[k][1] for k in unknown_keys) else ()
    return NewFact(
        text=fact.text,
        terms=tuple(surface for k, (surface, name) in fact.surfaces.items() if k in unknown_keys and not name),
        names=tuple(name for name, keys_ in names if any(k in unknown_keys for k in keys_)),
        numbers=tuple(f.surface for f in new_figures),
        score=max(score, 1.0 if new_figures else 0.0),
    )


def _threshold(unknown: Sequence[tuple[float, float]]) -> float:
    """The share of unknown weight a sentence needs: above the story's own paraphrase noise.

    A revision of a known text has most sentences fully known, so one sentence with a quarter of
    new words stands out; another outlet's retelling has new words everywhere, so it needs more.
    ``unknown`` holds each fact's ``_unknown_weight``.
    """
    shares = sorted(share for _, share in unknown)
    median = shares[len(shares) // 2] if shares else 0.0
    return min(MAX_NEW_SHARE, max(MIN_NEW_SHARE, median + SHARE_MARGIN))


def assess(known: Sequence[dict[str, Any]], sentences: Sequence[str], lang: str, *, headline: str = "",
           known_lang: str | None = None) -> NoveltyResult:
    """Compare a story's sentences with the event's known facts.

    Returns the substantive new facts and the fact records to append to the event (all of the
    story's substantive facts when the event knows none yet; otherwise only the new ones).
    ``headline`` is accepted for interface stability; headlines restate the lead and are not facts.
    ``known_lang``: the language every known fact was analysed in, when they all share one. When
    it is ``lang``, a sentence the event already has word for word is not analysed again (see
    ``_split_verbatim``); the result is the same either way.
    """
    if not known:  # nothing known yet: every substantive fact is new (the caller knows if it is the first story)
        facts = [f for f in (analyze(s, lang) for s in sentences) if is_substantive(f)]
        return NoveltyResult([_all_new(f) for f in facts], [_record(f) for f in facts])
    fresh, repeated = _split_verbatim(known, sentences) if known_lang == lang else (sentences, 0)
    facts = [f for f in (analyze(s, lang) for s in fresh) if is_substantive(f)]
    figures = {g.key for f in facts for g in f.figures}
    index = _Known(known, figures, {k for f in facts if f.figures for k in f.keys})
    new_facts: list[NewFact] = []
    to_add: list[dict[str, Any]] = []
    unknown = [_unknown_weight(f, index) for f in facts]
    min_share = _threshold(unknown + [(0, 0.0)] * repeated)
    for fact, fact_unknown in zip(facts, unknown):
        # the weights computed for the threshold hold until a new fact is added to the index
        found = _judge(fact, index, min_share, fact_unknown if index.version == 0 else None)
        if found is not None:
            new_facts.append(found)
            to_add.append(_record(fact))
            index.add(fact)
    return NoveltyResult(new_facts, to_add)


def _split_verbatim(known: Sequence[dict[str, Any]], sentences: Sequence[str]) -> tuple[list[str], int]:
    """The sentences to analyse, and how many others repeat a known fact word for word.

    A known fact's record holds the keys and figures its sentence gave (in the same language), so
    a sentence with the same text would give them again: every term known, every figure known in
    the same context, and, being in the event's own edit finder, no figure changed — never new,
    and wholly known (share 0) in the story's threshold. Wire versions repeat most sentences.
    Records stored without keys are analysed again by ``_Known`` and are not used here.
    """
    verbatim = {fact["text"] for fact in known if "k" in fact}
    fresh = [s for s in sentences if s not in verbatim]
    return fresh, len(sentences) - len(fresh)


def _all_new(fact: Fact) -> NewFact:
    surfaces = fact.surfaces.values()
    return NewFact(text=fact.text, terms=tuple([surface for surface, name in surfaces if not name]),
                   names=tuple([surface for surface, name in surfaces if name]),
                   numbers=tuple([f.surface for f in fact.figures]),
                   score=1.0)


def _record(fact: Fact) -> dict[str, Any]:
    return fact.to_known()
