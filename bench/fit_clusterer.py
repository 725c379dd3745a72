"""Fit the clusterer's score weights and threshold on the tune half of a labelled file.

    python bench/fit_clusterer.py [--dev ../shared/data/cluster-dev.jsonl] [--l2 1.0]

How the shipped ``ClusterConfig.weights`` / ``threshold`` are made, so they can be made again:

1. **Pairs.** The tune half (gold clusters with even CRC32, ``streams.eval.clustering.split_of``) is
   streamed in file order through a ``Clusterer`` whose decisions are the gold ones (each story is
   added to its gold event), twice: full stories and headline-only flashes. For every story, each
   candidate event the index returns gives one pair: ``pair_features`` and whether it is the
   story's own event. Gold decisions keep the profiles clean, so the pairs do not depend on the
   weights being fitted.
2. **Weights.** L2-regularized logistic regression (Newton's method, numpy; the bias is not
   penalized) over ``FEATURE_NAMES``.
3. **Threshold.** The one join probability maximizing the mean B-cubed F1 of full and
   headline-only runs of the real pipeline over the whole file, scoring the tune half's stories
   only. The other half's stories stay in the stream, unlabelled, because the right threshold
   depends on how many live events compete for a story: tuned on half the events alone, it comes
   out too low for the whole stream.

Prints JSON: weights, threshold, and B-cubed F1 of each half (the whole file streamed, one half
scored) for the fitted and the shipped configuration. The holdout labels are never fitted on.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import orjson

from streams.core.clusterer import (
    DEFAULT_CONFIG,
    FEATURE_NAMES,
    ClusterConfig,
    Clusterer,
    pair_features,
)
from streams.core.pipeline import Pipeline, enrich
from streams.core.validate import Rejected, story_from_document
from streams.eval.clustering import bcubed, split_of

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)


def gold_pairs(rows: list[dict], cfg: ClusterConfig, *, headline_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of every story/candidate pair, with the events built from gold decisions."""
    clusterer = Clusterer({}, window_seconds=3 * 86400.0, config=cfg)
    xs: list[list[float]] = []
    ys: list[float] = []
    for row in rows:
        doc = {k: v for k, v in row.items() if k != "_gold"}
        if headline_only and doc.get("headline"):
            doc["body_text"] = doc["headline"]
        try:
            enriched = enrich(story_from_document(doc, arrival=0.0), "all")
        except Rejected:
            continue
        now = enriched.story.versioncreated
        gold = f"gold-{row['_gold']}"
        st = clusterer._advance(enriched.shard, now)
        sf = clusterer.features(enriched, st)
        for event_id in clusterer.candidates(sf, st):
            xs.append(pair_features(sf, clusterer.profiles[event_id], cfg))
            ys.append(1.0 if event_id == gold else 0.0)
        clusterer.add(gold, enriched, now)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iters: int = 50) -> np.ndarray:
    """Newton's method for L2-regularized logistic regression; the last column (bias) is not penalized."""
    d = x.shape[1]
    w = np.zeros(d)
    penalty = np.full(d, l2)
    penalty[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + penalty * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def f1(rows: list[dict], half: int, cfg: ClusterConfig, headline_only: bool) -> float:
    """B-cubed F1 of one half's stories with the whole file streamed.

    The other half's labels are not read: a gold event lies wholly in one half, so any story of
    the other half in a story's predicted event is a precision error, whatever its label.
    """
    pipe = Pipeline(shard_by="all", cluster_config=cfg)
    pred: dict[int, str] = {}
    gold: dict[int, str] = {}
    for i, row in enumerate(rows):
        doc = {k: v for k, v in row.items() if k != "_gold"}
        if headline_only and doc.get("headline"):
            doc["body_text"] = doc["headline"]
        try:
            pred[i] = pipe.process_document(doc, arrival=0.0).assignment.event_id
        except Rejected:
            continue
        # the other half's stories share one label no scored story has
        gold[i] = row["_gold"] if split_of(row["_gold"]) == half else None
    scored = [i for i, label in gold.items() if label is not None]
    return round(bcubed(pred, gold, scored)["f1"], 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the non-bias weights")
    args = parser.parse_args(argv)
    try:
        with open(args.dev, "rb") as fh:
            rows = [orjson.loads(line) for line in fh if line.strip()]
    except (OSError, orjson.JSONDecodeError) as exc:
        print(f"error: cannot read {args.dev}: {exc}", file=sys.stderr)
        return 2
    rows = [r for r in rows if "_gold" in r]
    tune = [r for r in rows if split_of(r["_gold"]) == 0]

    parts = [gold_pairs(tune, DEFAULT_CONFIG, headline_only=h) for h in (False, True)]
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    w = fit_logistic(x, y, args.l2)
    weights = tuple(round(float(v), 3) for v in w)
    print(f"{len(y)} pairs, {int(y.sum())} positive; weights {dict(zip(FEATURE_NAMES, weights))}", file=sys.stderr)

    scores = {}
    for th in THRESHOLDS:
        cfg = dataclasses.replace(DEFAULT_CONFIG, weights=weights, threshold=th)
        scores[th] = (f1(rows, 0, cfg, False), f1(rows, 0, cfg, True))
        print(f"threshold {th}: tune F1 full {scores[th][0]:.4f} headline-only {scores[th][1]:.4f}", file=sys.stderr)
    best = max(THRESHOLDS, key=lambda th: (sum(scores[th]), -th))
    fitted = dataclasses.replace(DEFAULT_CONFIG, weights=weights, threshold=best)

    def figures(cfg: ClusterConfig) -> dict[str, float]:
        return {"tune_full": f1(rows, 0, cfg, False), "tune_headline_only": f1(rows, 0, cfg, True),
                "holdout_full": f1(rows, 1, cfg, False), "holdout_headline_only": f1(rows, 1, cfg, True)}

    print(orjson.dumps({
        "features": FEATURE_NAMES,
        "pairs": len(y),
        "positive_pairs": int(y.sum()),
        "fitted": {"weights": weights, "threshold": best, "bcubed_f1": figures(fitted)},
        "shipped": {"weights": DEFAULT_CONFIG.weights, "threshold": DEFAULT_CONFIG.threshold,
                    "bcubed_f1": figures(DEFAULT_CONFIG)},
    }, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
