"""Oracle upper bounds on the shipped clusterer: how far could a better decision rule go?

    python bench/cluster_oracle.py [--data ../shared/data] [--cache DIR] [--modes shipped,join,candidates,window]
                                   [--processes 2] [--out FILE.json]

Each dev-suite file (``streams.eval.clustering.SUITE``) is streamed in file order through the
pipeline's own ``ClusterStage`` (shipped ``DEFAULT_CONFIG``, the semantic model when installed, the
3-day window; duplicates and new versions of a known uri handled as the stage does). Only the
join-or-found decision (``Clusterer.best_event``) is replaced, by an oracle that knows the story's
gold label and the gold labels of the stories *it* put in each predicted event: the state (profiles,
index, centroids) is built from the oracle's own decisions, not from gold events, so each figure is
what a single-pass clusterer making those decisions would have scored.

An event's label is the majority gold label of the labelled stories in it so far. Modes:

* ``shipped`` — the threshold rule (top-scored candidate if its score reaches the threshold): the
  shipped decision when these bounds were measured; the learned join decision that replaced it
  since (``ClusterConfig.join_weights``, ``bench/fit_join.py``) is measured by ``fit_join.py``.
  It reproduced ``wirestream eval clustering --suite`` of that clusterer: the check that this script is right.
* ``join`` — perfect join decision on the shipped ranking: join the top-scored candidate iff its
  label is the story's, else found a new event. Bounds ANY threshold, adaptive threshold or
  join-or-found rule over the shipped score and ranking.
* ``candidates`` — perfect choice among the index's candidates (the ``candidates`` events scored):
  join the best-scored candidate whose label is the story's. Bounds any re-ranking of the candidates.
* ``window`` — perfect retrieval within the window: join a live event of the story's shard whose
  label is the story's (the best-scored candidate if one is, else the most recently updated such
  event). Bounds a single-pass clusterer with this window, these shards and these stories.

Unlabelled stories (no gold) take the shipped decision in every mode. Prints JSON: per file and
mode, B-cubed P/R/F1 (``streams.eval.clustering.score``), events predicted, and how many
decisions the oracle made differently from the shipped rule on the same state (joins the shipped
rule missed, joins it made wrongly), and how well the top candidate's score separates a right
top candidate from a wrong one on that state (``top_candidate``: ROC AUC, right ones below the
threshold, wrong ones at or above it). Run it under ``nice -n 19``: one mode over the suite costs
what one ``wirestream eval clustering --suite`` does (~7 min on a quiet 2-core machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import orjson

from streams.core.clusterer import DEFAULT_CONFIG, sem_cosines
from streams.core.pipeline import ClusterStage
from streams.eval.clustering import DEFAULT_DATA, Prepared, load, score, suite_specs

MODES = ("shipped", "join", "candidates", "window")


class _Oracle:
    """The majority gold label of every predicted event, kept from the decisions actually made."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {}
        self.label: dict[str, Any] = {}  # event -> majority label
        self.events_of: dict[Any, dict[str, None]] = {}  # label -> events whose majority it is

    def record(self, event_id: str, label: Any) -> None:
        if label is None:
            return
        c = self.counts.setdefault(event_id, Counter())
        c[label] += 1
        new = c.most_common(1)[0][0]
        old = self.label.get(event_id)
        if new != old:
            if old is not None:
                self.events_of[old].pop(event_id, None)
            self.label[event_id] = new
            self.events_of.setdefault(new, {})[event_id] = None


def _separation(tops: list[tuple[float, bool]], threshold: float) -> dict[str, Any]:
    """How well the top candidate's score tells a right top candidate from a wrong one: ROC AUC
    (Mann-Whitney, ties half), and the two kinds of error the threshold makes."""
    pos = sorted(s for s, ok in tops if ok)
    neg = sorted(s for s, ok in tops if not ok)
    auc = None
    if pos and neg:
        from bisect import bisect_left, bisect_right

        wins = sum(bisect_left(neg, s) + 0.5 * (bisect_right(neg, s) - bisect_left(neg, s)) for s in pos)
        auc = round(wins / (len(pos) * len(neg)), 4)
    return {"right": len(pos), "wrong": len(neg), "auc": auc,
            "right_below_threshold": sum(1 for s in pos if s < threshold),
            "wrong_at_or_above_threshold": sum(1 for s in neg if s >= threshold)}


def run(prep: Prepared, mode: str) -> dict[str, Any]:
    stage = ClusterStage({}, {}, {}, window_days=3.0, config=DEFAULT_CONFIG)
    cl = stage.clusterer
    oracle = _Oracle()
    current: dict[str, Any] = {"label": None}
    diff = Counter()
    tops: list[tuple[float, bool]] = []  # (top candidate's score, is it the story's event), labelled stories

    def best_event(story, now):  # replaces Clusterer.best_event: same candidates, same scores
        st = cl._advance(story.shard, now)
        sf = cl.features(story, st)
        found = [(e, p) for e in cl.candidates(sf, st) if (p := cl.profiles.get(e)) is not None]
        sems = sem_cosines(sf, [p for _, p in found])
        scored = [(e, cl.score(sf, p, now, story.lang, st, sem)) for (e, p), sem in zip(found, sems)]
        best, best_score = None, 0.0
        for event_id, s in scored:
            if s > best_score or (s == best_score and best is not None and event_id < best):
                best, best_score = event_id, s
        shipped = best if best is not None and best_score >= cl.threshold else None
        label = current["label"]
        if label is not None and best is not None:
            right_top = oracle.label.get(best) == label
            tops.append((best_score, right_top))
            if not right_top and any(oracle.label.get(e) == label for e, _ in scored):
                diff["right_event_among_candidates_not_top"] += 1
        if mode == "shipped" or label is None:
            return shipped, best_score
        right = [(e, s) for e, s in scored if oracle.label.get(e) == label]
        if mode == "join":
            choice = best if best is not None and oracle.label.get(best) == label else None
        elif right:  # candidates / window: the best-scored right candidate
            choice = min(right, key=lambda es: (-es[1], es[0]))[0]
        elif mode == "window":
            live = [e for e in oracle.events_of.get(label, ()) if (p := cl.profiles.get(e)) is not None
                    and p["shard"] == story.shard]
            choice = max(live, key=lambda e: cl.profiles[e]["q"]) if live else None
            if choice is None and any(e in cl.profiles for e in oracle.events_of.get(label, ())):
                diff["right_event_only_in_another_shard"] += 1
        else:
            choice = None
        if choice != shipped:
            if shipped is None:
                diff["joined_where_shipped_founds"] += 1
            elif choice is None:
                diff["founded_where_shipped_joins_wrongly"] += 1
            else:
                diff["other_event_than_shipped"] += 1
        return choice, best_score

    cl.best_event = best_event
    pred: list[str | None] = []
    t0 = time.perf_counter()
    for story, label in zip(prep.stories, prep.gold):
        if story is None:
            pred.append(None)
            continue
        current["label"] = label
        event_id = stage.process(story).event_id
        oracle.record(event_id, label)
        pred.append(event_id)
    s = score(pred, prep.gold)
    return {"file": prep.name, "mode": mode, "bcubed": s["bcubed"], "events": s["clusters"]["predicted"],
            "gold_events": s["clusters"]["gold"], "decisions_unlike_shipped": dict(diff),
            "top_candidate": _separation(tops, cl.threshold),
            "seconds": round(time.perf_counter() - t0, 1)}


def _task(args: tuple[str, Path | None, str]) -> dict[str, Any]:
    spec, cache, mode = args
    result = run(load(spec, cache=cache), mode)
    print(f"{result['file']} {mode}: {result['bcubed']} ({result['seconds']} s)", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, help="keep enriched stories here between runs")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated, of: " + ", ".join(MODES))
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    if unknown := [m for m in modes if m not in MODES]:
        print(f"error: unknown mode(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    specs = suite_specs(args.data)
    missing = sorted({s.removesuffix(":headlines") for s in specs} - {s for s in specs if Path(s).is_file()})
    if missing:
        print(f"error: the dev suite is not in {args.data} (missing {', '.join(missing)})", file=sys.stderr)
        return 2
    for spec in specs:  # fill the cache once, before the workers read it
        load(spec, cache=args.cache)
    tasks = [(spec, args.cache, mode) for spec in specs for mode in modes]
    if args.processes > 1:
        with Pool(args.processes) as pool:
            results = pool.map(_task, tasks, chunksize=1)
    else:
        results = [_task(t) for t in tasks]
    table: dict[str, dict[str, Any]] = {}
    for r in results:
        table.setdefault(r.pop("file"), {})[r.pop("mode")] = r
    macro = {m: round(sum(table[f][m]["bcubed"]["f1"] for f in table) / len(table), 4) for m in modes}
    out = orjson.dumps({"config": "shipped DEFAULT_CONFIG, window 3 days, shard by language",
                        "files": table, "macro_f1": macro}, option=orjson.OPT_INDENT_2).decode()
    print(out)
    if args.out:
        args.out.write_text(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
