"""``wirestream`` under tracemalloc, for finding where a worker's memory goes (bench only).

    BENCH_TRACE_DIR=/tmp/trace python bench/traced_worker.py worker --broker ... [worker options]

Runs the CLI exactly as ``python -m streams.cli`` does, with ``tracemalloc`` started first
(``BENCH_TRACEMALLOC_FRAMES`` frames a traceback, default 12), or with ``BENCH_TRACE_LAZY=1``
only from the first dump on (the worker runs at full speed until then, and the later dumps'
``since_first`` is what was allocated since and is still alive). A thread watches
``$BENCH_TRACE_DIR`` for ``<label>.request`` files (``bench/state_rss.py --trace`` writes one at
every sample) and answers each with ``<label>.json``: traced and resident memory, the live
objects by type (the collector's generations *and* the frozen ones of
``streams/runtime/gc_policy.py``) and the allocation diffs by traceback against the previous dump
and the first. Nothing of this is in the product: the worker only pays for it here.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

FILTERS = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
           tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"), tracemalloc.Filter(False, "<unknown>")]


FRAMES = int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "12"))
# BENCH_TRACE_FROM=N: object counts only until the dump labelled N (stories), tracemalloc from it on
# BENCH_TRACE_QUIET=1: no object counts at the dumps (the thaw/freeze for them can let a full
# collection run), only the last dump's probe
QUIET = bool(os.environ.get("BENCH_TRACE_QUIET"))
TRACE_FROM = int(os.environ.get("BENCH_TRACE_FROM") or (1 if os.environ.get("BENCH_TRACE_LAZY") else 0))


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _object_counts() -> tuple[collections.Counter, int]:
    """Live container objects by type name, frozen ones included (gc.get_objects skips the
    permanent generation, so it is thawed for the count and frozen again: nothing is collected
    in between unless a collection happens to run on another thread)."""
    frozen = gc.get_freeze_count()
    if frozen:
        gc.unfreeze()
    try:
        counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
    finally:
        if frozen:
            gc.freeze()
    return counts, frozen


def _stats(diff: list, top: int) -> list[dict]:
    out = []
    for stat in diff[:top]:
        frames = [f"{f.filename.rsplit('site-packages/', 1)[-1]}:{f.lineno}" for f in stat.traceback]
        out.append({"size_diff_kib": round(stat.size_diff / 1024, 1), "count_diff": stat.count_diff,
                    "size_kib": round(stat.size / 1024, 1), "count": stat.count, "traceback": frames})
    return out


def _label_number(label: str) -> int:
    return int(label) if label.isdigit() else 0


def _answer(folder: Path, label: str, report: dict) -> None:
    tmp = folder / f"{label}.json.tmp"
    tmp.write_text(json.dumps(report, indent=1))
    tmp.rename(folder / f"{label}.json")


def _collect_probe() -> dict:
    """What a full collection (frozen objects too) and glibc's malloc_trim would give back now —
    run once, at the last dump, as it changes what the worker holds."""
    import ctypes

    watched = ("Event", "ConsumerMessage", "ConsumerRecord", "Future", "Task")
    before = _rss_mib()
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    alive_before = collections.Counter(n for n in (type(o).__name__ for o in gc.get_objects()) if n in watched)
    collected = gc.collect()
    alive_after = collections.Counter(n for n in (type(o).__name__ for o in gc.get_objects()) if n in watched)
    after_gc = _rss_mib()
    gc.freeze()
    trimmed = ctypes.CDLL("libc.so.6").malloc_trim(0)
    return {"rss_before_mib": round(before, 1), "frozen_before": frozen, "collected": collected,
            "alive_before": dict(alive_before), "alive_after": dict(alive_after),
            "rss_after_gc_mib": round(after_gc, 1), "malloc_trim": trimmed, "rss_after_trim_mib": round(_rss_mib(), 1)}


def _watch(folder: Path, top: int) -> None:
    first = previous = None
    counts_first = counts_prev = None
    while True:
        for request in sorted(folder.glob("*.request"), key=lambda p: p.stat().st_mtime):
            label = request.stem
            started = time.perf_counter()
            probe = request.read_text().strip() == "collect"
            if not tracemalloc.is_tracing() and _label_number(label) >= TRACE_FROM:
                tracemalloc.start(FRAMES)  # BENCH_TRACE_FROM / BENCH_TRACE_LAZY: traced from this dump on
            if not tracemalloc.is_tracing() and QUIET and not probe:  # RSS only: leave the collector alone
                _answer(folder, label, {"label": label, "rss_mib": round(_rss_mib(), 1),
                                        "frozen_objects": gc.get_freeze_count()})
                request.unlink()
                continue
            if not tracemalloc.is_tracing():  # object counts only
                counts, frozen = _object_counts()
                report = {"label": label, "rss_mib": round(_rss_mib(), 1), "frozen_objects": frozen,
                          "objects": sum(counts.values()), "top_types": counts.most_common(25)}
                if counts_prev is not None:
                    report["types_since_previous"] = (counts - counts_prev).most_common(20)
                counts_prev = counts
                if probe:
                    report["probe"] = _collect_probe()
                _answer(folder, label, report)
                request.unlink()
                continue
            snap = tracemalloc.take_snapshot().filter_traces(FILTERS)
            counts, frozen = _object_counts()
            traced, peak = tracemalloc.get_traced_memory()
            report: dict = {"label": label, "rss_mib": round(_rss_mib(), 1), "traced_mib": round(traced / 2**20, 1),
                            "traced_peak_mib": round(peak / 2**20, 1), "frozen_objects": frozen,
                            "gc_counts": gc.get_count(), "objects": sum(counts.values()),
                            "top_types": counts.most_common(25)}
            if previous is not None:
                report["since_previous"] = _stats(snap.compare_to(previous, "traceback"), top)
                report["types_since_previous"] = (counts - counts_prev).most_common(20)
            if first is not None:
                report["since_first"] = _stats(snap.compare_to(first, "traceback"), top)
                report["types_since_first"] = (counts - counts_first).most_common(20)
                report["lines_since_first"] = _stats(snap.compare_to(first, "lineno"), top)
            else:
                first, counts_first = snap, counts
            previous, counts_prev = snap, counts
            report["dump_seconds"] = round(time.perf_counter() - started, 1)
            if probe:
                report["probe"] = _collect_probe()
            _answer(folder, label, report)
            request.unlink()
        time.sleep(0.5)


def main() -> None:
    folder = Path(os.environ["BENCH_TRACE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    if TRACE_FROM == 0:
        tracemalloc.start(FRAMES)
    threading.Thread(target=_watch, args=(folder, int(os.environ.get("BENCH_TRACE_TOP", "30"))),
                     name="bench-trace", daemon=True).start()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from streams.cli.main import main as cli

    cli(prog_name="wirestream")


if __name__ == "__main__":
    main()
