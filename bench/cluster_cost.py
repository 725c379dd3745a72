"""Per-story cost of the cluster stage with and without the semantic model, alternated in one process.

    python bench/cluster_cost.py [--data ../shared/data] [--stories 3000] [--rounds 3]

Each round runs the pipeline's cluster stage over the same enriched stories (the first N of every
file of the dev suite) once with the semantic signal (``ClusterConfig(semantic=True)``) and once
without it (``semantic=False``: the weights fitted without it), in alternating order, so that the
shared machine's load hits both alike. Prints JSON: median ms/story of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from streams.core.clusterer import DEFAULT_CONFIG, ClusterConfig
from streams.eval.clustering import DEFAULT_DATA, load, run_clusterer, suite_specs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--stories", type=int, default=3000, help="first N stories of each file")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache", type=Path, help="keep enriched stories here between runs")
    args = ap.parse_args(argv)
    preps = [load(spec, cache=args.cache) for spec in suite_specs(args.data)]
    configs = {"semantic": DEFAULT_CONFIG, "plain": ClusterConfig(semantic=False)}
    times: dict[str, dict[str, list[float]]] = {k: {p.name: [] for p in preps} for k in configs}
    for r in range(args.rounds):
        order = list(configs) if r % 2 == 0 else list(reversed(configs))
        for prep in preps:
            stories = prep.stories[: args.stories]
            n = sum(1 for s in stories if s is not None)
            for name in order:
                t0 = time.perf_counter()
                run_clusterer(stories, config=configs[name])
                times[name][prep.name].append(1000 * (time.perf_counter() - t0) / n)
    out = {"stories_per_file": args.stories, "rounds": args.rounds, "load_average": os.getloadavg()[0], "files": {}}
    for prep in preps:
        sem = statistics.median(times["semantic"][prep.name])
        plain = statistics.median(times["plain"][prep.name])
        out["files"][prep.name] = {"ms_per_story_semantic": round(sem, 3), "ms_per_story_plain": round(plain, 3),
                                   "ratio": round(sem / plain, 3)}
    sem = statistics.mean(v["ms_per_story_semantic"] for v in out["files"].values())
    plain = statistics.mean(v["ms_per_story_plain"] for v in out["files"].values())
    out["mean"] = {"ms_per_story_semantic": round(sem, 3), "ms_per_story_plain": round(plain, 3),
                   "ratio": round(sem / plain, 3)}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
