"""Garbage-collector pauses over the worker's state, with and without ``streams.runtime.gc_policy``.

    PYTHONPATH=. python bench/gc_pause.py [--stories 10000] [--every 2500] [--tick-stories 500] [--modes default,policy]

Generated ~3 KB stories (bench/corpus.py, 4 a simulated minute) go through one ``Pipeline`` (the
stages and mappings a worker runs, over dicts), once per mode, each mode in its own process:

* ``default``: CPython's collector as it comes;
* ``policy``: :class:`streams.runtime.gc_policy.GcPolicy` ticks every ``--tick-stories`` stories
  (500 = the worker's 10 s timer at 50 stories/s).

Every collection the interpreter runs while the stories go through is timed in CPU time of the
process (``gc.callbacks``; a pass holds the interpreter, so on an idle core this is its pause):
per generation, count, total and longest pause, and the GC time per story; every ``--every``
stories, the tracked objects and the duration of one full pass over everything (what an
automatic full pass costs at that size) and, in the policy mode, of a full pass that skips
the frozen objects (what the policy's automatic full passes cost). Prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"


def _timed_full_pass() -> float:
    start = time.process_time()
    gc.collect()
    return round(1000 * (time.process_time() - start), 1)


def _run(dev: str, stories: int, every: int, tick_stories: int, mode: str, out: mp.Queue) -> None:
    root = Path(__file__).resolve().parent
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(root.parent))
    import orjson
    from corpus import generate, load_rows

    from streams.config import Settings
    from streams.core.pipeline import Pipeline
    from streams.core.validate import decode_story
    from streams.runtime.gc_policy import GcPolicy

    settings = Settings()
    pipeline = Pipeline(window_days=settings.event_window_days, uri_retention_days=settings.uri_retention_days,
                        limits=settings.work_limits)
    docs = [orjson.dumps({k: v for k, v in d.items() if k != "_gold"})
            for d in generate(load_rows(Path(dev)), stories, stories_per_minute=4)]
    # the policy's full pass every hour is left out: at 50 stories/s it is one per 180,000 stories
    policy = GcPolicy(freeze_seconds=1, full_seconds=float("inf")) if mode == "policy" else None
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.process_time())
        elif started:
            pauses[info["generation"]].append(1000 * (time.process_time() - started.pop()))

    points = []
    gc.collect()
    if policy is not None:
        policy.tick()
    gc.callbacks.append(on_gc)
    t0 = time.process_time()
    for n, raw in enumerate(docs, start=1):
        pipeline.process_story(decode_story(raw, arrival=0.0))
        if policy is not None and n % tick_stories == 0:
            policy.tick()
        if n % every == 0 or n == stories:
            gc.callbacks.remove(on_gc)
            point = {"stories": n, "tracked_objects": len(gc.get_objects())}
            if policy is not None:
                point["frozen_objects"] = gc.get_freeze_count()
                point["full_pass_skipping_frozen_ms"] = statistics.median(_timed_full_pass() for _ in range(3))
                gc.unfreeze()
            point["full_pass_ms"] = statistics.median(_timed_full_pass() for _ in range(3))
            if policy is not None:
                gc.freeze()
            points.append(point)
            gc.callbacks.append(on_gc)
    cpu = time.process_time() - t0
    gc.callbacks.remove(on_gc)
    during = {}
    for gen, ms in pauses.items():
        s = sorted(ms)
        during[f"gen{gen}"] = {
            "count": len(s), "total_ms": round(sum(s), 1), "max_ms": round(s[-1], 1) if s else None,
            "p99_ms": round(s[int(0.99 * (len(s) - 1))], 2) if s else None,
        }
    total_gc = sum(sum(v) for v in pauses.values())
    out.put({"mode": mode, "stories": stories, "cpu_s": round(cpu, 1),
             "gc_ms_per_story": round(total_gc / stories, 3),
             "collections_while_processing": during, "points": points})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dev", default=str(DEFAULT_DEV))
    p.add_argument("--stories", type=int, default=10000)
    p.add_argument("--every", type=int, default=2500)
    p.add_argument("--tick-stories", type=int, default=500)
    p.add_argument("--modes", default="default,policy")
    args = p.parse_args()
    results = []
    ctx = mp.get_context("spawn")
    for mode in args.modes.split(","):
        q: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(args.dev, args.stories, args.every, args.tick_stories, mode, q))
        proc.start()
        results.append(q.get())
        proc.join()
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"bench": "gc_pause", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                      "tick_stories": args.tick_stories, "results": results}, indent=2))


if __name__ == "__main__":
    main()
