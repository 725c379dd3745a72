"""Apache Kafka (KRaft) on loopback for the tests and benchmarks: fetched by Maven, run by Java.

The broker's jars are named by ``tests/kafka/pom.xml`` and copied by Maven into a cache folder
(``$WIRESTREAM_KAFKA_CACHE`` or ``~/.cache/wirestream/kafka-<version>``) the first time they are
needed; ``.ci/run`` does it up front with ``python -m tests.kafka.launcher fetch``.

    with KafkaBroker() as kafka:                 # PLAINTEXT only
        settings = settings.with_(broker=kafka.url)
    with KafkaBroker(secure=True) as kafka:      # also SASL_SSL (SCRAM-SHA-512) and SASL_PLAINTEXT (PLAIN)
        kafka.sasl_ssl_url, kafka.tls.ca_file, kafka.users

One JVM runs a combined broker + controller (``process.roles=broker,controller``) with its
storage formatted beforehand (``kafka.tools.StorageTool format``; SCRAM users are added there,
``--add-scram``, as KRaft has no ZooKeeper to hold them). The listeners:

* ``PLAINTEXT`` — what the integration suite uses, and the broker's own inter-broker listener;
* with ``secure=True``: ``SASL_SSL`` with SCRAM-SHA-512 over TLS (a CA and certificate made at
  start, :mod:`tests.kafka.certs`), and ``SASL_PLAINTEXT`` with PLAIN, both knowing ``users``.

The JVM runs in its own process group and dies with the process that started it
(``streams.kafka.broker.spawn_group``); :meth:`KafkaBroker.stop` asks it to shut down (SIGTERM)
and kills the group if it has not within the timeout, so no ``java`` is left behind.

Command line: ``python -m tests.kafka.launcher fetch`` (fetch the jars, print where),
``python -m tests.kafka.launcher run [--secure]`` (a broker until Ctrl-C).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from streams.kafka.broker import (
    BrokerError,
    _run_coro_blocking,
    free_port,
    spawn_group,
    stop_group,
    wait_until_ready,
)

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
JAVA_MIN = 17  # Apache Kafka 4.x brokers need Java 17


class KafkaUnavailable(RuntimeError):
    """Java or Maven is missing (or too old) to run Apache Kafka here; one line saying which."""


def kafka_version() -> str:
    """The pinned Apache Kafka version (``<kafka.version>`` in the pom: one place to change it)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text("utf-8"))
    if not match:  # pragma: no cover - the pom is ours
        raise RuntimeError(f"{POM}: no <kafka.version>")
    return match.group(1).strip()


def cache_dir() -> Path:
    base = os.environ.get("WIRESTREAM_KAFKA_CACHE")
    if base:
        return Path(base).expanduser() / f"kafka-{kafka_version()}"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "wirestream" / f"kafka-{kafka_version()}"


def java_binary() -> str:
    """The ``java`` to run Kafka with (``$JAVA_HOME/bin/java``, else ``java`` on PATH), 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    if not candidate:
        raise KafkaUnavailable(f"no Java: Apache Kafka {kafka_version()} needs Java {JAVA_MIN}+ "
                               "(java is not on PATH and JAVA_HOME is not set)")
    try:
        out = subprocess.run([candidate, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KafkaUnavailable(f"cannot run {candidate} -version: {exc}") from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0_x" is Java 8
        major = int(match.group(2))
    if major < JAVA_MIN:
        first = out.splitlines()[0] if out else "unknown version"
        raise KafkaUnavailable(f"Java {JAVA_MIN}+ needed for Apache Kafka {kafka_version()}, "
                               f"{candidate} is {first.strip()}")
    return candidate


def fetch_kafka(*, quiet: bool = True) -> Path:
    """The folder of the broker's jars, fetched by Maven the first time; :class:`KafkaUnavailable`
    when they are not cached and Maven is missing or cannot fetch them."""
    root = cache_dir()
    libs = root / "libs"
    done = root / ".complete"
    if done.exists():
        return libs
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one fetch at a time (CI and a test run may race)
        if done.exists():
            return libs
        mvn = shutil.which("mvn")
        if not mvn:
            raise KafkaUnavailable(f"no Maven: Apache Kafka {kafka_version()} is fetched by Maven (mvn is not on "
                                   f"PATH, and {libs} is not filled yet)")
        staging = Path(tempfile.mkdtemp(prefix="libs.", dir=root))
        argv = [mvn, "-B", "-Dstyle.color=never", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={staging}"]
        if quiet:
            argv.insert(1, "-q")
        result = subprocess.run(argv, capture_output=quiet, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            tail = " ".join((result.stdout or "").strip().splitlines()[-3:]) if quiet else ""
            raise KafkaUnavailable(f"Maven could not fetch Apache Kafka {kafka_version()} "
                                   f"(exit {result.returncode}) {tail}".strip())
        if libs.exists():
            shutil.rmtree(libs)
        staging.rename(libs)
        done.write_text(kafka_version() + "\n")
    return libs


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (as kafka-storage random-uuid)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class KafkaBroker:
    """One Apache Kafka KRaft node (broker + controller) on free loopback ports. Sync context manager."""

    secure: bool = False
    users: dict[str, str] = field(default_factory=lambda: {"wire": "wire-secret-pw"})
    host: str = "127.0.0.1"
    work_dir: Path | None = None  # a temporary folder (removed at stop) when not given
    startup_timeout: float = 120.0
    heap: str = "768m"
    log_level: str = "warn"
    extra_config: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self._own_dir = False
        self.port = self.controller_port = self.sasl_ssl_port = self.sasl_plain_port = 0
        self.tls = None

    # addresses -------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        """The PLAINTEXT listener, aiokafka style: ``127.0.0.1:PORT``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The PLAINTEXT listener, Faust style: ``kafka://127.0.0.1:PORT``."""
        return f"kafka://{self.bootstrap}"

    @property
    def sasl_ssl_url(self) -> str:
        """SASL_SSL with SCRAM-SHA-512 (``secure=True``)."""
        return f"kafka://{self.host}:{self.sasl_ssl_port}"

    @property
    def sasl_plain_url(self) -> str:
        """SASL_PLAINTEXT with PLAIN (``secure=True``)."""
        return f"kafka://{self.host}:{self.sasl_plain_port}"

    @property
    def log_path(self) -> Path:
        assert self.work_dir is not None
        return self.work_dir / "broker.log"

    # configuration ---------------------------------------------------------
    def _properties(self) -> dict[str, str]:
        assert self.work_dir is not None
        h = self.host
        listeners = [f"PLAINTEXT://{h}:{self.port}", f"CONTROLLER://{h}:{self.controller_port}"]
        advertised = [f"PLAINTEXT://{h}:{self.port}"]
        protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{h}:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.work_dir / "data"),
            # one node: every internal topic has one replica; fewer partitions start faster
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "8",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",  # a test's first group join without 3 s of waiting
            "log.cleaner.backoff.ms": "1000",
        }
        if self.secure:
            from .certs import make_tls_files

            self.tls = make_tls_files(self.work_dir / "tls", self.host)
            listeners += [f"SASL_SSL://{h}:{self.sasl_ssl_port}", f"SASL_PLAINTEXT://{h}:{self.sasl_plain_port}"]
            advertised += [f"SASL_SSL://{h}:{self.sasl_ssl_port}", f"SASL_PLAINTEXT://{h}:{self.sasl_plain_port}"]
            protocols += ["SASL_SSL:SASL_SSL", "SASL_PLAINTEXT:SASL_PLAINTEXT"]
            plain_users = " ".join(f"user_{name}={_jaas_quote(pw)}" for name, pw in self.users.items())
            props.update({
                "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
                "listener.name.sasl_ssl.ssl.keystore.location": str(self.tls.keystore),
                "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config":
                    f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};",
            })
        props["listeners"] = ",".join(listeners)
        props["advertised.listeners"] = ",".join(advertised)
        props["listener.security.protocol.map"] = ",".join(protocols)
        props.update(self.extra_config)
        return props

    def _java(self, java: str, libs: Path, main: str, *args: str, heap: str, flags: tuple[str, ...] = ()) -> list[str]:
        return [java, f"-Xmx{heap}", *flags, "-Djava.awt.headless=true",
                f"-Dorg.slf4j.simpleLogger.defaultLogLevel={self.log_level}",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-cp", str(libs / "*"), main, *args]

    # lifecycle -------------------------------------------------------------
    def start(self) -> "KafkaBroker":
        if self.proc is not None:
            raise BrokerError("Kafka broker already started")
        libs = fetch_kafka()
        java = java_binary()
        if self.work_dir is None:
            self.work_dir = Path(tempfile.mkdtemp(prefix="wirestream-kafka-"))
            self._own_dir = True
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port, self.controller_port = free_port(self.host), free_port(self.host)
        if self.secure:
            self.sasl_ssl_port, self.sasl_plain_port = free_port(self.host), free_port(self.host)
        config = self.work_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in self._properties().items()), "utf-8")
        try:
            self._format(java, libs, config)
            self._log = open(self.log_path, "ab")
            self.proc = spawn_group(self._java(java, libs, "kafka.Kafka", str(config), heap=self.heap),
                                    stdout=self._log, stderr=subprocess.STDOUT, cwd=str(self.work_dir))
            _run_coro_blocking(wait_until_ready(self.url, self.startup_timeout, self.proc))
        except BaseException as exc:
            tail = self.log_tail(5)
            self.stop()
            if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
                raise
            raise BrokerError(f"Apache Kafka did not start: {exc}" + (f" — broker log: {tail}" if tail else "")) from None
        return self

    def _format(self, java: str, libs: Path, config: Path) -> None:
        args = ["format", "--config", str(config), "--cluster-id", _cluster_id(), "--ignore-formatted"]
        if self.secure:
            for name, password in self.users.items():
                args += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
        quick = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")  # a short run: start fast
        result = subprocess.run(self._java(java, libs, "kafka.tools.StorageTool", *args, heap="256m", flags=quick),
                                capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise BrokerError(f"kafka-storage format failed: {lines[-1] if lines else result.returncode}")

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the broker down (SIGTERM: a controlled shutdown), kill its group after ``timeout``."""
        proc, self.proc = self.proc, None
        stop_group(proc, timeout)
        if self._log is not None:
            with contextlib.suppress(Exception):
                self._log.close()
            self._log = None
        if self._own_dir and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
            self._own_dir = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(Exception):
            text = self.log_path.read_text("utf-8", "replace")
            return " | ".join(ln.strip() for ln in text.splitlines()[-lines:] if ln.strip())
        return ""

    def __enter__(self) -> "KafkaBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.kafka.launcher", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="fetch the broker's jars with Maven (once) and print where they are")
    run = sub.add_parser("run", help="run a broker until Ctrl-C")
    run.add_argument("--secure", action="store_true", help="add the SASL_SSL (SCRAM) and SASL_PLAINTEXT (PLAIN) listeners")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            started = time.monotonic()
            libs = fetch_kafka(quiet=False)
            java_binary()
            print(f"Apache Kafka {kafka_version()}: {libs} ({time.monotonic() - started:.1f}s)")
            return 0
        import signal

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the broker on SIGTERM too
        with KafkaBroker(secure=args.secure, work_dir=None) as kafka:
            print(f"Apache Kafka {kafka_version()} on {kafka.url} (PLAINTEXT)", flush=True)
            if args.secure:
                print(f"  SASL_SSL SCRAM-SHA-512 {kafka.sasl_ssl_url}, CA {kafka.tls.ca_file}; "
                      f"SASL_PLAINTEXT PLAIN {kafka.sasl_plain_url}; users {sorted(kafka.users)}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while kafka.running:
                    time.sleep(1)
        return 0
    except (KafkaUnavailable, BrokerError) as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
