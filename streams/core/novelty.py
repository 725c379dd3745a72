"""Which sentences of a story tell the event something it did not know.

Each known fact is kept compactly as ``{"text", "k": [term keys], "f": [figure keys]}`` (see
``facts.Fact.to_known``). A sentence of a new story is a **new fact** when

* it states a figure no known fact states *in a similar context* (a known fact with that figure
  shares at least ``FIGURE_CONTEXT`` of the smaller of the two term sets) — so a toll changed from
  12 to 27 is new even if "27" appears elsewhere in the event; or
* its terms not yet known to the event (rarer words weigh more, names at least
  ``facts.NAME_WEIGHT``) weigh at least ``MIN_NEW_WEIGHT`` and make at least ``MIN_NEW_SHARE`` of
  the sentence — or of one clause of it, so a clause glued onto a known sentence counts while a
  paraphrase that swaps a few words does not.

Coverage is checked against all the event's known terms together, so sentences that are merely
split, joined, reordered or restyled add nothing. Facts are compared within the story too: a
sentence repeating one already found new in the same story is not reported twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .facts import Fact, analyze, is_substantive
from .models import NewFact

__all__ = ["NoveltyResult", "assess", "MIN_NEW_WEIGHT", "MIN_NEW_SHARE", "MIN_CLAUSE_SHARE", "FIGURE_CONTEXT"]

MIN_NEW_WEIGHT = 1.5  # weight of unknown terms a new fact needs (about two rare words)
MIN_NEW_SHARE = 0.4  # ... as a share of the sentence's term weight
MIN_CLAUSE_SHARE = 0.6  # ... or as a share of one clause's term weight
FIGURE_CONTEXT = 0.3  # a figure is known where a known fact has it and this much term overlap
EDIT_OVERLAP = 0.7  # a sentence sharing this much with a known fact is an edit of it (for dates)


@dataclass(frozen=True, slots=True)
class NoveltyResult:
    new_facts: list[NewFact] = field(default_factory=list)
    facts_to_add: list[dict[str, Any]] = field(default_factory=list)


class _Known:
    """The event's known terms, and the term sets of known facts by figure."""

    def __init__(self, known: Sequence[dict[str, Any]], figures: set[str]) -> None:
        self.terms: set[str] = set()
        self.by_figure: dict[str, list[frozenset[str]]] = {}
        self.with_figures: list[tuple[list[str], Sequence[str]]] = []  # for edit detection
        self._edit_index: list[tuple[frozenset[str], frozenset[str]]] | None = None
        for fact in known:
            keys = fact.get("k")
            if keys is None:  # a fact stored without keys: analyze its text again
                keys, figs = _keys_of(analyze(fact.get("text", "")))
            else:
                figs = fact.get("f", ())
            self.terms.update(keys)
            if figs:
                self.with_figures.append((keys, figs))
            for fig in figs:
                if fig in figures:
                    self.by_figure.setdefault(fig, []).append(frozenset(keys))

    def add(self, fact: Fact) -> None:
        keys = fact.keys
        self.terms.update(keys)
        figs = [f.key for f in fact.figures]
        if figs:
            self.with_figures.append((list(keys), figs))
            self._edit_index = None
        for fig in figs:
            self.by_figure.setdefault(fig, []).append(keys)

    def knows_figure(self, figure: str, keys: frozenset[str]) -> bool:
        for context in self.by_figure.get(figure, ()):
            smaller = min(len(keys), len(context))
            if smaller == 0 or len(keys & context) >= FIGURE_CONTEXT * smaller:
                return True
        return False


    def edits_other_date(self, keys: frozenset[str], dates: set[str]) -> bool:
        """Whether a known fact says nearly the same with another date (a corrected date)."""
        if self._edit_index is None:
            self._edit_index = [(frozenset(k), frozenset(f)) for k, f in self.with_figures]
        for context, figs in self._edit_index:
            smaller = min(len(keys), len(context))
            if smaller and figs - dates and len(keys & context) >= EDIT_OVERLAP * smaller:
                return True
        return False


def _keys_of(fact: Fact) -> tuple[list[str], list[str]]:
    return [t.key for t in fact.terms], [f.key for f in fact.figures]


def _judge(fact: Fact, known: _Known) -> NewFact | None:
    """The new fact this sentence states, or None when the event already knows it."""
    keys = fact.keys
    new_figures = [f for f in fact.figures if not known.knows_figure(f.key, keys)]
    if any(f.date for f in new_figures):  # a new date counts only as a change to a known sentence
        dates = {f.key for f in fact.figures if f.date}
        if not known.edits_other_date(keys, dates):
            new_figures = [f for f in new_figures if not f.date]
    unknown = [t for t in fact.terms if t.key not in known.terms]
    total = fact.weight
    new_weight = sum(t.weight for t in unknown)
    score = new_weight / total if total else 0.0
    is_new = bool(new_figures) or (new_weight >= MIN_NEW_WEIGHT and score >= MIN_NEW_SHARE)
    if not is_new and new_weight >= MIN_NEW_WEIGHT:
        clause_total: dict[int, float] = {}
        clause_new: dict[int, float] = {}
        for t in fact.terms:
            clause_total[t.clause] = clause_total.get(t.clause, 0.0) + t.weight
        for t in unknown:
            clause_new[t.clause] = clause_new.get(t.clause, 0.0) + t.weight
        is_new = any(w >= MIN_NEW_WEIGHT and w >= MIN_CLAUSE_SHARE * clause_total[c] for c, w in clause_new.items())
    if not is_new:
        return None
    unknown_keys = {t.key for t in unknown}
    return NewFact(
        text=fact.text,
        terms=tuple(t.surface for t in unknown if not t.name),
        names=tuple(name for name, keys_ in fact.names if any(k in unknown_keys for k in keys_)),
        numbers=tuple(f.surface for f in new_figures),
        score=max(score, 1.0 if new_figures else 0.0),
    )


def assess(known: Sequence[dict[str, Any]], sentences: Sequence[str], lang: str, *, headline: str = "") -> NoveltyResult:
    """Compare a story's sentences with the event's known facts.

    Returns the substantive new facts and the fact records to append to the event (all of the
    story's substantive facts when the event knows none yet; otherwise only the new ones).
    ``headline`` is accepted for interface stability; headlines restate the lead and are not facts.
    """
    facts = [f for f in (analyze(s, lang) for s in sentences) if is_substantive(f)]
    if not known:  # nothing known yet: every substantive fact is new (the caller knows if it is the first story)
        return NoveltyResult([_all_new(f) for f in facts], [_record(f) for f in facts])
    figures = {g.key for f in facts for g in f.figures}
    index = _Known(known, figures)
    new_facts: list[NewFact] = []
    to_add: list[dict[str, Any]] = []
    for fact in facts:
        found = _judge(fact, index)
        if found is not None:
            new_facts.append(found)
            to_add.append(_record(fact))
            index.add(fact)
    return NoveltyResult(new_facts, to_add)


def _all_new(fact: Fact) -> NewFact:
    return NewFact(text=fact.text, terms=tuple(t.surface for t in fact.terms if not t.name),
                   names=tuple(name for name, _ in fact.names), numbers=tuple(f.surface for f in fact.figures),
                   score=1.0)


def _record(fact: Fact) -> dict[str, Any]:
    return fact.to_known()
