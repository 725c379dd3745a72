"""Per-story clustering cost with few vs many live events, and memory of the live window.

Prints JSON. Live events are generated from the dev data (each story varied with a synthetic
name and new figures and re-dated inside the window) and added as separate events; then the same
query stories (best_event + add, as ClusterStage calls them) are timed against 1,000 and 50,000
live events. ``--memory N`` also builds N live single-story events (the worst case: every story its
own event) in a fresh process state and reports the clusterer's traced allocation and peak RSS.

    python bench/cluster_scaling.py [--data ../shared/data/cluster-dev.jsonl] [--sizes 1000 50000]
                                    [--queries 2000] [--repeats 3] [--memory 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from streams.core.clusterer import Clusterer
from streams.core.models import EnrichedStory, Story
from streams.core.pipeline import enrich

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cluster-dev.jsonl"
WINDOW = 3 * 86400.0
T0 = 1_700_000_000.0


def load(path: Path) -> list[EnrichedStory]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            story = Story(uri=row.get("uri", f"s{i}"), body_text=row["body_text"], headline=row.get("headline", ""))
            out.append(enrich(story, "lang"))
    return out


_SYL = ["ka", "ro", "mi", "tes", "van", "lor", "du", "pek", "sa", "zim", "bor", "nel", "qua", "fi", "ter"]


def _name(i: int) -> str:
    parts = []
    n = i + 1
    while n:
        n, r = divmod(n, len(_SYL))
        parts.append(_SYL[r])
    return "".join(parts).capitalize()


def vary(base: EnrichedStory, i: int, rng: random.Random) -> EnrichedStory:
    """A variant of a dev story: a synthetic name and figure, a shuffled sentence order."""
    sentences = list(base.sentences)
    rng.shuffle(sentences)
    extra = f"{_name(i)} said {rng.randint(100, 99999)} people were affected."
    story = Story(uri=f"{base.story.uri}#v{i}", body_text=" ".join(sentences), headline=base.headline)
    return EnrichedStory(story=story, lang=base.lang, headline=f"{base.headline} {_name(i)}",
                         sentences=tuple(sentences) + (extra,), text_hash=f"v{i}", shard=base.shard)


def build(stories: list[EnrichedStory], n_events: int, seed: int = 7) -> tuple[Clusterer, dict, float]:
    rng = random.Random(seed)
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=WINDOW)
    span = WINDOW * 0.5
    for i in range(n_events):
        s = vary(stories[i % len(stories)], i, rng)
        cl.add(f"ev-{i:07d}", s, T0 + span * i / max(1, n_events))
    return cl, profiles, T0 + span


def time_queries(cl: Clusterer, queries: list[EnrichedStory], now: float) -> tuple[float, float]:
    """(wall ms, CPU ms) per story for best_event + add."""
    gc.collect()
    t = time.perf_counter()
    c = time.process_time()
    for j, s in enumerate(queries):
        event_id, _ = cl.best_event(s, now)
        cl.add(event_id or f"q-{j:07d}", s, now)
    n = len(queries)
    return (time.perf_counter() - t) / n * 1000.0, (time.process_time() - c) / n * 1000.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 50000])
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory", type=int, default=0, help="also measure N live single-story events")
    args = ap.parse_args(argv)
    stories = load(args.data)
    rng = random.Random(11)
    # query stories: dev stories varied differently (new names), so most found new events
    query_base = [vary(stories[rng.randrange(len(stories))], 10_000_000 + j, rng) for j in range(args.queries)]
    # warm caches (stemmer, wordfreq) so both sizes pay the same
    warm, _, now = build(stories, 200)
    time_queries(warm, query_base, now)
    del warm
    cfg = Clusterer({}, window_seconds=WINDOW).cfg
    result: dict = {"queries": args.queries, "repeats": args.repeats, "ms_per_story": {},
                    "candidates": cfg.candidates, "posting_cap": cfg.posting_cap, "posting_budget": cfg.posting_budget}
    wall: dict[int, list[float]] = {size: [] for size in args.sizes}
    cpu: dict[int, list[float]] = {size: [] for size in args.sizes}
    for _ in range(args.repeats):  # sizes interleaved, so machine noise hits them alike
        for size in args.sizes:
            cl, _profiles, now = build(stories, size)
            w, c = time_queries(cl, query_base, now)
            wall[size].append(w)
            cpu[size].append(c)
            del cl, _profiles
    for size in args.sizes:
        result["ms_per_story"][str(size)] = {
            "wall_median": round(statistics.median(wall[size]), 4),
            "cpu_median": round(statistics.median(cpu[size]), 4),
            "wall_runs": [round(r, 4) for r in wall[size]],
        }
    if len(args.sizes) >= 2:
        lo, hi = min(args.sizes), max(args.sizes)
        result["ratio_wall"] = round(statistics.median(wall[hi]) / statistics.median(wall[lo]), 3)
        result["ratio_cpu"] = round(statistics.median(cpu[hi]) / statistics.median(cpu[lo]), 3)
    if args.memory:
        gc.collect()
        tracemalloc.start()
        _cl, profiles, _ = build(stories, args.memory)
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["memory"] = {
            "live_events": len(profiles),
            "traced_mib": round(current / 2**20, 1),
            "bytes_per_event": round(current / max(1, len(profiles))),
            "profile_json_bytes_mean": round(statistics.mean(len(json.dumps(p, separators=(",", ":")))
                                                             for p in list(profiles.values())[:2000])),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
