"""Memory of the core's state in an endless stream: RSS and table sizes as stories go by.

    PYTHONPATH=. python bench/state_rss.py [--dev ../shared/data/cluster-dev.jsonl] [--stories 100000]
        [--per-minute 4] [--every 10000] [--compare | --worker [--broker tansu|kafka] [--env NAME=VALUE]
        [--trace DIR]] [--window-days D] [--retention-days D]

Generated ~3 KB stories (bench/corpus.py) at ``--per-minute`` simulated stories a minute (4: 100k
stories span 17 days, past the 3-day event window and the 7-day uri retention) go through one
``Pipeline`` — the very stages and mappings the worker runs, over dicts (Faust's memory tables).
Every ``--every`` stories: resident memory (VmRSS after a GC) and the record count of each table.
``--compare`` also runs the same stream with the lifetimes off (nothing but clustering profiles
expires — the state before records had lifetimes). Each run is its own process. Prints JSON.

``--worker`` feeds the same stream to a real ``wirestream worker`` (a subprocess) on a broker
instead — the embedded Tansu, or with ``--broker kafka`` Apache Kafka on disk (started as
``bench/pipeline.py --brokers kafka`` does) — and samples the worker process's RSS (psutil, no GC forced: what an operator
sees) every ``--every`` stories, once every story sent so far came out on
``wire.stories.clustered``; the broker's RSS too (Tansu keeps every topic in memory: the run
stops early, saying so, when it passes ``--max-broker-gib``). ``--window-days`` /
``--retention-days`` set the worker's event window and uri retention (both modes; defaults:
the settings' 3 and 7 days). ``--env`` sets the worker's environment (a setting, or
``MALLOC_ARENA_MAX``); ``--trace DIR`` runs the worker under tracemalloc
(``bench/traced_worker.py``, several times slower) and leaves a dump per sample in DIR:
allocation diffs by traceback and live objects by type.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _run(dev: str, stories: int, per_minute: float, every: int, lifetimes: bool, out: mp.Queue,
         window_days: float, retention_days: float) -> None:
    root = Path(__file__).resolve().parent
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(root.parent))
    import orjson
    from corpus import generate, load_rows

    from streams.config import Settings
    from streams.core.pipeline import Pipeline
    from streams.core.validate import decode_story

    settings = Settings()
    pipeline = Pipeline(window_days=window_days, uri_retention_days=retention_days, limits=settings.work_limits)
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


async def _worker_run(broker: Any, workdir: Path, dev: Path, stories: int, per_minute: float, every: int,
                      window_days: float, retention_days: float, max_broker_gib: float,
                      worker_env: dict[str, str], trace_dir: Path | None) -> dict:
    """The stream through a real worker on ``broker``; RSS samples of both processes."""
    import uuid

    import orjson
    import psutil
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    root = Path(__file__).resolve().parent
    sys.path.insert(0, str(root))
    from corpus import generate, load_rows
    from pipeline import log_tail, rss_mib, spawn_worker

    from streams.config import Settings
    from streams.kafka.broker import create_topics, stop_group

    rows = load_rows(dev)
    kind = "kafka" if type(broker).__name__ == "KafkaBroker" else "tansu"
    tag = uuid.uuid4().hex[:8]
    proc = None
    producer = consumer = None
    points: list[dict] = []
    stopped = None
    try:
        settings = Settings(broker=broker.url, topic_prefix=f"rss{tag}.", app_id=f"state-rss-{tag}", partitions=4)
        await create_topics(settings)
        env = {"WIRESTREAM_EVENT_WINDOW_DAYS": str(window_days), "WIRESTREAM_URI_RETENTION_DAYS": str(retention_days),
               **worker_env}
        script = None
        if trace_dir is not None:
            env["BENCH_TRACE_DIR"] = str(trace_dir)
            script = root / "traced_worker.py"
        proc = spawn_worker("pipeline", settings, workdir, env=env, script=script)
        consumer = AIOKafkaConsumer(settings.topic("stories.clustered"), bootstrap_servers=broker.bootstrap,
                                    group_id=None, auto_offset_reset="earliest", fetch_max_wait_ms=100)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, linger_ms=20,
                                    max_request_size=4 * 2**20, enable_idempotence=False)
        await consumer.start()
        await producer.start()
        out = 0

        async def drain(until: int, timeout: float = 900.0) -> None:
            nonlocal out
            deadline = time.monotonic() + timeout
            while out < until:
                if proc.poll() is not None:
                    raise SystemExit(f"error: the worker exited with {proc.returncode}:\n{log_tail(proc)}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"error: {until - out} stories not out after {timeout:.0f} s:\n{log_tail(proc)}")
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                out += sum(len(m) for m in batches.values())

        start = time.perf_counter()
        first_time = None
        sent = 0
        for doc in generate(rows, stories, stories_per_minute=per_minute):
            doc.pop("_gold", None)
            when = doc["versioncreated"]
            first_time = first_time or when
            await producer.send(settings.topic("stories"), orjson.dumps(doc), key=doc["uri"].encode())
            sent += 1
            if sent % 500 == 0:  # a bounded backlog: the broker holds what the worker has not read
                await producer.flush()
                await drain(sent - 2000)
            if sent % every == 0 or sent == stories:
                await producer.flush()
                await drain(sent)
                await asyncio.sleep(2.0)  # the last writes and the changelog sends settle
                from datetime import datetime

                days = (datetime.fromisoformat(when.replace("Z", "+00:00"))
                        - datetime.fromisoformat(first_time.replace("Z", "+00:00"))).total_seconds() / 86400.0
                broker_mib = psutil.Process(broker.proc.pid).memory_info().rss / 2**20
                cpu = psutil.Process(proc.pid).cpu_times()  # the worker's CPU: what a setting costs
                points.append({"stories": sent, "stream_days": round(days, 2), **rss_mib(proc),
                               "worker_cpu_s": round(cpu.user + cpu.system, 1),
                               "broker_rss_mib": round(broker_mib, 1),
                               "seconds": round(time.perf_counter() - start, 1)})
                if trace_dir is not None:  # the traced worker's dump at this point (bench/traced_worker.py)
                    points[-1]["trace"] = str(await _trace_dump(trace_dir, f"{sent:07d}", proc, sent == stories))
                print(json.dumps(points[-1]), file=sys.stderr, flush=True)
                if broker_mib > max_broker_gib * 1024 and kind == "tansu":
                    stopped = f"the broker's RSS passed {max_broker_gib} GiB (Tansu keeps every topic in memory)"
                    break
    finally:
        for client in (producer, consumer):
            if client is not None:
                await client.stop()
        if proc is not None:
            stop_group(proc, timeout=20)
    return {"mode": "worker", "broker": kind, "worker_env": worker_env, "points": points,
            **({"stopped": stopped} if stopped else {})}


async def _trace_dump(folder: Path, label: str, proc: Any, last: bool, timeout: float = 600.0) -> Path:
    """Ask the traced worker for a dump (a request file) and wait for its answer; the last one
    also probes what a full collection and malloc_trim give back."""
    (folder / f"{label}.request").write_text("collect" if last else "")
    answer = folder / f"{label}.json"
    deadline = time.monotonic() + timeout
    while not answer.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"error: no trace dump {answer} from the worker")
        await asyncio.sleep(0.5)
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--per-minute", type=float, default=4.0)
    parser.add_argument("--every", type=int, default=10_000)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--compare", action="store_true", help="also run with the lifetimes off")
    mode.add_argument("--worker", action="store_true", help="a real worker on a broker (--broker)")
    parser.add_argument("--broker", choices=("tansu", "kafka"), default="tansu",
                        help="--worker: the embedded Tansu (keeps every topic in memory) or Apache Kafka on disk "
                             "(tests/kafka/launcher.py; needs Java)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="--worker: an environment variable of the worker (repeatable), e.g. "
                             "WIRESTREAM_GC_FULL_SECONDS=600 or MALLOC_ARENA_MAX=2")
    parser.add_argument("--trace", type=Path, default=None, metavar="DIR",
                        help="--worker: run it under tracemalloc (bench/traced_worker.py) and write a dump of "
                             "allocation diffs and live objects by type into DIR at every sample")
    parser.add_argument("--window-days", type=float, default=None, help="event window (default: the settings')")
    parser.add_argument("--retention-days", type=float, default=None, help="uri retention (default: the settings')")
    parser.add_argument("--max-broker-gib", type=float, default=8.0, help="--worker: stop when the broker passes it")
    args = parser.parse_args()
    if not args.dev.is_file():
        raise SystemExit(f"error: dev file {args.dev} not found (--dev)")
    from streams.config import Settings

    s = Settings()
    window = args.window_days or s.event_window_days
    retention = args.retention_days or s.uri_retention_days
    runs = []
    if args.worker:
        import shutil
        import tempfile

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from pipeline import start_broker

        bad = [e for e in args.env if "=" not in e]
        if bad:
            raise SystemExit(f"error: --env {bad[0]!r}: expected NAME=VALUE")
        worker_env = dict(e.split("=", 1) for e in args.env)
        workdir = Path(tempfile.mkdtemp(prefix="state-rss-"))
        broker = start_broker(args.broker)
        try:
            runs.append(asyncio.run(_worker_run(broker, workdir, args.dev, args.stories, args.per_minute, args.every,
                                                window, retention, args.max_broker_gib, worker_env, args.trace)))
        finally:
            broker.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    else:
        ctx = mp.get_context("spawn")
        for lifetimes in ((True, False) if args.compare else (True,)):
            queue: mp.Queue = ctx.Queue()
            proc = ctx.Process(target=_run, args=(str(args.dev), args.stories, args.per_minute, args.every, lifetimes,
                                                  queue, window, retention))
            proc.start()
            runs.append(queue.get())
            proc.join()
    print(json.dumps({"stories": args.stories, "per_minute": args.per_minute, "window_days": window,
                      "uri_retention_days": retention, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
