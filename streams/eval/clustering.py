"""Clustering accuracy against gold labels: B-cubed and pairwise precision/recall/F1, cluster counts.

``python -m streams.eval.clustering FILE.jsonl [--headline-only] [--shard-by lang|all] [--split tune|holdout]``
runs ``streams.core.pipeline.Pipeline`` over the rows in file order (what ``wirestream replay``
runs) and prints JSON figures. Rows need the story fields and a gold label in ``_gold``
(``--gold-field`` to use another one); rows without a label are processed but not scored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

__all__ = ["bcubed", "evaluate_clustering", "main", "pairwise", "split_of"]


def _groups(assign: Mapping[Hashable, Hashable]) -> dict[Hashable, list[Hashable]]:
    out: dict[Hashable, list[Hashable]] = defaultdict(list)
    for item, cluster in assign.items():
        out[cluster].append(item)
    return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def bcubed(pred: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable],
           scored: Iterable[Hashable] | None = None) -> dict[str, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin 1998) over the items in ``gold``.

    Items of ``gold`` missing from ``pred`` count as singletons. ``scored`` (default: all of
    ``gold``) averages over those items only, cluster sizes still counting every item of ``gold``.
    """
    items = list(gold)
    averaged = items if scored is None else list(scored)
    if not averaged:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    pred_full = {i: pred.get(i, ("__singleton__", i)) for i in items}
    joint = Counter((pred_full[i], gold[i]) for i in items)
    psize = Counter(pred_full[i] for i in items)
    gsize = Counter(gold[i] for i in items)
    p = sum(joint[(pred_full[i], gold[i])] / psize[pred_full[i]] for i in averaged) / len(averaged)
    r = sum(joint[(pred_full[i], gold[i])] / gsize[gold[i]] for i in averaged) / len(averaged)
    return {"precision": p, "recall": r, "f1": _f1(p, r)}


def pairwise(pred: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable]) -> dict[str, float]:
    """Pairwise precision, recall and F1 over all pairs of items in ``gold`` (1.0 when no pairs)."""
    items = list(gold)
    pred_full = {i: pred.get(i, ("__singleton__", i)) for i in items}

    def pairs(counter: Iterable[int]) -> int:
        return sum(n * (n - 1) // 2 for n in counter)

    tp = pairs(Counter((pred_full[i], gold[i]) for i in items).values())
    pp = pairs(Counter(pred_full.values()).values())
    gp = pairs(Counter(gold[i] for i in items).values())
    p = tp / pp if pp else 1.0
    r = tp / gp if gp else 1.0
    return {"precision": p, "recall": r, "f1": _f1(p, r), "true_pairs": tp, "pred_pairs": pp, "gold_pairs": gp}


def evaluate_clustering(
    rows: Iterable[Mapping[str, Any]],
    *,
    headline_only: bool = False,
    shard_by: str = "lang",
    window_days: float = 3.0,
    gold_field: str = "_gold",
) -> dict[str, Any]:
    """Run the Pipeline over ``rows`` in order and score its event ids against ``gold_field``."""
    from streams.core.pipeline import Pipeline
    from streams.core.validate import Rejected

    pipe = Pipeline(shard_by=shard_by, window_days=window_days)
    pred: dict[str, str] = {}
    gold: dict[str, Any] = {}
    rejected = 0
    n = 0
    t0 = time.perf_counter()
    for i, row in enumerate(rows):
        doc = dict(row)
        if headline_only and doc.get("headline"):
            doc["body_text"] = doc["headline"]
        label = doc.pop(gold_field, None)
        try:
            outcome = pipe.process_document(doc, arrival=0.0)
        except Rejected:
            rejected += 1
            continue
        n += 1
        key = f"{outcome.enriched.story.uri}\x1f{outcome.enriched.story.version}\x1f{i}"
        pred[key] = outcome.assignment.event_id
        if label is not None:
            gold[key] = label
    elapsed = time.perf_counter() - t0
    b = bcubed(pred, gold)
    pw = pairwise(pred, gold)
    scored_pred = {k: pred[k] for k in gold}
    return {
        "stories": n,
        "rejected": rejected,
        "scored": len(gold),
        "headline_only": headline_only,
        "shard_by": shard_by,
        "bcubed": {k: round(v, 4) for k, v in b.items()},
        "pairwise": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in pw.items()},
        "clusters": {
            "predicted": len(set(scored_pred.values())),
            "gold": len(set(gold.values())),
            "predicted_singletons": sum(1 for c in Counter(scored_pred.values()).values() if c == 1),
            "gold_singletons": sum(1 for c in Counter(gold.values()).values() if c == 1),
        },
        "timing": {
            "seconds": round(elapsed, 3),
            "ms_per_story": round(1000 * elapsed / max(1, n), 3),
        },
    }


def split_of(label: Any) -> int:
    """Tune (0) / holdout (1) half of a gold cluster label: CRC32 parity, stable everywhere."""
    return zlib.crc32(str(label).encode()) % 2


def _read_jsonl(path: str) -> list[dict[str, Any]]:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    rows = []
    with stream:
        for line in stream:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                rows.append(obj)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m streams.eval.clustering", description=__doc__.split("\n\n")[0])
    ap.add_argument("path", help="JSONL with story fields and a gold label ('-' = stdin)")
    ap.add_argument("--headline-only", action="store_true", help="cut every body to its headline (flash items)")
    ap.add_argument("--shard-by", choices=("lang", "all"), default="lang")
    ap.add_argument("--window-days", type=float, default=3.0)
    ap.add_argument("--gold-field", default="_gold")
    ap.add_argument("--split", choices=("tune", "holdout"),
                    help="only the gold clusters of one half (CRC32 of the label: even = tune, odd = holdout), "
                         "the split the shipped weights were fitted on")
    args = ap.parse_args(argv)
    try:
        rows = _read_jsonl(args.path)
    except OSError as exc:
        print(f"error: cannot read {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if args.split:
        want = 0 if args.split == "tune" else 1
        rows = [r for r in rows if split_of(r.get(args.gold_field)) == want]
    result = evaluate_clustering(rows, headline_only=args.headline_only, shard_by=args.shard_by,
                                 window_days=args.window_days, gold_field=args.gold_field)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
