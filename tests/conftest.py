"""Shared fixtures. Integration tests run on a real Kafka-protocol broker:

* by default an embedded Tansu (``streams.kafka.broker.EmbeddedBroker``), started once per session;
* ``WIRESTREAM_TEST_BROKER=kafka://host:port`` points them at another broker instead.

Each test gets its own topic prefix and app id (``names``), and runs workers as subprocesses
(``wirestream worker``) with their own data dirs and web ports (``workers``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


# --------------------------------------------------------------------------- broker


@pytest.fixture(scope="session")
def broker_url() -> Iterable[str]:
    """Faust-style URL of the test broker (embedded Tansu unless WIRESTREAM_TEST_BROKER)."""
    from streams.kafka.broker import BrokerError, EmbeddedBroker, _run_coro_blocking, wait_until_ready

    external = os.environ.get("WIRESTREAM_TEST_BROKER")
    if external:
        try:
            _run_coro_blocking(wait_until_ready(external, timeout=20))
        except BrokerError as exc:
            pytest.fail(f"WIRESTREAM_TEST_BROKER: {exc}", pytrace=False)
        yield external
        return
    broker = EmbeddedBroker()
    broker.start()
    try:
        yield broker.url
    finally:
        broker.stop()


@pytest.fixture()
def names() -> dict[str, str]:
    """A unique topic prefix and app id for one test."""
    tag = uuid.uuid4().hex[:8]
    return {"topic_prefix": f"t{tag}.", "app_id": f"wirestream-test-{tag}"}


@pytest.fixture()
def settings(broker_url: str, names: dict[str, str], tmp_path: Path) -> Any:
    from streams.config import Settings

    return Settings(broker=broker_url, data_dir=tmp_path / "data", partitions=4, **names)


# --------------------------------------------------------------------------- workers


class WorkerProcess:
    """One ``wirestream worker`` subprocess (own process group, own data dir and web port)."""

    def __init__(self, settings: Any, log_path: Path, env: dict[str, str] | None = None) -> None:
        from streams.kafka.broker import free_port, spawn_group

        self.settings = settings
        self.log_path = log_path
        self.web_port = free_port()
        argv = [
            sys.executable, "-m", "streams.cli", "worker",
            "--broker", settings.broker,
            "--store", settings.store,
            "--web-port", str(self.web_port),
            "--data-dir", str(settings.data_dir),
            "--topic-prefix", settings.topic_prefix,
            "--partitions", str(settings.partitions),
            "--app-id", settings.app_id,
            "--log-level", "debug",  # Faust's assignment tables (tests/integration/faustlogs.py)
        ]
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH")]))
        self._log = open(log_path, "ab")
        self.proc = spawn_group(argv, stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=str(ROOT))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no commit, no flush."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        from streams.kafka.broker import stop_group

        try:
            return stop_group(self.proc, timeout=20)
        finally:
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""


@pytest.fixture()
def workers(tmp_path: Path) -> Iterable[Callable[..., WorkerProcess]]:
    """Factory: ``workers(settings, env={...})`` starts a worker; all are stopped after the test."""
    started: list[WorkerProcess] = []

    def start(settings: Any, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"worker-{len(started)}.log", env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
