"""Accuracy of the language step on labelled text (JSONL rows with ``text`` and ``lang``).

``wirestream eval langid FILE.jsonl [FILE.jsonl ...] [--hint none|gold|other] [--bench]``
prints JSON (one object per file, keyed by path, when several are given): accuracy overall and
per language, on languages langdetect supports vs the others, the top confusions and the
confusable pairs (both directions added up), the "und" rate overall and on texts of three or
more words, the mean confidence of right and wrong answers and its calibration error, how
often an unsupported language gets a confident wrong label, the same figures on two fixed
halves of the data (``tune``/``holdout``, split by a hash of the text, so thresholds can be
chosen on one half and checked on the other), and optionally the time per ~3 KB article.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from streams.core import langid

Detect = Callable[[str, str | None], str]

#: Texts of at least this many words must (nearly) never be "und".
MIN_WORDS = 3


def _words(text: str) -> int:
    return sum(1 for w in text.split() if any(ch.isalpha() for ch in w))


def supported_languages() -> frozenset[str]:
    """Codes langdetect itself knows (zh-cn/zh-tw as zh). langdetect's "no" is left out:
    it is neither of the codes (nb, nn) that labelled data uses for Norwegian."""
    return frozenset(langid.normalize_code(c) or c for c in langid.engine().langs if c != "no")


def split_of(text: str) -> str:
    """``"tune"`` or ``"holdout"``: a stable half of the data, by a hash of the text."""
    return "tune" if hashlib.blake2b(text.encode("utf-8"), digest_size=1).digest()[0] < 128 else "holdout"


def _hint_for(row: dict[str, Any], mode: str, langs: Sequence[str]) -> str | None:
    if mode == "gold":
        return str(row["lang"])
    if mode == "other":  # a wrong declared language, chosen deterministically
        others = [lang for lang in langs if lang != row["lang"]]
        h = hashlib.blake2b(str(row["text"]).encode("utf-8"), digest_size=4).digest()
        return others[int.from_bytes(h, "big") % len(others)] if others else None
    return None


def _summary(pairs: list[tuple[str, str]], supported: frozenset[str], top_n: int) -> dict[str, Any]:
    """Figures for (gold, predicted) pairs."""
    und = langid.UND
    sup = [(g, p) for g, p in pairs if g in supported]
    uns = [(g, p) for g, p in pairs if g not in supported]

    def acc(ps: list[tuple[str, str]]) -> float | None:
        return round(sum(g == p for g, p in ps) / len(ps), 4) if ps else None

    def rate(ps: list[tuple[str, str]], pred: Callable[[str, str], bool]) -> float | None:
        return round(sum(pred(g, p) for g, p in ps) / len(ps), 4) if ps else None

    confusions = Counter((g, p) for g, p in pairs if g != p and p != und)
    pair_counts = Counter("/".join(sorted((g, p))) for g, p in pairs if g != p and p != und)
    return {
        "n": len(pairs),
        "accuracy": acc(pairs),
        "und_rate": rate(pairs, lambda g, p: p == und),
        "confusion_pairs": dict(pair_counts.most_common(top_n)),
        "supported": {
            "n": len(sup),
            "languages": len({g for g, _ in sup}),
            "accuracy": acc(sup),
            "und_rate": rate(sup, lambda g, p: p == und),
        },
        "unsupported": {
            "n": len(uns),
            "languages": len({g for g, _ in uns}),
            "accuracy": acc(uns),
            "und_rate": rate(uns, lambda g, p: p == und),
            # a label that is neither right nor "und": the harm done downstream
            "confident_wrong_rate": rate(uns, lambda g, p: p not in (g, und)),
        },
        "top_confusions": [
            {"gold": g, "pred": p, "n": n} for (g, p), n in confusions.most_common(top_n)
        ],
    }


def _calibration_error(confidence: dict[bool, list[float]], bins: int = 10) -> float | None:
    """Expected calibration error of the answers' confidence: per confidence bin, how far the
    mean confidence is from the share of right answers, weighted by the bin's size."""
    pairs = [(p, right) for right, ps in confidence.items() for p in ps]
    if not pairs:
        return None
    sums = [[0, 0.0, 0] for _ in range(bins)]
    for p, right in pairs:
        b = sums[min(int(p * bins), bins - 1)]
        b[0] += 1
        b[1] += p
        b[2] += right
    return round(sum(abs(total - hits) for _, total, hits in sums) / len(pairs), 4)


def evaluate_langid(
    rows: Iterable[dict[str, Any]],
    detect: Detect | None = None,
    *,
    hint: str = "none",
    top_n: int = 15,
) -> dict[str, Any]:
    """Evaluate ``detect(text, hint)`` (default :func:`langid.detect_text`) on labelled rows.

    ``hint`` says what the feed declares: ``none``, ``gold`` (the right language) or
    ``other`` (a wrong one), to see how far a hint helps and how little a wrong one harms.
    """
    data = [r for r in rows if isinstance(r.get("text"), str) and r.get("lang")]
    langs = sorted({str(r["lang"]) for r in data})
    supported = supported_languages()
    pairs: list[tuple[str, str]] = []
    halves: dict[str, list[tuple[str, str]]] = defaultdict(list)
    start = time.perf_counter()
    confidence: dict[bool, list[float]] = {True: [], False: []}
    und_long = n_long = 0
    for row in data:
        gold = str(row["lang"])
        row_hint = _hint_for(row, hint, langs)
        if detect is None:
            decision = langid.analyse(row["text"], row_hint)
            pred = decision.lang
            confidence[pred == gold].append(decision.prob)
        else:
            pred = detect(row["text"], row_hint)
        pairs.append((gold, pred))
        halves[split_of(row["text"])].append((gold, pred))
        if _words(row["text"]) >= MIN_WORDS:
            n_long += 1
            und_long += pred == langid.UND
    elapsed = time.perf_counter() - start

    per_lang: dict[str, dict[str, Any]] = {}
    by_gold: dict[str, list[str]] = defaultdict(list)
    for g, p in pairs:
        by_gold[g].append(p)
    for g in langs:
        preds = by_gold[g]
        wrong = Counter(p for p in preds if p != g)
        per_lang[g] = {
            "n": len(preds),
            "supported": g in supported,
            "accuracy": round(sum(p == g for p in preds) / len(preds), 4),
            "und": wrong.pop(langid.UND, 0),
            "wrong": dict(wrong.most_common(3)),
        }

    result = _summary(pairs, supported, top_n)
    result.update(
        engine=langid.engine_name(),
        hint=hint,
        words3_n=n_long,
        words3_und_rate=round(und_long / n_long, 4) if n_long else None,
        mean_confidence={
            name: round(sum(v) / len(v), 4) if v else None
            for name, v in (("right", confidence[True]), ("wrong", confidence[False]))
        },
        confidence_calibration_error=_calibration_error(confidence),
        ms_per_text=round(elapsed * 1000 / max(len(pairs), 1), 4),
        splits={name: _summary(halves[name], supported, 5) for name in ("tune", "holdout")},
        per_language=per_lang,
    )
    return result


def bench_articles(
    rows: Iterable[dict[str, Any]], size: int = 3000, repeat: int = 3
) -> dict[str, Any]:
    """Time :func:`langid.detect_language` on ~``size``-character articles made by joining
    the rows of each language (headline = first row)."""
    texts: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        texts[str(r["lang"])].append(str(r["text"]))
    articles: list[tuple[str, str]] = []
    for parts in texts.values():
        body, i = "", 1
        while len(body) < size and i < len(parts):
            body += parts[i] + " "
            i += 1
        articles.append((parts[0], body[:size]))
    for headline, body in articles:  # warm up: profiles load, caches fill
        langid.detect_language(headline, body)
    start = time.perf_counter()
    for _ in range(repeat):
        for headline, body in articles:
            langid.detect_language(headline, body)
    per = (time.perf_counter() - start) * 1000 / max(len(articles) * repeat, 1)
    return {"articles": len(articles), "chars": size, "ms_per_article": round(per, 4)}


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file (blank lines skipped)."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.eval.langid", description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="path", help="JSONL with text and lang fields")
    parser.add_argument("--hint", choices=("none", "gold", "other"), default="none")
    parser.add_argument("--top", type=int, default=15, help="confusions to list")
    parser.add_argument("--bench", action="store_true", help="also time ~3 KB articles")
    parser.add_argument("--no-per-language", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for path in args.paths:
        try:
            rows = read_jsonl(path)
        except (OSError, ValueError) as exc:
            print(f"eval langid: cannot read {path}: {exc}", file=sys.stderr)
            return 2
        result = evaluate_langid(rows, hint=args.hint, top_n=args.top)
        if args.no_per_language:
            result.pop("per_language")
        if args.bench:
            result["speed"] = bench_articles(rows)
        results[path] = result
    out = results[args.paths[0]] if len(args.paths) == 1 else results
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
