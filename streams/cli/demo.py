"""``wirestream demo``: embedded broker + a worker, the bundled sample feed, alerts on screen.

Runs Tansu (in memory) and one ``wirestream worker`` as child processes (each in its own
process group, stopped in order on Ctrl-C / SIGTERM, and killed by the kernel if this process
dies), feeds the sample stories one at a time — each waits until the worker has placed it in an
event, so the feed order is the processing order — and prints every story-update alert as a
readable block. The worker serves the newsroom page (its URL is printed) until the demo stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import IO, Any

import orjson

from ..config import Settings
from .format import format_alert, format_clustered, format_dead_letter, plural

FIRST_STORY_TIMEOUT = 90.0  # worker start (imports, group join) + first story
STORY_TIMEOUT = 30.0


class DemoError(RuntimeError):
    """Something the user should know in one line (plus where the logs are)."""


# --------------------------------------------------------------------------- samples


def sample_lines(data_path: str | None = None) -> list[tuple[str, bytes]]:
    """``(where, raw JSON)`` of each story to feed: the bundled samples or ``data_path``."""
    from .ingest import Item, Problem, prepare
    from .sources import iter_sources

    if data_path is None:
        text = resources.files("streams").joinpath("data", "samples.jsonl").read_bytes()
        return [(f"samples.jsonl:{i}", line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    out = []
    for entry in prepare(iter_sources([data_path]), max_bytes=64 * 1024 * 1024):
        if isinstance(entry, Item):
            out.append((entry.where, entry.value))
        elif isinstance(entry, Problem):
            print(f"wirestream demo: {entry.where}: skipped ({entry.reason}): {entry.detail}", file=sys.stderr)
    return out


# --------------------------------------------------------------------------- running


def _worker_argv(settings: Settings, loglevel: str = "info") -> list[str]:
    return [
        sys.executable, "-m", "streams.cli", "worker",
        "--broker", settings.broker,
        "--store", settings.store,
        "--web-port", str(settings.web_port),
        "--web-host", settings.web_host,
        "--data-dir", str(settings.data_dir),
        "--topic-prefix", settings.topic_prefix,
        "--partitions", str(settings.partitions),
        "--app-id", settings.app_id,
        "--log-level", loglevel,
    ]


def page_url(settings: Settings) -> str:
    """Where the worker serves the newsroom page."""
    host = settings.web_host
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{settings.web_port}/"


def _tail(path: Path, lines: int = 12) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])
    return ""


class Demo:
    def __init__(self, settings: Settings, *, data_path: str | None, delay: float, exit_when_done: bool,
                 as_json: bool, out: IO[str]) -> None:
        self.base = settings
        self.data_path = data_path
        self.delay = delay
        self.exit_when_done = exit_when_done
        self.as_json = as_json
        self.out = out  # alerts
        self.info = sys.stderr if as_json else out  # everything else: stdout stays pure JSON with --json
        self.workdir = Path(tempfile.mkdtemp(prefix="wirestream-demo-"))
        self.broker: Any = None
        self.worker: subprocess.Popen | None = None
        self.worker_log = self.workdir / "worker.log"
        self.page_url = ""
        self.alerts = 0
        self.shown: set[str] = set()  # alert ids printed
        self.dead = 0

    def say(self, text: str) -> None:
        print(text, file=self.info, flush=True)

    def show(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def run(self) -> None:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

        from ..kafka.broker import EmbeddedBroker, create_topics, free_port, spawn_group

        stories = sample_lines(self.data_path)
        if not stories:
            raise DemoError("no stories to feed")
        self.say("wirestream demo — starting an embedded Kafka-protocol broker (Tansu, in memory)…")
        self.broker = EmbeddedBroker(log_path=self.workdir / "broker.log")
        await self.broker.astart()
        settings = self.base.with_(
            broker=self.broker.url, store="memory://", data_dir=self.workdir / "data",
            web_port=free_port(self.base.web_host), app_id="wirestream-demo",
        )
        await create_topics(settings)
        self.page_url = page_url(settings)
        self.say(f"broker {self.broker.bootstrap} · starting a worker (log: {self.worker_log})…")
        self.say(f"HTTP API of the worker: http://{settings.web_host}:{settings.web_port}/events "
                 "(also /events/{event_id}, /health, /metrics)")
        self.say(f"newsroom page: {self.page_url}  (live events and story updates in the browser)")
        log = open(self.worker_log, "wb")
        try:
            self.worker = spawn_group(_worker_argv(settings), stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

        bootstrap = self.broker.bootstrap
        consumer = AIOKafkaConsumer(
            settings.topic("stories.clustered"), settings.topic("story-updates"), settings.topic("dead-letter"),
            bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
        )
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                                    max_request_size=max(1024 * 1024, settings.max_message_bytes + 65536))
        await consumer.start()
        await producer.start()
        try:
            await self._feed(settings, stories, consumer, producer)
        finally:
            await producer.stop()
            await consumer.stop()

    async def _feed(self, settings: Settings, stories: list[tuple[str, bytes]], consumer: Any, producer: Any) -> None:
        topic = settings.topic("stories")
        self.say(f"feeding {plural(len(stories), 'story', 'stories')} to {topic}; "
                 f"alerts from {settings.topic('story-updates')}:\n")
        first = True
        for where, raw in stories:
            doc = orjson.loads(raw)
            uri = str(doc.get("uri", ""))
            version = int(doc.get("version", 1) or 1)
            await producer.send_and_wait(topic, raw, key=uri.encode("utf-8"))
            timeout = FIRST_STORY_TIMEOUT if first else STORY_TIMEOUT
            await self._until(consumer, lambda r: r.get("uri") == uri and r.get("version") == version,
                              timeout, f"{where} ({uri})")
            first = False
            if self.delay > 0:
                await self._until(consumer, lambda r: False, self.delay, "")
        await self._until(consumer, lambda r: False, 1.5, "")  # trailing alerts
        self.say(f"\n{plural(len(stories), 'story', 'stories')} fed · {plural(self.alerts, 'story-update alert')} · "
                 f"{plural(self.dead, 'dead letter')}")

    async def _until(self, consumer: Any, want: Any, timeout: float, what: str) -> dict | None:
        """Print alerts and dead letters while waiting for a clustered record that ``want``s."""
        deadline = time.monotonic() + timeout
        while True:
            if self.worker is not None and self.worker.poll() is not None:
                raise DemoError(f"the worker exited with status {self.worker.returncode}; "
                                f"its log ({self.worker_log}) ends with:\n{_tail(self.worker_log)}")
            left = deadline - time.monotonic()
            if left <= 0:
                if what:
                    raise DemoError(f"no result for {what} after {timeout:.0f}s; worker log: {self.worker_log}")
                return None
            batches = await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000) + 1)
            found = None
            for tp, messages in sorted(batches.items(), key=lambda kv: kv[0].topic):
                for message in messages:
                    value = orjson.loads(message.value)
                    if tp.topic.endswith("story-updates"):
                        if value.get("alert_id") in self.shown:
                            continue  # sent again for a story seen again (same alert_id, same bytes)
                        self.shown.add(value.get("alert_id"))
                        self.alerts += 1
                        self.show(orjson.dumps(value).decode() if self.as_json else format_alert(value))
                    elif tp.topic.endswith("dead-letter"):
                        self.dead += 1
                        self.say("  " + format_dead_letter(value))
                    elif found is None and want(value):
                        found = value
                        self._placed(value)
            if found is not None:
                return found

    def _placed(self, placed: dict) -> None:
        self.say("  " + format_clustered(placed))

    async def wait_forever(self) -> None:
        self.say(f"the worker keeps running — newsroom page: {self.page_url} — Ctrl-C to stop")
        while self.worker is not None and self.worker.poll() is None:
            await asyncio.sleep(0.5)
        if self.worker is not None:
            raise DemoError(f"the worker exited with status {self.worker.returncode}; log: {self.worker_log}")

    def stop(self) -> None:
        from ..kafka.broker import stop_group

        if self.worker is not None:
            stop_group(self.worker, timeout=15)
            self.worker = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


def run_demo(settings: Settings, *, data_path: str | None = None, delay: float = 0.5,
             exit_when_done: bool = False, as_json: bool = False, out: IO[str] | None = None) -> int:
    """The ``wirestream demo`` command; returns the exit status. Ctrl-C stops cleanly."""
    from ..kafka.broker import BrokerError

    demo = Demo(settings, data_path=data_path, delay=delay, exit_when_done=exit_when_done,
                as_json=as_json, out=out or sys.stdout)
    status = 0

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        await demo.run()
        if not exit_when_done:
            await demo.wait_forever()

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        demo.say("\nstopping…")
    except KeyboardInterrupt:  # a signal before the handlers were installed
        demo.say("\nstopping…")
    except (DemoError, BrokerError) as exc:
        print(f"wirestream demo: {exc}", file=sys.stderr)
        status = 1
    finally:
        # ignore further Ctrl-C while children are being stopped
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            demo.stop()
        finally:
            signal.signal(signal.SIGINT, previous)
        if status == 0:
            shutil.rmtree(demo.workdir, ignore_errors=True)
    if status == 0:
        demo.say("stopped.")
    return status
