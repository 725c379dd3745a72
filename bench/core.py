"""Core benchmark: replay throughput on ~3 KB stories, per-stage cost, and peak RSS.

Prints one JSON object. Usage:

    python bench/core.py [--dev ../shared/data/cluster-dev.jsonl] [--stories 5000] [--runs 3]
    python bench/core.py --rss-stories 100000     # peak RSS with that many live stories in the window
    python bench/core.py --compare main --runs 5  # this checkout's core against git revision main's
    python bench/core.py --compare main --file ../shared/data/cluster-dev-stream.jsonl   # on real articles

The stories are generated from the dev file (bench/corpus.py); each run uses a fresh pipeline.
What is timed is ``Pipeline.process_story`` — exactly what ``wirestream replay`` runs per story —
with the JSON decoding included. Per stage: ``ms_per_story_by_stage`` times each stage alone over
all the stories; ``ms_per_story_in_loop`` times the steps inside one replay loop (these add up to
its ``wall``; the isolated figures come out lower, see ``stage_costs_in_loop``).

To time another checkout's core with this script: ``PYTHONPATH=/path/to/checkout python bench/core.py``.
``--compare REV`` checks REV out in a temporary git worktree and runs replay passes of REV's core
and this checkout's, alternating (REV first), each pass in a process of its own after a warm-up:
CPU ms/story per pass, the medians, the ratio of the medians and of each pair, and the load average
before and after. (Two cores in one process do not time alike: loaded side by side, the one
loaded second ran ~10% slower with the very same code.)
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate, load_rows

from streams.core import langid, normalize
from streams.core.models import AssignedStory
from streams.core.pipeline import ClusterStage, EventStage, Pipeline, enrich
from streams.core.validate import decode_story

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def throughput(raws: list[bytes]) -> dict[str, float]:
    pipeline = Pipeline()
    gc.collect()
    t0 = time.perf_counter()
    for raw in raws:
        pipeline.process_story(decode_story(raw, arrival=0.0))
    elapsed = time.perf_counter() - t0
    return {"stories_per_s": len(raws) / elapsed, "ms_per_story": 1000 * elapsed / len(raws)}


def stage_costs(raws: list[bytes]) -> dict[str, float]:
    """Mean ms per story of each step, measured separately over the same stories (isolated passes).

    Each stage runs alone over all the stories, with the caches the earlier passes warmed: these
    figures are lower than the same stages inside the replay loop (see ``stage_costs_in_loop``).
    """
    stories = [decode_story(raw, arrival=0.0) for raw in raws]
    t0 = time.perf_counter()
    for raw in raws:
        decode_story(raw, arrival=0.0)
    t_decode = time.perf_counter() - t0
    t0 = time.perf_counter()
    cleans = [normalize.clean_story(s.headline, s.body_text) for s in stories]
    t_norm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c, s in zip(cleans, stories):
        langid.detect_language(c.headline, c.body, hint=s.language_hint)
    t_lang = time.perf_counter() - t0
    enriched = [enrich(s) for s in stories]
    profiles: dict = {}
    cluster = ClusterStage(profiles, {}, {})
    t0 = time.perf_counter()
    assignments = [cluster.process(e) for e in enriched]
    t_cluster = time.perf_counter() - t0
    events = EventStage({})
    t0 = time.perf_counter()
    for e, a in zip(enriched, assignments):
        events.process(AssignedStory(e, a))
    t_event = time.perf_counter() - t0
    n = len(raws)
    return {k: round(1000 * v / n, 4) for k, v in
            {"decode_validate": t_decode, "normalize": t_norm, "langid": t_lang,
             "cluster": t_cluster, "event_novelty": t_event}.items()}


def stage_costs_in_loop(raws: list[bytes]) -> dict[str, float]:
    """Mean ms per story of each step of ``Pipeline.process_story``, timed inside one replay loop.

    These add up to the loop's wall time (``wall``): the isolated figures do not, because a stage
    interleaved with the others runs with colder CPU caches (and the garbage collector's passes
    over the growing state land in whichever stage allocates).
    """
    pipeline = Pipeline()
    t = {"decode_validate": 0.0, "enrich": 0.0, "cluster": 0.0, "event_novelty": 0.0}
    clock = time.perf_counter
    gc.collect()
    start = clock()
    for raw in raws:
        t0 = clock()
        story = decode_story(raw, arrival=0.0)
        t1 = clock()
        enriched = enrich(story, pipeline.shard_by)
        t2 = clock()
        assignment = pipeline.cluster_stage.process(enriched)
        t3 = clock()
        pipeline.event_stage.process(AssignedStory(enriched, assignment))
        t4 = clock()
        t["decode_validate"] += t1 - t0
        t["enrich"] += t2 - t1
        t["cluster"] += t3 - t2
        t["event_novelty"] += t4 - t3
    t["wall"] = clock() - start
    n = len(raws)
    return {k: round(1000 * v / n, 4) for k, v in t.items()}


def one_pass(raws: list[bytes]) -> dict[str, float]:
    """CPU ms/story of a replay pass on a fresh pipeline, after a 200-story warm-up (models and
    word caches load) on another fresh one."""
    cpu_pass(raws[:200], Pipeline, decode_story)
    return {"cpu_ms_per_story": cpu_pass(raws, Pipeline, decode_story)}


def cpu_pass(raws: list[bytes], pipeline_cls: Any, decode: Any) -> float:
    """CPU ms/story of one replay pass on a fresh pipeline."""
    pipeline = pipeline_cls()
    gc.collect()
    t0 = time.process_time()
    for raw in raws:
        pipeline.process_story(decode(raw, arrival=0.0))
    return 1000 * (time.process_time() - t0) / len(raws)


def compare(args: argparse.Namespace, passes: int) -> dict[str, Any]:
    """Passes of REV's core and this checkout's, alternating, each in a process of its own (two
    cores in one process do not time alike: the one loaded second ran ~10% slower, same code)."""
    root = Path(__file__).resolve().parents[1]
    rev = args.compare
    child = [sys.executable, str(Path(__file__).resolve()), "--one-pass", "--stories", str(args.stories),
             "--bytes", str(args.bytes), "--dev", str(args.dev)] + (["--file", str(args.file)] if args.file else [])
    load_before = os.getloadavg()
    ms: dict[str, list[float]] = {rev: [], "this": []}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "rev"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(tree), rev],
                       check=True, capture_output=True)
        try:
            for _ in range(passes):
                for name, path in ((rev, tree), ("this", root)):
                    out = subprocess.run(child, check=True, capture_output=True, text=True, cwd=root,
                                         env={**os.environ, "PYTHONPATH": str(path)}).stdout
                    ms[name].append(round(orjson.loads(out.splitlines()[-1])["cpu_ms_per_story"], 4))
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=False)
    medians = {name: statistics.median(v) for name, v in ms.items()}
    return {
        "bench": "core_compare", "against": rev, "stories": args.stories, "passes": passes,
        "source": str(args.file) if args.file else "generated",
        "cpu_ms_per_story": ms,
        "cpu_ms_per_story_median": medians,
        "stories_per_cpu_s_median": {name: round(1000 / v, 1) for name, v in medians.items()},
        "speedup_median": round(medians[rev] / medians["this"], 3),
        "speedup_per_pair": [round(a / b, 3) for a, b in zip(ms[rev], ms["this"])],
        "loadavg_before_after": [round(x, 2) for x in load_before + os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--stories", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bytes", type=int, default=3000)
    parser.add_argument("--compare", metavar="REV", help="instead: time REV's core and this one, alternating")
    parser.add_argument("--one-pass", action="store_true", help=argparse.SUPPRESS)  # a --compare pass
    parser.add_argument("--file", type=Path, help="with --compare: the first --stories lines of this JSONL file "
                        "(real articles) instead of generated stories")
    parser.add_argument("--rss-stories", type=int, default=0,
                        help="instead: replay this many stories inside one event window and report peak RSS")
    args = parser.parse_args()
    rows = load_rows(args.dev)

    if args.rss_stories:
        # 100k stories inside the window: ~23 stories per minute over 3 days.
        per_minute = args.rss_stories / (3 * 24 * 60) * 1.05
        base_rss = peak_rss_mib()
        pipeline = Pipeline()
        t0 = time.perf_counter()
        for story in generate(rows, args.rss_stories, target_bytes=args.bytes, stories_per_minute=per_minute):
            pipeline.process_story(decode_story(orjson.dumps(story), arrival=0.0))
        elapsed = time.perf_counter() - t0
        print(orjson.dumps({
            "bench": "core_rss", "live_stories": args.rss_stories, "events": len(pipeline.events),
            "live_profiles": len(pipeline.profiles), "peak_rss_mib": round(peak_rss_mib(), 1),
            "rss_before_mib": round(base_rss, 1), "stories_per_s": round(args.rss_stories / elapsed, 1),
            "target_peak_rss_mib": 1536,
        }).decode())
        return

    if args.file and (args.compare or args.one_pass):
        raws = [line for line in args.file.read_bytes().splitlines() if line.strip()][: args.stories]
    else:
        raws = [orjson.dumps(s) for s in generate(rows, args.stories, target_bytes=args.bytes)]
    if args.one_pass:
        print(orjson.dumps(one_pass(raws)).decode())
        return
    if args.compare:
        print(orjson.dumps(compare(args, args.runs)).decode())
        return
    mean_bytes = statistics.mean(len(r) for r in raws)
    runs = [throughput(raws) for _ in range(args.runs)]
    rates = [r["stories_per_s"] for r in runs]
    print(orjson.dumps({
        "bench": "core_throughput",
        "stories": args.stories,
        "mean_story_bytes": round(mean_bytes),
        "runs": args.runs,
        "stories_per_s_median": round(statistics.median(rates), 1),
        "stories_per_s_runs": [round(r, 1) for r in rates],
        "target_stories_per_s": 1500,
        "ms_per_story_by_stage": stage_costs(raws[: min(2000, len(raws))]),
        "ms_per_story_in_loop": stage_costs_in_loop(raws),
        "langdetect_engine": langid.engine_name() if hasattr(langid, "engine_name") else "unknown",
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }).decode())


if __name__ == "__main__":
    main()
