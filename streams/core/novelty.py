"""PLACEHOLDER (the novelty helper replaces this): vocabulary-based novelty."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .models import NewFact

_WORD = re.compile(r"\w{4,}")


@dataclass(frozen=True, slots=True)
class NoveltyResult:
    new_facts: list[NewFact] = field(default_factory=list)
    facts_to_add: list[dict[str, Any]] = field(default_factory=list)


def assess(known: Sequence[dict[str, Any]], sentences: Sequence[str], lang: str, *, headline: str = "") -> NoveltyResult:
    vocab = {t for f in known for t in f["terms"]}
    out = NoveltyResult()
    for s in sentences:
        terms = sorted({w.lower() for w in _WORD.findall(s)})
        new = [t for t in terms if t not in vocab]
        if not known or len(new) >= 3:
            out.facts_to_add.append({"text": s, "terms": terms})
            vocab.update(terms)
            if known:
                out.new_facts.append(NewFact(text=s, terms=tuple(new)))
    return out
