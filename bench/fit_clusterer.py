"""Fit the clusterer's score weights and join threshold on the tune half of the dev suite.

    python bench/fit_clusterer.py [--data ../shared/data] [--cache DIR] [--l2 1.0] [--no-semantic] [--baseline]

How the shipped ``ClusterConfig.weights`` / ``threshold`` are made, so they can be made again. The
suite is ``streams.eval.clustering.SUITE`` (a dated stream, full articles in lower-cased copy,
title + lead, headlines only); every file is split by gold event (CRC32 parity of the label,
``split_of``: even = tune, odd = holdout), and nothing is fitted on a holdout event.

1. **Pairs.** Each file's tune stories are streamed in file order through a ``Clusterer`` whose
   decisions are the gold ones (each story is added to its gold event). For every story, each
   candidate event the index returns gives one pair: ``pair_features`` and whether it is the
   story's own event. Gold decisions keep the profiles clean, so the pairs do not depend on the
   weights being fitted.
2. **Weights.** L2-regularized logistic regression (Newton's method, numpy; the bias is not
   penalized) over ``FEATURE_NAMES``, every file weighing the same in total.
3. **Threshold.** The one join probability maximizing the macro B-cubed F1 over the suite's tune
   halves, from runs of the real cluster stage over whole files (the holdout stories stay in the
   stream, unlabelled: how many live events compete for a story matters).

Prints JSON: the weights, the threshold and per-file B-cubed F1 on the tune and *holdout* halves
for the fitted configuration (its top score against the threshold decides the join) and the shipped
one (with its learned join decision, ``ClusterConfig.join_weights``; after a refit of the score,
``bench/fit_join.py`` fits that decision again). ``--baseline`` instead sweeps the baseline's one
threshold over the whole suite (``streams.eval.baseline``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import orjson

from streams.core.clusterer import DEFAULT_CONFIG, FEATURE_NAMES, ClusterConfig, Clusterer, pair_features, sem_cosines
from streams.eval.baseline import THRESHOLDS as BASELINE_THRESHOLDS
from streams.eval.baseline import best_threshold, cluster_baseline
from streams.eval.clustering import DEFAULT_DATA, Prepared, bcubed, load, run_clusterer, score, split_of, suite_specs

THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def gold_pairs(prep: Prepared, cfg: ClusterConfig) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of every story/candidate pair of the tune half, events built from gold decisions."""
    clusterer = Clusterer({}, window_seconds=3 * 86400.0, config=cfg)
    xs: list[list[float]] = []
    ys: list[float] = []
    for story, label in zip(prep.stories, prep.gold):
        if story is None or label is None or split_of(label) != 0:
            continue
        now = story.story.versioncreated
        gold = f"gold-{label}"
        st = clusterer._advance(story.shard, now)
        sf = clusterer.features(story, st)
        found = [(e, clusterer.profiles[e]) for e in clusterer.candidates(sf, st)]
        for (event_id, p), sem in zip(found, sem_cosines(sf, [p for _, p in found])):
            xs.append(pair_features(sf, p, cfg, clusterer.hours(st, p, now), sem))
            ys.append(1.0 if event_id == gold else 0.0)
        clusterer.add(gold, story, now)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def fit_logistic(x: np.ndarray, y: np.ndarray, sw: np.ndarray, l2: float, iters: int = 60) -> np.ndarray:
    """Newton's method for weighted, L2-regularized logistic regression; the last column (bias) is not penalized."""
    d = x.shape[1]
    w = np.zeros(d)
    penalty = np.full(d, l2)
    penalty[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (sw * (p - y)) + penalty * w
        hess = (x * (sw * p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def half_f1(pred: list, gold: tuple, half: int) -> float:
    """B-cubed F1 of one half's stories, the whole file clustered.

    The other half's labels are not read: a gold event lies wholly in one half, so a story of the
    other half in a story's predicted event is a precision error, whatever its label.
    """
    p = {i: e for i, e in enumerate(pred) if e is not None}
    g = {i: (label if split_of(label) == half else None) for i, label in enumerate(gold)
         if label is not None and pred[i] is not None}
    scored = [i for i, label in g.items() if label is not None]
    return round(bcubed(p, g, scored)["f1"], 4)


def halves(preps: list[Prepared], cfg: ClusterConfig) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for prep in preps:
        pred = run_clusterer(prep.stories, config=cfg)
        out[prep.name] = {"tune": half_f1(pred, prep.gold, 0), "holdout": half_f1(pred, prep.gold, 1)}
    for half in ("tune", "holdout"):
        out.setdefault("macro", {})[half] = round(sum(v[half] for k, v in out.items() if k != "macro") / len(preps), 4)
    return out


def sweep_baseline(preps: list[Prepared]) -> dict:
    scores = {th: [score(cluster_baseline(p.stories, th), p.gold)["bcubed"]["f1"] for p in preps]
              for th in BASELINE_THRESHOLDS}
    for th, f in scores.items():
        print(f"baseline threshold {th}: " + " ".join(f"{x:.4f}" for x in f), file=sys.stderr)
    return {"files": [p.name for p in preps], "bcubed_f1": {str(k): v for k, v in scores.items()},
            "threshold": best_threshold(scores)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, help="keep enriched stories here between runs")
    parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the non-bias weights")
    parser.add_argument("--baseline", action="store_true", help="sweep the baseline's threshold instead")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="try another ClusterConfig value (e.g. lead_sentences=40), weights refitted")
    parser.add_argument("--thresholds", type=lambda s: tuple(float(x) for x in s.split(",")), default=THRESHOLDS)
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped configuration's figures")
    parser.add_argument("--no-semantic", action="store_true",
                        help="fit without the semantic model: the weights_plain / threshold_plain fallback")
    args = parser.parse_args(argv)
    base = DEFAULT_CONFIG
    for item in args.set:
        field, _, value = item.partition("=")
        kind = type(getattr(DEFAULT_CONFIG, field))
        base = dataclasses.replace(base, **{field: kind(value) if kind is not bool else value == "true"})
    if args.no_semantic:
        base = dataclasses.replace(base, semantic=False)
    elif Clusterer({}, window_seconds=1.0, config=base).embedder is None:
        print("error: the semantic model is not installed (pip install wordllama); or --no-semantic", file=sys.stderr)
        return 2
    # the fields the fitted values go to: the fallback ones when fitting without the semantic model
    w_field, th_field = ("weights_plain", "threshold_plain") if args.no_semantic else ("weights", "threshold")
    try:
        preps = [load(spec, cache=args.cache) for spec in suite_specs(args.data)]
    except OSError as exc:
        print(f"error: cannot read the dev suite in {args.data}: {exc}", file=sys.stderr)
        return 2
    if args.baseline:
        print(orjson.dumps(sweep_baseline(preps), option=orjson.OPT_INDENT_2).decode())
        return 0

    parts = [gold_pairs(p, base) for p in preps]
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    # every file weighs the same in total, whatever its number of pairs
    sw = np.concatenate([np.full(len(p[1]), len(y) / (len(parts) * max(1, len(p[1])))) for p in parts])
    weights = tuple(round(float(v), 3) for v in fit_logistic(x, y, sw, args.l2))
    print(f"{len(y)} pairs, {int(y.sum())} positive; weights {dict(zip(FEATURE_NAMES, weights))}", file=sys.stderr)

    scores = {}
    for th in args.thresholds:
        # the first stage alone: the join model (bench/fit_join.py) is fitted on the shipped score, and
        # must be fitted again over new weights
        cfg = dataclasses.replace(base, **{w_field: weights, th_field: th}, join_weights=())
        scores[th] = halves(preps, cfg)
        print(f"threshold {th}: " + " ".join(f"{k} {v['tune']:.4f}" for k, v in scores[th].items()), file=sys.stderr)
    best = max(args.thresholds, key=lambda th: (scores[th]["macro"]["tune"], -th))
    print(orjson.dumps({
        "features": FEATURE_NAMES,
        "config": {item.partition("=")[0]: getattr(base, item.partition("=")[0]) for item in args.set},
        "pairs": len(y),
        "positive_pairs": int(y.sum()),
        "fitted": {w_field: weights, th_field: best, "bcubed_f1": scores[best]},
        "shipped": {w_field: getattr(DEFAULT_CONFIG, w_field), th_field: getattr(DEFAULT_CONFIG, th_field),
                    "bcubed_f1": None if args.no_shipped else halves(
                        preps, dataclasses.replace(DEFAULT_CONFIG, semantic=not args.no_semantic))},
    }, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
