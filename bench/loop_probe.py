"""``wirestream`` with an event-loop stall probe, for finding what holds up a worker (bench only).

    BENCH_PROBE_LOG=/tmp/probe.jsonl python bench/loop_probe.py worker --broker ... [worker options]

Runs the CLI exactly as ``python -m streams.cli`` does, and writes one JSON object a line to
``$BENCH_PROBE_LOG`` (times ``mono`` = ``time.monotonic()``, the clock ``bench/pipeline.py``
stamps its sends with, and ``wall`` = ``time.time()``, the clock of Kafka record timestamps):

* ``lag``: the event loop did not run a 10 ms heartbeat for ``BENCH_PROBE_LAG_MS`` (50) or more;
  with the main thread's stacks sampled every 5 ms by a watchdog thread while it was late
  (``stacks``: [count, innermost-first frames]). A stall inside one C call that holds the GIL
  (a garbage-collector pass) shows no sample: the ``gc`` lines cover those.
* ``gc``: every collector pass of generation 2, and any pass of ``BENCH_PROBE_GC_MS`` (5) or more.
* ``slow``: a call of the worker's shell that took ``BENCH_PROBE_SLOW_MS`` (20) or more: the
  consumer's offset commit, the producer buffer's flush and ebb (the conductor's pause),
  ``GcPolicy.tick``.

``bench/pipeline.py --trace DIR`` runs the worker through this and lines its records up with the
per-story timeline it writes. Nothing of this is in the product.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

LAG_S = float(os.environ.get("BENCH_PROBE_LAG_MS", "50")) / 1000
GC_MS = float(os.environ.get("BENCH_PROBE_GC_MS", "5"))
SLOW_S = float(os.environ.get("BENCH_PROBE_SLOW_MS", "20")) / 1000
BEAT_S = 0.01


class Probe:
    def __init__(self, path: Path) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the worker
        self.lock = threading.Lock()
        self.last_beat = time.monotonic()
        self.samples: list[tuple[str, ...]] = []
        self.main_id = threading.main_thread().ident
        self._gc_start = 0.0

    def write(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"kind": kind, "mono": round(time.monotonic(), 4), "wall": round(time.time(), 4), **fields})
        with self.lock:
            self.out.write(line + "\n")

    # ---------------------------------------------------------------- loop lag
    async def heartbeat(self) -> None:
        while True:
            before, cpu_before = time.monotonic(), time.thread_time()
            await asyncio.sleep(BEAT_S)
            now = time.monotonic()
            late = now - before - BEAT_S
            with self.lock:
                self.last_beat = now
                samples, self.samples = self.samples, []
            if late >= LAG_S:
                stacks = collections.Counter(samples).most_common(6)
                # cpu_ms: the main thread's CPU time meanwhile (much less than ms: it was not on a core)
                self.write("lag", ms=round(1000 * late, 1), began=round(before + BEAT_S, 4),
                           cpu_ms=round(1000 * (time.thread_time() - cpu_before), 1), samples=len(samples), stacks=[[n, list(s)] for s, n in stacks])

    def watchdog(self) -> None:
        while True:
            time.sleep(0.005)
            if time.monotonic() - self.last_beat < LAG_S * 0.8:
                continue
            frame = sys._current_frames().get(self.main_id)
            stack = []
            while frame is not None and len(stack) < 30:
                code = frame.f_code
                name = code.co_filename.rsplit("site-packages/", 1)[-1].rsplit("/wt1/", 1)[-1]
                stack.append(f"{name}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            with self.lock:
                if len(self.samples) < 400:
                    self.samples.append(tuple(stack))

    # ---------------------------------------------------------------- collector
    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
            return
        ms = 1000 * (time.perf_counter() - self._gc_start)
        if info["generation"] == 2 or ms >= GC_MS:
            self.write("gc", gen=info["generation"], ms=round(ms, 1), collected=info["collected"],
                       frozen=gc.get_freeze_count())

    # ---------------------------------------------------------------- slow calls
    def time_async(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return await original(*args, **kwargs)
            finally:
                took = time.monotonic() - start
                if took >= SLOW_S:
                    self.write("slow", call=label, ms=round(1000 * took, 1), began=round(start, 4))

        setattr(owner, name, timed)

    def time_sync(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                took = time.monotonic() - start
                if took >= SLOW_S:
                    self.write("slow", call=label, ms=round(1000 * took, 1), began=round(start, 4))

        setattr(owner, name, timed)


def time_requests(probe: Probe) -> None:
    """Every Kafka request of the worker's clients (producer, consumer, admin) that took long: a
    fetch longer than ``BENCH_PROBE_FETCH_MS`` (150; a fetch waits up to the fetch wait), any
    other request longer than ``BENCH_PROBE_SLOW_MS``."""
    from aiokafka.client import AIOKafkaClient

    fetch_s = float(os.environ.get("BENCH_PROBE_FETCH_MS", "150")) / 1000
    original = AIOKafkaClient.send
    # per second: produce requests, their bytes and their summed round trips ("produce" records)
    tally = {"since": time.monotonic(), "n": 0, "bytes": 0, "ms": 0.0, "max_ms": 0.0}

    @functools.wraps(original)
    async def send(self: Any, node_id: Any, request: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return await original(self, node_id, request, **kwargs)
        finally:
            end = time.monotonic()
            took = end - start
            name = type(request).__name__
            size = None
            if name.startswith("Produce"):
                with contextlib.suppress(Exception):
                    size = sum(len(b) for _, parts in request._topics for _, b in parts)
                tally["n"] += 1
                tally["bytes"] += size or 0
                tally["ms"] += 1000 * took
                tally["max_ms"] = max(tally["max_ms"], 1000 * took)
                if end - tally["since"] >= 1.0:
                    probe.write("produce", n=tally["n"], kib=round(tally["bytes"] / 1024), ms=round(tally["ms"]),
                                max_ms=round(tally["max_ms"], 1), since=round(tally["since"], 4))
                    tally.update(since=end, n=0, bytes=0, ms=0.0, max_ms=0.0)
            if took >= (fetch_s if name.startswith("Fetch") else SLOW_S):
                probe.write("request", request=name, ms=round(1000 * took, 1), began=round(start, 4),
                            bytes=size)

    AIOKafkaClient.send = send


class StageClock:
    """Per second, for one stage of the core (``process``): stories, CPU-free wall time in the
    core call, and the time from one call's start to the next (core + everything the agent
    waits for between two stories: acknowledgements, sends, the next message)."""

    def __init__(self, probe: Probe, label: str) -> None:
        self.probe, self.label = probe, label
        self.reset(time.monotonic())
        self.last_start: float | None = None

    def reset(self, now: float) -> None:
        self.window, self.n, self.core, self.cycle, self.max_cycle, self.max_core = now, 0, 0.0, 0.0, 0.0, 0.0

    def wrap(self, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                end = time.monotonic()
                self.n += 1
                self.core += end - start
                self.max_core = max(self.max_core, end - start)
                if self.last_start is not None and start - self.last_start < 1.0:  # not idle
                    self.cycle += start - self.last_start
                    self.max_cycle = max(self.max_cycle, start - self.last_start)
                self.last_start = start
                if end - self.window >= 1.0:
                    self.probe.write("stage", stage=self.label, n=self.n, core_ms=round(1000 * self.core),
                                     cycle_ms=round(1000 * self.cycle), max_core_ms=round(1000 * self.max_core),
                                     max_cycle_ms=round(1000 * self.max_cycle), since=round(self.window, 4))
                    self.reset(end)

        setattr(owner, name, timed)


def install(probe: Probe) -> None:
    from faust.transport.consumer import Consumer
    from faust.transport.producer import ProducerBuffer

    import streams.runtime.app as app_module
    from streams.runtime.gc_policy import GcPolicy

    probe.time_async(Consumer, "commit", "consumer.commit")
    probe.time_async(ProducerBuffer, "wait_until_ebb", "producer_buffer.wait_until_ebb")
    probe.time_async(ProducerBuffer, "flush", "producer_buffer.flush")
    probe.time_sync(GcPolicy, "tick", "gc_policy.tick")
    gc.callbacks.append(probe.on_gc)
    time_requests(probe)
    from streams.core.pipeline import ClusterStage, EventStage

    StageClock(probe, "cluster").wrap(ClusterStage, "process")
    StageClock(probe, "event").wrap(EventStage, "process")

    create_app = app_module.create_app

    def create_app_with_probe(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        @app.task
        async def _loop_probe() -> None:
            probe.write("start")
            try:
                await probe.heartbeat()
            except Exception as exc:  # noqa: BLE001 - the probe must never take the worker down
                probe.write("probe_error", error=repr(exc))

        return app

    app_module.create_app = create_app_with_probe
    threading.Thread(target=probe.watchdog, name="bench-loop-probe", daemon=True).start()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    install(Probe(Path(os.environ["BENCH_PROBE_LOG"])))
    from streams.cli.main import main as cli

    cli(prog_name="wirestream")


if __name__ == "__main__":
    main()
