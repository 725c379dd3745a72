"""Story-update detection measured on version cases built from real articles.

``python -m streams.eval.novelty FILE.jsonl [--seed N] [--limit N] [--seeds SEEDS.jsonl]``
prints JSON figures. Works on any JSONL whose rows have ``body_text`` (and optionally
``headline``); when rows carry a gold event label (``_gold``, ``--gold-field``) the articles of
one event are concatenated, in file order, into one longer story (each article one paragraph) —
leads of the same event, so the story restates itself the way real multi-source copy does.
Without labels each row is its own story.

Each story (≥ 3 sentences after normalization) yields version cases — version 1 then version 2
of the same story, through the very code the event stage runs (normalize, language, novelty):

* updates (facts added): ``held_back`` (a sentence missing from v1 comes in v2), ``glued`` (the
  held-back sentence comes glued onto a neighbouring sentence as a clause), ``figure`` (one number
  in one sentence changed; in about a third of them the new value is one the story already states
  elsewhere, in another context: ``figure_reused`` in the per-kind figures);
* rewrites adding nothing: ``reorder``, ``quotes`` (restyled quote marks), ``join`` (two sentences
  joined), ``split`` (a sentence split in two), ``delete`` (a sentence dropped), ``resend``.

A held-back sentence is used only when it really adds something to the rest of the story: at
least 3 words outside the language's 500 most common that appear nowhere else in the story (or 2
and a number found nowhere else). Changed figures are never years or day numbers.

Figures: ``recall`` — share of added facts (held-back sentences, changed sentences) covered by a
reported fact; ``precision`` — share of reported facts that carry an added fact (every fact
reported on a rewrite is wrong); ``false_alert_rate`` — rewrites that alerted; ``figure_named`` —
changed-figure cases whose reported fact names the new figure. Stories are split by a hash of their
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

from ..core import langid, normalize, novelty
from ..core.facts import _CALENDAR
from ..core.models import NewFact

__all__ = ["Case", "build_cases", "evaluate_novelty", "main", "run_case", "seeds_check"]

UPDATE_KINDS = ("held_back", "glued", "figure")
REWRITE_KINDS = ("reorder", "quotes", "join", "split", "delete", "resend")

_WORDS = re.compile(r"[^\W_]+")
_CANDIDATE_NUMBER = re.compile(r"(?<=[\s$\u20ac\u00a3(])\d+(?:\.\d+)?(?=[\s%,;)]|\.(?!\d)|$)")
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


@dataclass(slots=True)
class _Tally:
    cases: int = 0
    alerts: int = 0
    added: int = 0
    found: int = 0
    reported: int = 0
    correct: int = 0
    figure_cases: int = 0
    figure_named: int = 0
    per_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


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


def _story_cases(story_id: str, headline: str, paragraphs: list[list[str]], seed: int, lang: str) -> list[Case]:
    rng = random.Random(f"{seed}\x1f{story_id}")
    split = _split_of(story_id)
    flat = [(p, j) for p, para in enumerate(paragraphs) for j in range(len(para))]
    if len(flat) < 3:
        return []
    story = _text(paragraphs)
    cases: list[Case] = []

    def case(kind: str, v1: list[list[str]], v2: list[list[str]], added: tuple[str, ...] = (), figure: str = "",
             reused: bool = False) -> None:
        cases.append(Case(story_id, kind, headline, _text(v1), _text(v2), added, figure, reused, split))

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
                limit: int | None = None) -> list[Case]:
    """Version cases from real articles (deterministic for a seed)."""
    cases: list[Case] = []
    for n, (story_id, headline, paragraphs) in enumerate(_stories(rows, gold_field)):
        if limit is not None and n >= limit:
            break
        lang = langid.detect_language(headline, _text(paragraphs[:1]))
        cases.extend(_story_cases(story_id, headline, paragraphs, seed, lang))
    return cases


# --- running and scoring -----------------------------------------------------------------------

def run_case(case: Case) -> list[NewFact]:
    """Version 1 seeds the event; the new facts version 2 brings (what would alert)."""
    first = normalize.clean_story(case.headline, case.v1)
    lang = langid.detect_language(first.headline, first.body)
    known = novelty.assess([], first.sentences, lang, headline=first.headline).facts_to_add
    second = normalize.clean_story(case.headline, case.v2)
    return novelty.assess(known, second.sentences, lang, headline=second.headline, known_lang=lang).new_facts


def _carries(reported: str, added: str) -> bool:
    words = _words(added)
    return bool(words) and len(words & _words(reported)) >= 0.8 * len(words)


def _score(case: Case, facts: Sequence[NewFact], tally: _Tally) -> None:
    tally.cases += 1
    tally.alerts += bool(facts)
    tally.reported += len(facts)
    kind = "figure_reused" if case.reused else case.kind
    tally.per_kind[kind][0] += 1
    tally.per_kind[kind][1] += bool(facts)
    if not case.added:
        return
    tally.added += len(case.added)
    for added in case.added:
        hits = [f for f in facts if _carries(f.text, added)]
        tally.found += bool(hits)
        if case.kind == "figure":
            tally.figure_cases += 1
            tally.figure_named += any(case.figure in " ".join(f.numbers) for f in hits)
    tally.correct += sum(1 for f in facts if any(_carries(f.text, a) for a in case.added))


def _figures(tally: _Tally, seconds: float) -> dict[str, Any]:
    updates = sum(v[0] for k, v in tally.per_kind.items() if k in UPDATE_KINDS or k == "figure_reused")
    update_alerts = sum(v[1] for k, v in tally.per_kind.items() if k in UPDATE_KINDS or k == "figure_reused")
    rewrites = sum(v[0] for k, v in tally.per_kind.items() if k in REWRITE_KINDS)
    false_alerts = sum(v[1] for k, v in tally.per_kind.items() if k in REWRITE_KINDS)
    return {
        "cases": tally.cases,
        "update_cases": updates,
        "rewrite_cases": rewrites,
        "recall": round(tally.found / tally.added, 4) if tally.added else None,
        "precision": round(tally.correct / tally.reported, 4) if tally.reported else None,
        "alert_rate_updates": round(update_alerts / updates, 4) if updates else None,
        "false_alert_rate": round(false_alerts / rewrites, 4) if rewrites else None,
        "figure_named": round(tally.figure_named / tally.figure_cases, 4) if tally.figure_cases else None,
        "alert_rate_by_kind": {k: round(v[1] / v[0], 4) for k, v in sorted(tally.per_kind.items())},
        "cases_by_kind": {k: v[0] for k, v in sorted(tally.per_kind.items())},
        "ms_per_case": round(1000 * seconds / tally.cases, 3) if tally.cases else None,
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
        wrong = bool(facts) != bool(case.added) or any(not any(_carries(f.text, a) for a in case.added) for f in facts)
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
    parser.add_argument("path", type=Path, help="JSONL with body_text (and headline, optional gold label)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="use at most this many stories")
    parser.add_argument("--gold-field", default="_gold")
    parser.add_argument("--seeds", type=Path, default=None, help="also report the cross-outlet seeds behaviour")
    parser.add_argument("--examples", type=int, default=0, help="include this many misclassified cases")
    args = parser.parse_args(argv)
    try:
        with args.path.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.path}: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    cases = build_cases(rows, args.seed, gold_field=args.gold_field, limit=args.limit)
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
