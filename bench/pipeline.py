"""Pipeline benchmark: one ``wirestream worker`` on Tansu and/or Apache Kafka. Prints one JSON object.

    python bench/pipeline.py [--stories 5000] [--rate 200] [--duration 30] [--runs 3] [--partitions 8]
                             [--apps pipeline,ceiling] [--ceiling-hops 1|3] [--fetch-max-wait-ms N]
                             [--brokers tansu|kafka|tansu,kafka] [--guarantee at_least_once|exactly_once]

``--brokers tansu,kafka`` runs everything below on each broker in turn (the embedded Tansu, then
Apache Kafka in KRaft mode from tests/kafka/launcher.py, which needs Java and Maven) and prints
the figures side by side (``side_by_side``) with each broker's full result under ``by_broker``.

Starts the broker (Tansu in memory, or Kafka) once, then for every run and for each app (the real worker, then the
pass-through ceiling ``bench/passthrough_app.py``) a fresh worker subprocess with its own app id
and topic prefix:

1. **warm-up**: ``--warmup`` stories (default 200) are sent and awaited on the output — group
   join, partition assignment, language models and caches are loaded; none of it is timed.
2. **full speed**: ``--stories`` pre-generated ~3 KB stories (bench/corpus.py) are produced as
   fast as possible while the outputs are consumed. ``stories_per_s`` is the sustained rate
   through ``<prefix>stories.clustered``: stories / (last output − first send); start-up and
   warm-up are not in it (the worker is warm). ``output_window_per_s`` is the output rate
   between the 10th and 90th percentile of arrivals: it flatters a burst, because the decode
   stage works through the whole burst early, so that during the window the worker only
   clusters and scores (read it as the rate of the later stages, not of the pipeline).
   ``worker_cpu_ms_per_story`` = worker CPU time / stories.
3. **fixed offered rate**: ``--rate`` stories/s for ``--duration`` s (new uris, same worker).
   The harness keeps uri+version → send time, consumes ``stories.clustered`` and
   ``story-updates`` (an alert carries ``story.uri``/``story.version``) and reports
   p50/p95/p99/max latency produce → clustered and produce → alert, in ms.

The ceiling app runs the same phases; ``ratio`` = pipeline / ceiling (full-speed stories/s).
Worker RSS (and peak RSS, VmHWM) is read with psutil at the end of each run; CPU seconds of
the worker, the broker and this harness during the full-speed phase show who competes for the
cores. Every figure is the median over ``--runs``; the per-run figures are under ``runs``.

``--profile DIR`` records the worker with py-spy (100 Hz, collapsed stacks, GIL-holding samples
only: ``<Broker>-<app>-<run>-full.txt`` for the full-speed phase, ``…-rate.txt`` for the fixed
rate) — see ``bench/profile_summary.py`` for a per-step breakdown of such a file.

``--fetch-max-wait-ms N`` sets ``WIRESTREAM_FETCH_MAX_WAIT_MS`` for both apps — an experiment for
the latency figures.

Children (Tansu, workers) are in their own process groups, die with this process
(PR_SET_PDEATHSIG) and are stopped in ``finally`` blocks, on Ctrl-C and on SIGTERM too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from corpus import generate, load_rows  # noqa: E402

from streams.kafka.broker import EmbeddedBroker, create_topics, free_port, spawn_group, stop_group  # noqa: E402
from streams.config import Settings  # noqa: E402

DEFAULT_DEV = ROOT.parent / "shared" / "data" / "cluster-dev.jsonl"
if not DEFAULT_DEV.exists():
    DEFAULT_DEV = Path("/work/shared/data/cluster-dev.jsonl")

# --------------------------------------------------------------------------- stories


@dataclass
class Story:
    uri: str
    version: int
    raw: bytes


def encode(doc: dict[str, Any]) -> Story:
    doc = {k: v for k, v in doc.items() if not k.startswith("_")}
    return Story(doc["uri"], int(doc.get("version", 1)), orjson.dumps(doc))


def wire_stories(rows: list[dict[str, Any]], n: int, tag: str, seed: int) -> list[Story]:
    """``n`` ~3 KB stories with uris unique to ``tag``."""
    return [encode(d) for d in generate(rows, n, seed=seed, copy_tag=tag)]


# --------------------------------------------------------------------------- processes


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def spawn_worker(kind: str, settings: Settings, workdir: Path, *, index: int = 0, hops: int = 1,
                 fetch_max_wait_ms: int | None = None, env: dict[str, str] | None = None,
                 script: Path | None = None) -> subprocess.Popen:
    """A ``wirestream worker`` (kind "pipeline") or the pass-through app (kind "ceiling");
    ``script`` runs the worker through a wrapper of the CLI (``bench/traced_worker.py``)."""
    data_dir = workdir / f"{settings.app_id}-{index}"
    web_port = free_port()
    common = ["--broker", settings.broker, "--web-port", str(web_port), "--data-dir", str(data_dir),
              "--topic-prefix", settings.topic_prefix, "--partitions", str(settings.partitions),
              "--app-id", settings.app_id, "--loglevel", os.environ.get("BENCH_WORKER_LOGLEVEL", "warning")]
    if kind == "pipeline":
        target = ["streams.cli", "worker", *common]
    else:
        target = [str(BENCH / "passthrough_app.py"), *common, "--hops", str(hops)]
    full_env = {**_env(), **(env or {})}
    if fetch_max_wait_ms is not None:  # both apps read it through Settings
        full_env["WIRESTREAM_FETCH_MAX_WAIT_MS"] = str(fetch_max_wait_ms)
    if kind == "pipeline" and script is not None:
        argv = [sys.executable, str(script), *target[1:]]
    elif kind == "pipeline":
        argv = [sys.executable, "-m", *target]
    else:
        argv = [sys.executable, *target]
    log = open(workdir / f"{settings.app_id}-{index}.log", "wb")
    try:
        proc = spawn_group(argv, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(ROOT))
    finally:
        log.close()
    proc.log_path = workdir / f"{settings.app_id}-{index}.log"  # type: ignore[attr-defined]
    proc.web_port = web_port  # type: ignore[attr-defined]
    return proc


def worker_metrics(proc: subprocess.Popen) -> dict[str, float]:
    """The worker's own counters (GET /metrics): ``stories_in:<stage>`` and ``core_s:<stage>`` (the
    seconds its stages spent in the core's calls); empty if it does not answer."""
    import urllib.request

    out: dict[str, float] = {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proc.web_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except (OSError, AttributeError):
        return out
    names = {"wirestream_stories_in_total": "stories_in", "wirestream_processing_latency_seconds_sum": "core_s"}
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        if name in names and 'stage="' in rest:
            stage = rest.split('stage="', 1)[1].split('"', 1)[0]
            out[f"{names[name]}:{stage}"] = float(line.rsplit(" ", 1)[1])
    return out


def log_tail(proc: subprocess.Popen, lines: int = 15) -> str:
    path = getattr(proc, "log_path", None)
    if not path or not Path(path).exists():
        return ""
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def rss_mib(proc: subprocess.Popen) -> dict[str, float | None]:
    try:
        p = psutil.Process(proc.pid)
        rss = p.memory_info().rss / 2**20
        hwm = None
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
        return {"rss_mib": round(rss, 1), "peak_rss_mib": round(hwm, 1) if hwm else None}
    except psutil.Error:
        return {"rss_mib": None, "peak_rss_mib": None}


class Profiler:
    """``py-spy record`` on a running process for one phase (stopped with SIGINT, which writes the file)."""

    def __init__(self, pid: int, out: Path | None) -> None:
        self.pid, self.out, self.proc = pid, out, None

    def __enter__(self) -> "Profiler":
        if self.out is not None:
            exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            self.proc = subprocess.Popen([exe, "record", "--pid", str(self.pid), "--rate", "100", "--gil",
                                          "--format", "raw", "--output", str(self.out)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached before the phase starts
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        try:
            t = psutil.Process(pid).cpu_times()
            out[name] = t.user + t.system
        except psutil.Error:
            out[name] = float("nan")
    return out


async def group_members(bootstrap: str, group: str) -> int | None:
    """Members of a consumer group (None when the broker cannot tell)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        desc = await admin.describe_consumer_groups([group])
        for response in desc:
            for g in getattr(response, "groups", []):
                members = g[-1] if isinstance(g, tuple) else getattr(g, "members", [])
                return len(members)
    except Exception:  # noqa: BLE001 - informative only
        return None
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return None


# --------------------------------------------------------------------------- outputs


@dataclass
class Collector:
    """Consumes the outputs; arrival time (monotonic) per uri+version."""

    clustered: dict[tuple[str, int], float] = field(default_factory=dict)
    alerts: dict[tuple[str, int], float] = field(default_factory=dict)
    alert_count: int = 0
    dead: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    # --trace: per hop ("enriched", "assigned", "clustered", "alert"), uri+version -> (the record's
    # timestamp, i.e. when the worker produced it, wall-clock s; its arrival here, monotonic s)
    hops: dict[str, dict[tuple[str, int], tuple[float, float]]] | None = None

    def _hop(self, hop: str, key: tuple[str, int], m: Any, now: float) -> None:
        if self.hops is not None:
            self.hops.setdefault(hop, {}).setdefault(key, (m.timestamp / 1000, now))

    async def run(self, consumer: Any) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            now = time.monotonic()
            for tp, messages in batches.items():
                topic = tp.topic
                for m in messages:
                    if topic.endswith("story-updates"):
                        story = orjson.loads(m.value).get("story") or {}
                        key = (story.get("uri"), int(story.get("version") or 1))
                        self.alerts.setdefault(key, now)
                        self._hop("alert", key, m, now)
                        self.alert_count += 1
                    elif topic.endswith("dead-letter"):
                        self.dead += 1
                    elif topic.endswith(".enriched") or topic.endswith(".assigned"):  # --trace only
                        rec = orjson.loads(m.value)
                        story = (rec.get("enriched", rec).get("story") or {}) if isinstance(rec, dict) else {}
                        if story.get("uri"):
                            self._hop(topic.rsplit(".", 1)[1], (story["uri"], int(story.get("version") or 1)), m, now)
                    else:
                        rec = orjson.loads(m.value)
                        key = (rec["uri"], int(rec.get("version") or 1))
                        self.clustered.setdefault(key, now)
                        self._hop("clustered", key, m, now)
                if messages:
                    self.last_progress = now

    async def wait_for(self, keys: list[tuple[str, int]], timeout: float, procs: list[subprocess.Popen],
                       stall: float = 60.0) -> bool:
        """Until every key came out on the clustered topic (False on timeout / stall)."""
        deadline = time.monotonic() + timeout
        missing = [k for k in keys if k not in self.clustered]
        while missing:
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"worker exited with {p.returncode}:\n{log_tail(p)}")
            now = time.monotonic()
            if now > deadline or now - self.last_progress > stall:
                return False
            await asyncio.sleep(0.05)
            missing = [k for k in missing if k not in self.clustered]
        return True


async def output_consumer(bootstrap: str, settings: Settings, *, read_committed: bool = False,
                          internal: bool = False) -> Any:
    """The harness's consumer of the outputs (``internal``: of the two inner hops' topics too)."""
    from aiokafka import AIOKafkaConsumer

    inner = [settings.topic("enriched"), settings.topic("assigned")] if internal else []
    consumer = AIOKafkaConsumer(
        settings.topic("stories.clustered"), settings.topic("story-updates"), settings.topic("dead-letter"), *inner,
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
        fetch_max_wait_ms=20, max_partition_fetch_bytes=4 * 2**20,
        isolation_level="read_committed" if read_committed else "read_uncommitted",
    )
    await consumer.start()
    return consumer


async def new_producer(bootstrap: str, linger_ms: int) -> Any:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=linger_ms,
                                max_batch_size=256 * 1024, max_request_size=4 * 2**20,
                                enable_idempotence=False)
    await producer.start()
    return producer


# --------------------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def latency_summary(ms: list[float]) -> dict[str, Any]:
    return {"n": len(ms), **{f"p{int(q * 100)}_ms": (round(pct(ms, q), 1) if ms else None) for q in (0.5, 0.95, 0.99)},
            "max_ms": round(max(ms), 1) if ms else None}


def steady_rate(arrivals: list[float], lo: float = 0.1, hi: float = 0.9) -> float | None:
    """Outputs/s between the lo and hi quantiles of arrival order (ramp-up and tail excluded)."""
    if len(arrivals) < 20:
        return None
    s = sorted(arrivals)
    i, j = int(len(s) * lo), int(len(s) * hi) - 1
    span = s[j] - s[i]
    return (j - i) / span if span > 0 else None


def median_of(runs: list[dict[str, Any]], path: tuple[str, ...]) -> float | None:
    vals = []
    for r in runs:
        v: Any = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(v)
    return round(statistics.median(vals), 2) if vals else None


# --------------------------------------------------------------------------- phases


async def produce_all(producer: Any, topic: str, stories: list[Story]) -> tuple[float, float]:
    """Send everything as fast as possible; (first send, all acknowledged) monotonic times."""
    t0 = time.monotonic()
    futures = [await producer.send(topic, s.raw, key=s.uri.encode()) for s in stories]
    await asyncio.gather(*futures)
    return t0, time.monotonic()


async def full_speed(producer: Any, topic: str, stories: list[Story], col: Collector,
                     procs: list[subprocess.Popen], pids: dict[str, int], timeout: float) -> dict[str, Any]:
    keys = [(s.uri, s.version) for s in stories]
    cpu0 = cpu_seconds(pids)
    t0, t_acked = await produce_all(producer, topic, stories)
    complete = await col.wait_for(keys, timeout, procs)
    cpu1 = cpu_seconds(pids)
    arrivals = [col.clustered[k] for k in keys if k in col.clustered]
    t_last = max(arrivals) if arrivals else t0
    rate = steady_rate(arrivals)
    return {
        "stories": len(stories),
        "processed": len(arrivals),
        "complete": complete,
        "produce_s": round(t_acked - t0, 2),
        "produce_per_s": round(len(stories) / (t_acked - t0), 1),
        "stories_per_s": round(len(arrivals) / (t_last - t0), 1) if t_last > t0 else None,
        "output_window_per_s": round(rate, 1) if rate else None,
        "elapsed_s": round(t_last - t0, 2),
        "cpu_s": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
        "worker_cpu_ms_per_story": round(1000 * (cpu1["worker"] - cpu0["worker"]) / max(1, len(arrivals)), 2),
        "alerts": sum(1 for k in keys if k in col.alerts),
    }


def write_timeline(path: Path, sent: dict[tuple[str, int], float], t0: float, col: Collector) -> None:
    """--trace: one line a story of the fixed-rate phase, times in s into the phase: sent, then per
    hop when the worker produced it (``<hop>_ts``, the record's timestamp) and when it arrived here
    (``<hop>_at``)."""
    wall_minus_mono = time.time() - time.monotonic()
    with open(path, "w") as out:
        out.write(orjson.dumps({"phase_start_monotonic": t0}).decode() + "\n")
        for key, t in sent.items():
            row: dict[str, Any] = {"uri": key[0], "version": key[1], "sent": round(t - t0, 4)}
            for hop, seen in (col.hops or {}).items():
                if key in seen:
                    ts, at = seen[key]
                    row[f"{hop}_ts"] = round(ts - wall_minus_mono - t0, 4)
                    row[f"{hop}_at"] = round(at - t0, 4)
            out.write(orjson.dumps(row).decode() + "\n")


async def fixed_rate(producer: Any, topic: str, stories: list[Story], rate: float, col: Collector,
                     procs: list[subprocess.Popen], drain_timeout: float = 60.0,
                     timeline: Path | None = None) -> dict[str, Any]:
    sent: dict[tuple[str, int], float] = {}
    t0 = time.monotonic()
    for i, s in enumerate(stories):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[(s.uri, s.version)] = time.monotonic()
        await producer.send(topic, s.raw, key=s.uri.encode())
    t_end = time.monotonic()
    await producer.flush()
    complete = await col.wait_for(list(sent), drain_timeout, procs, stall=30.0)
    to_clustered = [1000 * (col.clustered[k] - t) for k, t in sent.items() if k in col.clustered]
    to_alert = [1000 * (col.alerts[k] - t) for k, t in sent.items() if k in col.alerts]
    # when the slowest stories were sent (s into the phase): periodic stalls show as a regular spacing
    worst = sorted(((1000 * (col.alerts[k] - t), t - t0) for k, t in sent.items() if k in col.alerts), reverse=True)
    if timeline is not None:
        write_timeline(timeline, sent, t0, col)
    return {
        "phase_start_monotonic": round(t0, 4),
        "offered_per_s": round(len(stories) / (t_end - t0), 1),
        "slowest_alerts": [[round(at, 2), round(ms)] for ms, at in sorted(worst[:12], key=lambda w: w[1])],
        "stories": len(stories),
        "complete": complete,
        "to_clustered": latency_summary(to_clustered),
        "to_alert": latency_summary(to_alert),
    }


async def run_app(kind: str, broker: Any, workdir: Path, args: argparse.Namespace,
                  corpus: dict[str, list[Story]], run: int, extra_env: dict[str, str] | None = None,
                  label: str = "") -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    settings = Settings(broker=broker.url, topic_prefix=f"b{tag}.", app_id=f"bench-{kind}-{tag}",
                        partitions=args.partitions, data_dir=workdir)
    await create_topics(settings)
    trace = Path(args.trace) if args.trace else None
    consumer = await output_consumer(broker.bootstrap, settings, read_committed=args.guarantee == "exactly_once",
                                     internal=trace is not None)
    col = Collector(hops={} if trace is not None else None)
    reader = asyncio.create_task(col.run(consumer))
    producer = await new_producer(broker.bootstrap, linger_ms=5)
    rate_producer = await new_producer(broker.bootstrap, linger_ms=0)
    probe_env = {}
    if trace is not None and kind == "pipeline":  # the worker under bench/loop_probe.py
        trace.mkdir(parents=True, exist_ok=True)
        probe_env = {"BENCH_PROBE_LOG": str(trace / f"{settings.app_id}-probe.jsonl")}
    worker = spawn_worker(kind, settings, workdir, hops=args.ceiling_hops,
                          fetch_max_wait_ms=args.fetch_max_wait_ms,
                          env={"WIRESTREAM_PROCESSING_GUARANTEE": args.guarantee, **probe_env, **(extra_env or {})},
                          script=BENCH / "loop_probe.py" if probe_env else None)
    pids = {"worker": worker.pid, "broker": broker.proc.pid, "harness": os.getpid()}
    topic = settings.topic("stories")
    result: dict[str, Any] = {"app": kind, "app_id": settings.app_id}
    try:
        t_start = time.monotonic()
        warm = corpus["warmup"]
        await produce_all(producer, topic, warm)
        if not await col.wait_for([(s.uri, s.version) for s in warm], args.timeout, [worker]):
            raise RuntimeError(f"{kind}: warm-up did not complete:\n{log_tail(worker)}")
        result["startup_s"] = round(time.monotonic() - t_start, 2)
        def profile(phase: str) -> Profiler:
            return Profiler(worker.pid, Path(args.profile) / f"{type(broker).__name__}-{kind}{label}-{run}-{phase}.txt" if args.profile else None)

        with profile("full"):
            result["full_speed"] = await full_speed(producer, topic, corpus["full"], col, [worker], pids,
                                                    args.timeout)
        if args.rate > 0 and args.duration > 0:
            with profile("rate"):
                result["fixed_rate"] = await fixed_rate(
                    rate_producer, topic, corpus["rate"], args.rate, col, [worker],
                    timeline=trace / f"{settings.app_id}-timeline.jsonl" if trace is not None else None)
        result["dead_letters"] = col.dead
        result["worker"] = rss_mib(worker)
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        status = stop_group(worker, timeout=15)
        result["worker_exit"] = status
        for closer in (producer.stop, rate_producer.stop, consumer.stop):
            with contextlib.suppress(Exception):
                await closer()
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "stories_per_s": median_of(runs, ("full_speed", "stories_per_s")),
        "output_window_per_s": median_of(runs, ("full_speed", "output_window_per_s")),
        "worker_cpu_ms_per_story": median_of(runs, ("full_speed", "worker_cpu_ms_per_story")),
        "to_clustered_ms": {q: median_of(runs, ("fixed_rate", "to_clustered", q)) for q in ("p50_ms", "p95_ms", "p99_ms")},
        "to_alert_ms": {q: median_of(runs, ("fixed_rate", "to_alert", q)) for q in ("p50_ms", "p95_ms", "p99_ms")},
        "alerts_at_rate": median_of(runs, ("fixed_rate", "to_alert", "n")),
        "rss_mib": median_of(runs, ("worker", "rss_mib")),
        "peak_rss_mib": median_of(runs, ("worker", "peak_rss_mib")),
    }


def start_broker(kind: str) -> Any:
    """A started broker of ``kind``: the embedded Tansu, or Apache Kafka (KRaft, tests/kafka/launcher.py)."""
    if kind == "tansu":
        return EmbeddedBroker().start()
    from tests.kafka.launcher import KafkaBroker

    return KafkaBroker(heap="1g").start()


async def bench_on(kind: str, args: argparse.Namespace, corpus: dict[str, list[Story]]) -> dict[str, Any]:
    """Every run and app on one broker of ``kind``; the figures (medians) of that broker."""
    sizes = [len(s.raw) for s in corpus["full"]]
    workdir = Path(tempfile.mkdtemp(prefix="wirestream-pipeline-"))
    runs: dict[str, list[dict[str, Any]]] = {"pipeline": [], "ceiling": []}
    # --compare-env: every run also runs the pipeline with those variables, alternating with the default
    variant = dict(kv.split("=", 1) for kv in args.compare_env.split(",")) if args.compare_env else None
    if variant is not None:
        runs["pipeline+env"] = []
    load_before = os.getloadavg()
    broker = None
    try:
        broker = await asyncio.get_running_loop().run_in_executor(None, start_broker, kind)
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
        for run in range(args.runs):
            plan = [(app, None) for app in ("pipeline", "ceiling") if app in args.apps.split(",")]
            if variant is not None:  # which goes first alternates between runs
                plan.insert(1 if run % 2 == 0 else 0, ("pipeline", variant))
            for app, env in plan:
                # fresh uris per run and app (the broker is shared; topics are per app)
                res = await run_app(app, broker, workdir, args, corpus, run, extra_env=env,
                                    label="+env" if env else "")
                runs[app + ("+env" if env else "")].append(res)
                print(orjson.dumps({"broker": kind, "run": run, "env": env, **res}).decode(), file=sys.stderr,
                      flush=True)
    finally:
        if broker is not None:
            broker.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    pipe = summarize(runs["pipeline"]) if runs["pipeline"] else {"stories_per_s": None, "to_alert_ms": {"p99_ms": None}}
    out: dict[str, Any] = {
        "bench": "pipeline",
        "broker": kind if kind == "tansu" else f"kafka {_kafka_version()}",
        "processing_guarantee": args.guarantee,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "stories": args.stories, "story_bytes_mean": round(statistics.mean(sizes)), "partitions": args.partitions,
        "rate": args.rate, "duration_s": args.duration, "runs": args.runs,
        "fetch_max_wait_ms": (args.fetch_max_wait_ms if args.fetch_max_wait_ms is not None
                              else Settings.from_env().fetch_max_wait_ms),
        "pipeline": pipe,
    }
    if runs["ceiling"]:
        ceil = summarize(runs["ceiling"])
        ceil.pop("alerts_at_rate", None)
        ceil.pop("to_alert_ms", None)
        out["ceiling"] = {"hops": args.ceiling_hops, **ceil}
        if pipe["stories_per_s"] and ceil["stories_per_s"]:
            out["ratio_pipeline_to_ceiling"] = round(pipe["stories_per_s"] / ceil["stories_per_s"], 3)
    out["targets"] = {
        "pipeline_stories_per_s>=1000": bool(pipe["stories_per_s"] and pipe["stories_per_s"] >= 1000),
        "p99_to_alert_ms<=250": bool(pipe["to_alert_ms"]["p99_ms"] and pipe["to_alert_ms"]["p99_ms"] <= 250),
    }
    if variant is not None and runs["pipeline+env"]:
        alt = summarize(runs["pipeline+env"])
        out["pipeline_with_env"] = {"env": variant, **alt}
        if pipe["stories_per_s"] and alt["stories_per_s"]:
            out["ratio_env_to_default"] = round(alt["stories_per_s"] / pipe["stories_per_s"], 3)
    out["runs_detail"] = runs
    return out


def _kafka_version() -> str:
    from tests.kafka.launcher import kafka_version

    return kafka_version()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    rows = load_rows(Path(args.dev))
    n_rate = int(args.rate * args.duration)
    corpus = {
        "warmup": wire_stories(rows, args.warmup, "w", seed=101),
        "full": wire_stories(rows, args.stories, "f", seed=7),
        "rate": wire_stories(rows, n_rate, "r", seed=13),
    }
    kinds = [k.strip() for k in args.brokers.split(",") if k.strip()]
    if args.guarantee == "exactly_once" and "tansu" in kinds:
        raise SystemExit("--guarantee exactly_once needs transactions: Apache Kafka only (--brokers kafka)")
    results = {kind: await bench_on(kind, args, corpus) for kind in kinds}
    if len(results) == 1:
        return next(iter(results.values()))
    # side by side: the same corpus, rate and settings on each broker, one after the other
    side = {kind: {"stories_per_s": r["pipeline"]["stories_per_s"],
                   "to_alert_ms": r["pipeline"]["to_alert_ms"], "to_clustered_ms": r["pipeline"]["to_clustered_ms"],
                   "worker_cpu_ms_per_story": r["pipeline"]["worker_cpu_ms_per_story"]}
            for kind, r in results.items()}
    return {"bench": "pipeline", "brokers": kinds, "side_by_side": side, "by_broker": results}


def install_signal_handlers() -> None:
    """SIGTERM behaves like Ctrl-C: the finally blocks stop the broker and the workers."""
    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dev", default=str(DEFAULT_DEV), help="labelled dev file the corpus is generated from")
    p.add_argument("--stories", type=int, default=5000, help="stories in the full-speed phase (default 5000)")
    p.add_argument("--warmup", type=int, default=200, help="warm-up stories, not timed (default 200)")
    p.add_argument("--rate", type=float, default=200.0, help="offered rate of the latency phase (default 200/s)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of the latency phase (default 30)")
    p.add_argument("--runs", type=int, default=3, help="runs; figures are medians (default 3)")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--apps", default="pipeline,ceiling", help="which apps to run (default pipeline,ceiling)")
    p.add_argument("--ceiling-hops", type=int, choices=(1, 3), default=1,
                   help="pass-through agents chained (1: the issue's ceiling; 3: the app's topology)")
    p.add_argument("--fetch-max-wait-ms", type=int, default=None,
                   help="override the consumer's fetch wait (default: WIRESTREAM_FETCH_MAX_WAIT_MS, 100 ms)")
    p.add_argument("--brokers", default="tansu",
                   help="tansu, kafka, or tansu,kafka for both side by side (default tansu; kafka needs Java + Maven)")
    p.add_argument("--guarantee", choices=("at_least_once", "exactly_once"), default="at_least_once",
                   help="WIRESTREAM_PROCESSING_GUARANTEE of the workers (exactly_once: --brokers kafka)")
    p.add_argument("--timeout", type=float, default=600.0, help="per-phase timeout, s")
    p.add_argument("--compare-env", default=None, metavar="VAR=VALUE[,VAR=VALUE]",
                   help="also run the pipeline with these environment variables in every run (alternating "
                        "which goes first); figures under pipeline_with_env")
    p.add_argument("--profile", default=None, metavar="DIR",
                   help="record the worker with py-spy in each timed phase, collapsed stacks into DIR")
    p.add_argument("--keep", action="store_true", help="keep the work dir (worker logs)")
    p.add_argument("--trace", default=None, metavar="DIR",
                   help="run the worker under bench/loop_probe.py (loop stalls, collector passes, slow shell "
                        "calls) and write DIR/<app id>-timeline.jsonl: every fixed-rate story's hops, as "
                        "produced and as seen here (see bench/stall_report.py)")
    return p


def run_cli(main: Any, parser: argparse.ArgumentParser) -> None:
    """Run a benchmark's ``main(args)`` and print its JSON figures; Ctrl-C stops cleanly."""
    install_signal_handlers()
    try:
        result = asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        print("interrupted; broker and workers stopped", file=sys.stderr)
        raise SystemExit(130)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    run_cli(main, parser())
