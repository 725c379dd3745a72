"""A learned join decision over the top-scored candidate (issue 12, session 8): fit and measure.

    python bench/fit_join.py collect [--cache DIR] [--state oracle|shipped] --out ROWS.npz
    python bench/fit_join.py evaluate [--cache DIR] --rows ROWS.npz[,MORE.npz] --model logistic|trees
                                      [--thresholds 0.4,0.45,0.5] [--out FILE.json]
    python bench/fit_join.py cost [--cache DIR]

Shipped (``ClusterConfig.join_weights`` / ``join_threshold``): ``collect --state oracle``, then
``evaluate --model logistic --thresholds 0.4,0.45,0.5`` (0.45: best macro tune); results and the
variants tried in bench/README.md, "A learned join decision".

The shipped clusterer ranks a story's candidates by one logistic score and joins the top one iff
that score reaches ``threshold``. ``bench/cluster_oracle.py`` showed the ranking is mostly right and
the join-or-found decision on the top candidate is where the recall goes. This script keeps the
ranking and replaces only that decision by a second-stage model over the top candidate with context
the score does not see (``JOIN_FEATURES``): the top candidate's pair features and score, the
runner-up's score and the margin, how many candidates the index returned and how many reach the
threshold, whether the top one is also the best by each sub-similarity (body, headline, names,
semantic) and by how much, its place in the index's order, the event's age and uncapped size, a
cross-language pair, a story without a semantic vector.

1. ``collect``: each suite file is streamed in file order through the pipeline's ``ClusterStage``
   (shipped configuration, semantic model when installed); for every labelled story with at least
   one candidate, one row: the features, whether the top candidate's majority gold label (of the
   stories put in it so far) is the story's own, the file and the half (``split_of``). The state is
   built by ``--state``: ``oracle`` (join the top candidate iff it is the story's event — clean
   events, as ``cluster_oracle.py --modes join``) or ``shipped`` (the shipped decisions: the noisy
   events the model will meet).
2. ``evaluate``: fits on the TUNE rows only (every file weighing the same) — ``logistic``: L2
   logistic regression, numpy Newton (``fit_clusterer.fit_logistic``); ``trees``: scikit-learn's
   ``HistGradientBoostingClassifier`` (an upper bound of what the features allow; not shipped) —
   then runs the real cluster stage over whole files with the new decision for each threshold and
   reports the tune and HOLDOUT halves' B-cubed F1 as ``fit_clusterer.py`` does
   (``half_f1``). The threshold is the one with the best macro tune F1.

3. ``cost``: microseconds a story for the decision alone, and the cluster stage with and without it
   (alternated in one process).

Run it under ``nice -n 19``: one pass over the suite costs what one ``wirestream eval clustering
--suite`` does.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_clusterer import fit_logistic, half_f1

from streams.core.clusterer import (
    DEFAULT_CONFIG,
    JOIN_FEATURE_NAMES,
    join_features,
    pair_features,
    sem_cosines,
)
from streams.core.pipeline import ClusterStage
from streams.eval.clustering import (
    DEFAULT_DATA,
    Prepared,
    load,
    run_clusterer,
    split_of,
    suite_specs,
)

JOIN_FEATURES = JOIN_FEATURE_NAMES


class _Labels:
    """The majority gold label of every predicted event (as cluster_oracle._Oracle)."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {}
        self.label: dict[str, Any] = {}

    def record(self, event_id: str, label: Any) -> None:
        if label is not None:
            c = self.counts.setdefault(event_id, Counter())
            c[label] += 1
            self.label[event_id] = c.most_common(1)[0][0]


Decide = Callable[[list[float], float, bool | None], bool]  # (features, top score, top is right or None) -> join?


def run(prep: Prepared, decide: Decide, keep: list | None = None
        ) -> tuple[list[str | None], list[tuple[list[float], int, int]]]:
    """Stream the file through the cluster stage, the top candidate's join decided by ``decide``.
    Returns the event ids and, for each labelled story with a candidate, (features, right, half)."""
    stage = ClusterStage({}, {}, {}, window_days=3.0, config=dataclasses.replace(DEFAULT_CONFIG, join_weights=()))
    cl = stage.clusterer
    labels = _Labels()
    current: dict[str, Any] = {"label": None}
    rows: list[tuple[list[float], int, int]] = []

    def best_event(story, now):  # replaces Clusterer.best_event: same candidates, same scores
        st = cl._advance(story.shard, now)
        sf = cl.features(story, st)
        found = [(e, p) for e in cl.candidates(sf, st) if (p := cl.profiles.get(e)) is not None]
        if not found:
            return None, 0.0
        sems = sem_cosines(sf, [p for _, p in found])
        scored = []
        for (e, p), sem in zip(found, sems):
            f = pair_features(sf, p, cl.cfg, cl.hours(st, p, now), sem)
            scored.append((e, p, f, cl.score(sf, p, now, story.lang, st, sem)))
        top = 0
        for i, x in enumerate(scored):
            if x[3] > scored[top][3] or (x[3] == scored[top][3] and x[0] < scored[top][0]):
                top = i
        best, p, _f, best_score = scored[top]
        h = cl.hours(st, {"last": p["first"]}, now)
        feats = join_features(scored, top, h, cl.threshold)
        if keep is not None:
            keep.append((scored, top, h, cl.threshold))
        label = current["label"]
        right = None if label is None else labels.label.get(best) == label
        if right is not None:
            rows.append((feats, int(right), split_of(label)))
        if story.lang is not None and story.lang not in p.get("l", ()):  # cross-language: the score decides
            return (best if best_score >= cl.threshold else None), best_score
        return (best if decide(feats, best_score, right) else None), best_score

    cl.best_event = best_event
    pred: list[str | None] = []
    for story, label in zip(prep.stories, prep.gold):
        if story is None:
            pred.append(None)
            continue
        current["label"] = label
        event_id = stage.process(story).event_id
        labels.record(event_id, label)
        pred.append(event_id)
    return pred, rows


def _shipped(threshold: float) -> Decide:
    return lambda feats, s, right: s >= threshold


def _oracle(threshold: float) -> Decide:
    return lambda feats, s, right: (s >= threshold) if right is None else right


def _collect_task(args: tuple[str, Path | None, str, float]) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, dict]:
    spec, cache, state, th = args
    prep = load(spec, cache=cache)
    t0 = time.perf_counter()
    if state == "model":  # the states a fitted model's own decisions build (forked: _MODEL is set)
        model = _MODEL
        decide = lambda feats, s, right: model.prob(feats) >= th
    else:
        decide = _oracle(DEFAULT_CONFIG.threshold) if state == "oracle" else _shipped(DEFAULT_CONFIG.threshold)
    pred, rows = run(prep, decide)
    halves = {"tune": half_f1(pred, prep.gold, 0), "holdout": half_f1(pred, prep.gold, 1)}
    print(f"{prep.name} collect {state}: {len(rows)} rows {halves} ({time.perf_counter() - t0:.0f} s)",
          file=sys.stderr, flush=True)
    return (prep.name, np.asarray([r[0] for r in rows]), np.asarray([r[1] for r in rows]),
            np.asarray([r[2] for r in rows]), halves)


# --- models --------------------------------------------------------------------------------------

class Logistic:
    def __init__(self, w: np.ndarray) -> None:
        self.w = [round(float(v), 4) for v in w]  # as shipped in ClusterConfig.join_weights

    def prob(self, feats: list[float]) -> float:
        z = self.w[-1] + sum(w * x for w, x in zip(self.w, feats))
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def probs(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ np.asarray(self.w[:-1]) + self.w[-1])))


class Trees:
    """A fitted HistGradientBoostingClassifier, evaluated in plain Python from its node arrays (the
    form it would ship in: JSON lists, a few comparisons per tree, no scikit-learn at run time)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.base = float(np.ravel(model._baseline_prediction)[0])
        self.trees = [[(int(n["feature_idx"]), float(n["num_threshold"]), int(n["left"]), int(n["right"]),
                        bool(n["is_leaf"]), float(n["value"])) for n in predictors[0].nodes]
                      for predictors in model._predictors]

    def prob(self, feats: list[float]) -> float:
        z = self.base
        for nodes in self.trees:
            i = 0
            while True:
                f, th, left, right, leaf, value = nodes[i]
                if leaf:
                    z += value
                    break
                i = left if feats[f] <= th else right
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def probs(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, 1]


def fit(kind: str, x: np.ndarray, y: np.ndarray, sw: np.ndarray, l2: float) -> Any:
    if kind == "logistic":
        xb = np.hstack([x, np.ones((len(x), 1))])
        return Logistic(fit_logistic(xb, y.astype(float), sw, l2))
    from sklearn.ensemble import HistGradientBoostingClassifier

    m = HistGradientBoostingClassifier(max_depth=4, max_iter=100, learning_rate=0.1, random_state=0)
    m.fit(x, y, sample_weight=sw)
    return Trees(m)


def _auc(scores: np.ndarray, y: np.ndarray) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks over ties
    s_sorted = scores[order]
    i = 0
    while i < len(s_sorted):
        j = i
        while j + 1 < len(s_sorted) and s_sorted[j + 1] == s_sorted[i]:
            j += 1
        if j > i:
            ranks[order[i:j + 1]] = (i + j + 2) / 2.0
        i = j + 1
    pos = y == 1
    npos, nneg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - npos * (npos + 1) / 2) / (npos * nneg)) if npos and nneg else float("nan")


_MODEL: Any = None


def _cost(specs: list[str], cache: Path | None, stories: int = 2000) -> dict[str, Any]:
    """Microseconds a story for the join decision alone (features of the top candidate + a dot
    product), on the candidate lists the first ``stories`` stories of each file meet."""
    w = [0.01] * (len(JOIN_FEATURES) + 1)
    out: dict[str, Any] = {}
    for spec in specs:
        prep = load(spec, cache=cache)
        captured: list[tuple[list, int, float | None, float]] = []
        run(Prepared(prep.name, prep.stories[:stories], prep.gold[:stories]), _shipped(DEFAULT_CONFIG.threshold),
            captured)
        t0 = time.perf_counter()
        for _ in range(5):
            for scored, top, hours_first, threshold in captured:
                x = join_features(scored, top, hours_first, threshold)
                z = w[-1] + sum(a * b for a, b in zip(w, x))
                _ = 1.0 / (1.0 + math.exp(-z))
        us = (time.perf_counter() - t0) / (5 * max(1, len(captured))) * 1e6
        # the whole cluster stage with and without the join decision, alternated (a shared machine's
        # load hits both alike): ms a story, median of 3 rounds
        stories_n = prep.stories[:stories]
        n = max(1, sum(1 for x in stories_n if x is not None))
        stage_ms: dict[str, list[float]] = {"join": [], "threshold": []}
        configs = {"join": DEFAULT_CONFIG, "threshold": dataclasses.replace(DEFAULT_CONFIG, join_weights=())}
        for r in range(3):
            for name in (("join", "threshold") if r % 2 == 0 else ("threshold", "join")):
                t1 = time.process_time()
                run_clusterer(stories_n, config=configs[name])
                stage_ms[name].append(1000 * (time.process_time() - t1) / n)
        out[prep.name] = {"decisions": len(captured),
                          "mean_candidates": round(sum(len(c[0]) for c in captured) / max(1, len(captured)), 1),
                          "us_per_decision": round(us, 1),
                          "stage_cpu_ms_per_story": {k: round(sorted(v)[1], 3) for k, v in stage_ms.items()}}
    return out


def _rows(paths: str) -> tuple[list[str], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Rows of one or more collect runs (comma-separated: their union, file by file)."""
    names: list[str] = []
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    hs: list[np.ndarray] = []
    for path in paths.split(","):
        data = np.load(path)
        for i, name in enumerate(str(n) for n in data["names"]):
            x, y, h = data[f"x{i}"][:, : len(JOIN_FEATURES)], data[f"y{i}"], data[f"h{i}"]
            if name in names:
                j = names.index(name)
                xs[j], ys[j], hs[j] = np.vstack([xs[j], x]), np.concatenate([ys[j], y]), np.concatenate([hs[j], h])
            else:
                names.append(name)
                xs.append(x)
                ys.append(y)
                hs.append(h)
    return names, xs, ys, hs


def _tune_rows(paths: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tune rows, every file weighing the same in total."""
    _names, xs, ys, hs = _rows(paths)
    tx = np.vstack([x[h == 0] for x, h in zip(xs, hs)])
    ty = np.concatenate([y[h == 0] for y, h in zip(ys, hs)])
    n = [int((h == 0).sum()) for h in hs]
    sw = np.concatenate([np.full(k, len(ty) / (len(n) * max(1, k))) for k in n])
    return tx, ty, sw


def _eval_task(args: tuple[str, Path | None, float]) -> tuple[str, float, dict]:
    spec, cache, th = args
    prep = load(spec, cache=cache)
    t0 = time.perf_counter()
    model = _MODEL
    if isinstance(model, Logistic):  # the shipped code path: ClusterConfig.join_weights
        cfg = dataclasses.replace(DEFAULT_CONFIG, join_weights=tuple(model.w), join_threshold=th)
        pred = run_clusterer(prep.stories, config=cfg)
    else:
        pred, _ = run(prep, lambda feats, s, right: model.prob(feats) >= th)
    out = {"tune": half_f1(pred, prep.gold, 0), "holdout": half_f1(pred, prep.gold, 1)}
    print(f"{prep.name} threshold {th}: {out} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return prep.name, th, out


def main(argv: list[str] | None = None) -> int:
    global _MODEL
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("collect", "evaluate", "cost"))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--state", choices=("oracle", "shipped", "model"), default="oracle",
                    help="model: the decisions of a model fitted (--model) on --rows at --thresholds[0]")
    ap.add_argument("--rows", help="rows from collect (comma-separated: their union)")
    ap.add_argument("--model", choices=("logistic", "trees"), default="logistic")
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--thresholds", type=lambda s: tuple(float(x) for x in s.split(",")), default=(0.4, 0.5))
    ap.add_argument("--files", help="comma-separated indices into the suite (default all)")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    specs = suite_specs(args.data)
    if args.files:
        specs = [specs[int(i)] for i in args.files.split(",")]
    for spec in specs:
        load(spec, cache=args.cache)
    if args.command == "cost":
        print(orjson.dumps(_cost(specs, args.cache), option=orjson.OPT_INDENT_2).decode())
        return 0
    if args.command == "collect":
        if args.state == "model":
            _MODEL = fit(args.model, *_tune_rows(args.rows), args.l2)
        tasks = [(spec, args.cache, args.state, args.thresholds[0]) for spec in specs]
        if args.processes > 1:
            with Pool(args.processes) as pool:
                res = pool.map(_collect_task, tasks, chunksize=1)
        else:
            res = [_collect_task(t) for t in tasks]
        np.savez(args.out, names=np.asarray([r[0] for r in res]),
                 **{f"x{i}": r[1] for i, r in enumerate(res)}, **{f"y{i}": r[2] for i, r in enumerate(res)},
                 **{f"h{i}": r[3] for i, r in enumerate(res)})
        print(orjson.dumps({r[0]: r[4] for r in res}, option=orjson.OPT_INDENT_2).decode())
        return 0

    names, xs, ys, hs = _rows(args.rows)
    t0 = time.perf_counter()
    model = fit(args.model, *_tune_rows(args.rows), args.l2)
    fit_s = time.perf_counter() - t0
    offline = {}
    ip = JOIN_FEATURES.index("top_p")
    for name, x, y, h in zip(names, xs, ys, hs):
        ho = h == 1
        probs = model.probs(x[ho])
        offline[name] = {"rows_holdout": int(ho.sum()), "right_share": round(float(y[ho].mean()), 4),
                         "auc_model": round(_auc(probs, y[ho]), 4), "auc_score": round(_auc(x[ho][:, ip], y[ho]), 4)}
    print(orjson.dumps(offline).decode(), file=sys.stderr, flush=True)
    if args.model == "logistic":
        print("weights " + orjson.dumps(dict(zip((*JOIN_FEATURES, "bias"), (round(w, 3) for w in model.w)))).decode(),
              file=sys.stderr, flush=True)
    _MODEL = model
    tasks = [(spec, args.cache, th) for th in args.thresholds for spec in specs]
    if args.processes > 1:
        with Pool(args.processes) as pool:  # forked: the workers see _MODEL
            res = pool.map(_eval_task, tasks, chunksize=1)
    else:
        res = [_eval_task(t) for t in tasks]
    table: dict[str, dict[str, Any]] = {}
    for name, th, out in res:
        table.setdefault(str(th), {})[name] = out
    for t in table.values():
        for half in ("tune", "holdout"):
            t.setdefault("macro", {})[half] = round(sum(v[half] for k, v in t.items() if k != "macro") / len(specs), 4)
    best = max(table, key=lambda th: (table[th]["macro"]["tune"], th))
    out = {"model": args.model, "rows": args.rows, "fit_seconds": round(fit_s, 2), "offline_holdout": offline,
           "by_threshold": table, "chosen_threshold": float(best), "chosen": table[best]}
    if args.model == "logistic":
        out["weights"] = dict(zip((*JOIN_FEATURES, "bias"), (round(w, 4) for w in model.w)))
    text = orjson.dumps(out, option=orjson.OPT_INDENT_2).decode()
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
