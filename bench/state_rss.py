"""Memory of the core's state in an endless stream: RSS and table sizes as stories go by.

    PYTHONPATH=. python bench/state_rss.py [--dev ../shared/data/cluster-dev.jsonl] [--stories 100000]
        [--per-minute 4] [--every 10000] [--compare]

Generated ~3 KB stories (bench/corpus.py) at ``--per-minute`` simulated stories a minute (4: 100k
stories span 17 days, past the 3-day event window and the 7-day uri retention) go through one
``Pipeline`` — the very stages and mappings the worker runs, over dicts (Faust's memory tables).
Every ``--every`` stories: resident memory (VmRSS after a GC) and the record count of each table.
``--compare`` also runs the same stream with the lifetimes off (nothing but clustering profiles
expires — the state before records had lifetimes). Each run is its own process. Prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _run(dev: str, stories: int, per_minute: float, every: int, lifetimes: bool, out: mp.Queue) -> None:
    root = Path(__file__).resolve().parent
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(root.parent))
    import orjson
    from corpus import generate, load_rows

    from streams.config import Settings
    from streams.core.pipeline import Pipeline
    from streams.core.validate import decode_story

    settings = Settings()
    pipeline = Pipeline(window_days=settings.event_window_days, uri_retention_days=settings.uri_retention_days,
                        limits=settings.work_limits)
    if not lifetimes:
        pipeline.cluster_stage.max_expiries = 0  # idempotency, uri and event records never go
    rows = load_rows(Path(dev))
    points = []
    start = time.perf_counter()
    first_time = None
    for n, doc in enumerate(generate(rows, stories, stories_per_minute=per_minute), start=1):
        doc.pop("_gold", None)
        story = decode_story(orjson.dumps(doc), arrival=0.0)
        first_time = story.versioncreated if first_time is None else first_time
        pipeline.process_story(story)
        if n % every == 0 or n == stories:
            gc.collect()
            points.append({
                "stories": n,
                "stream_days": round((story.versioncreated - first_time) / 86400.0, 2),
                "rss_mib": round(rss_mib(), 1),
                "events": len(pipeline.events),
                "profiles": len(pipeline.profiles),
                "assignments": len(pipeline.assignments),
                "uri_events": len(pipeline.uri_events),
                "seconds": round(time.perf_counter() - start, 1),
            })
    out.put({"lifetimes": lifetimes, "points": points})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--per-minute", type=float, default=4.0)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--compare", action="store_true", help="also run with the lifetimes off")
    args = parser.parse_args()
    if not args.dev.is_file():
        raise SystemExit(f"error: dev file {args.dev} not found (--dev)")
    ctx = mp.get_context("spawn")
    runs = []
    for lifetimes in ((True, False) if args.compare else (True,)):
        queue: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(str(args.dev), args.stories, args.per_minute, args.every, lifetimes,
                                              queue))
        proc.start()
        runs.append(queue.get())
        proc.join()
    from streams.config import Settings

    s = Settings()
    print(json.dumps({"stories": args.stories, "per_minute": args.per_minute, "window_days": s.event_window_days,
                      "uri_retention_days": s.uri_retention_days, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
