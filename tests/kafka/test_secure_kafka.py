"""On Apache Kafka only: SASL/SCRAM over TLS end to end, refused logins and untrusted certificates
as one line (exit 2), and the topic configs the broker enforces.

The session's Kafka (``kafka_broker``) has a SASL_SSL listener with SCRAM-SHA-512 (users made at
format time, a CA made at start) and a SASL_PLAINTEXT listener with PLAIN.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kafkaio import Collector, key_version, offline, seed_lines

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def scram(kafka_broker: Any, names: dict[str, str], tmp_path: Path) -> Any:
    """Settings for the SASL_SSL listener: SCRAM-SHA-512 as ``wire``, trusting the test CA."""
    from streams.config import Settings

    return Settings(broker=kafka_broker.sasl_ssl_url, data_dir=tmp_path / "data", partitions=4,
                    security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="wire",
                    sasl_password=kafka_broker.users["wire"], ssl_cafile=str(kafka_broker.tls.ca_file), **names)


def security_env(settings: Any) -> dict[str, str]:
    env = {"WIRESTREAM_SECURITY_PROTOCOL": settings.security_protocol,
           "WIRESTREAM_SASL_MECHANISM": settings.sasl_mechanism or "",
           "WIRESTREAM_SASL_USERNAME": settings.sasl_username or "",
           "WIRESTREAM_SASL_PASSWORD": settings.sasl_password or "",
           "WIRESTREAM_SSL_CAFILE": settings.ssl_cafile or ""}
    return {k: v for k, v in env.items() if v}


def wirestream(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("WIRESTREAM_")}
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full, cwd=str(ROOT), check=False)


def one_line(result: subprocess.CompletedProcess, secret: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert secret not in result.stderr + result.stdout
    return lines[0]


async def topic_configs(settings: Any, topic: str) -> dict[str, str]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from streams.kafka.broker import kafka_client_kwargs

    admin = AIOKafkaAdminClient(**kafka_client_kwargs(settings))
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [resource] = response.resources
    error_code, error_message, *_, entries = resource
    assert error_code == 0, error_message
    return {entry[0]: entry[1] for entry in entries}


# --------------------------------------------------------------------------- end to end


async def test_worker_and_ingest_over_sasl_scram_and_tls(scram, workers, tmp_path):
    """``wirestream ingest`` and ``wirestream worker`` talk SCRAM-SHA-512 over TLS to a broker that
    checks both; what comes out equals the core offline; the password is in no output."""
    lines = seed_lines()
    _, expected_alerts = offline(lines)
    env = security_env(scram)
    async with Collector(scram) as out:  # the collector itself logs in over SASL_SSL
        worker = workers(scram, env=env)
        for i, line in enumerate(lines):  # one at a time: the seed example is defined in this order
            path = tmp_path / f"story-{i}.jsonl"
            path.write_bytes(line + b"\n")
            result = wirestream("ingest", str(path), "--broker", scram.broker, "--topic-prefix", scram.topic_prefix,
                                "--partitions", str(scram.partitions), env=env)
            assert result.returncode == 0, result.stderr
            assert '"sent":1' in result.stderr.replace(" ", "")
            await out.until(lambda c, kv=key_version(line): kv in c.clustered_keys(), 120 if i == 0 else 40,
                            what=f"{key_version(line)} on stories.clustered", alive=lambda: worker.alive,
                            logs=worker.log_tail)
        await out.until(lambda c: len(c.alerts()) >= len(expected_alerts), 40, what="the alerts",
                        logs=worker.log_tail)
        await out.poll(1.0)
    assert [a["alert_id"] for a in out.alerts()] == [a["alert_id"] for a in expected_alerts]
    assert worker.alive
    # the events table's changelog, created by Faust over SASL_SSL, takes the producer's largest record
    changelog = await topic_configs(scram, f"{scram.app_id}-events-changelog")
    assert changelog["cleanup.policy"] == "compact"
    assert int(changelog["max.message.bytes"]) == scram.max_request_bytes
    worker.stop()
    assert scram.sasl_password not in worker.log_path.read_text("utf-8", "replace")


# --------------------------------------------------------------------------- refused logins


@pytest.mark.parametrize("command", ["worker", "ingest"])
def test_wrong_scram_password_is_one_line_exit_2(scram, kafka_broker, tmp_path, command):
    wrong = scram.with_(sasl_password="not-the-Pa55word")
    args = ["worker", "--data-dir", str(tmp_path / "data"), "--connect-timeout", "20"] if command == "worker" \
        else ["ingest", str(tmp_path / "none.jsonl")]
    (tmp_path / "none.jsonl").write_text('{"uri": "u", "body_text": "x"}\n')
    line = one_line(wirestream(*args, "--broker", wrong.broker, env=security_env(wrong)), "not-the-Pa55word")
    port = kafka_broker.sasl_ssl_port
    assert line == (f"wirestream: authentication failed for user 'wire' (SCRAM-SHA-512) at Kafka 127.0.0.1:{port}: "
                    "check WIRESTREAM_SASL_USERNAME and WIRESTREAM_SASL_PASSWORD")


def test_unknown_scram_user_is_the_same_line(scram, kafka_broker, tmp_path):
    nobody = scram.with_(sasl_username="nobody")
    line = one_line(wirestream("worker", "--broker", nobody.broker, "--data-dir", str(tmp_path / "data"),
                               env=security_env(nobody)), nobody.sasl_password)
    assert line.startswith("wirestream: authentication failed for user 'nobody' (SCRAM-SHA-512) at Kafka ")


def test_wrong_plain_password_is_one_line_exit_2(kafka_broker, tmp_path):
    from streams.config import Settings

    wrong = Settings(broker=kafka_broker.sasl_plain_url, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                     sasl_username="wire", sasl_password="not-the-Pa55word")
    line = one_line(wirestream("worker", "--broker", wrong.broker, "--data-dir", str(tmp_path / "data"),
                               env=security_env(wrong)), "not-the-Pa55word")
    assert line == (f"wirestream: authentication failed for user 'wire' (PLAIN) at Kafka "
                    f"127.0.0.1:{kafka_broker.sasl_plain_port}: check WIRESTREAM_SASL_USERNAME and "
                    "WIRESTREAM_SASL_PASSWORD")


def test_right_plain_password_is_accepted(kafka_broker):
    from streams.config import Settings
    from streams.kafka.preflight import run_preflight

    ok = Settings(broker=kafka_broker.sasl_plain_url, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                  sasl_username="wire", sasl_password=kafka_broker.users["wire"])
    assert run_preflight(ok, timeout=20).port == kafka_broker.sasl_plain_port


@pytest.mark.parametrize("command", ["worker", "ingest"])
def test_untrusted_broker_certificate_is_one_line_exit_2(scram, kafka_broker, tmp_path, command):
    """The client trusts another CA than the one that signed the broker's certificate."""
    untrusting = scram.with_(ssl_cafile=str(kafka_broker.tls.other_ca_file))
    (tmp_path / "one.jsonl").write_text('{"uri": "u", "body_text": "x"}\n')
    args = ["worker", "--data-dir", str(tmp_path / "data")] if command == "worker" \
        else ["ingest", str(tmp_path / "one.jsonl")]
    line = one_line(wirestream(*args, "--broker", untrusting.broker, env=security_env(untrusting)),
                    scram.sasl_password)
    assert line == (f"wirestream: TLS handshake with Kafka at 127.0.0.1:{kafka_broker.sasl_ssl_port} failed: "
                    "cannot verify the broker's certificate (unable to get local issuer certificate); "
                    "check WIRESTREAM_SSL_CAFILE")


# --------------------------------------------------------------------------- topic configs


async def test_events_topic_is_compacted_and_takes_large_records(kafka_broker, names):
    """``wire.events`` is compacted and accepts the producer's largest record, which Kafka's 1 MiB
    default refuses (a topic without the setting, ``wire.stories``, does refuse it)."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import MessageSizeTooLargeError

    from streams.config import Settings
    from streams.kafka.broker import create_topics, kafka_client_kwargs

    settings = Settings(broker=kafka_broker.url, partitions=2, **names)
    await create_topics(settings)
    events = await topic_configs(settings, settings.topic("events"))
    assert events["cleanup.policy"] == "compact"
    assert int(events["max.message.bytes"]) == settings.max_request_bytes == 4 * 1024 * 1024
    stories = await topic_configs(settings, settings.topic("stories"))
    assert stories["cleanup.policy"] == "delete"
    assert int(stories["max.message.bytes"]) < 2 * 1024 * 1024

    big = b"x" * (2 * 1024 * 1024)
    producer = AIOKafkaProducer(max_request_size=settings.max_request_bytes, acks="all",
                                **kafka_client_kwargs(settings))
    await producer.start()
    try:
        meta = await asyncio.wait_for(producer.send_and_wait(settings.topic("events"), big, key=b"ev-1"), 60)
        assert meta.offset >= 0
        with pytest.raises(MessageSizeTooLargeError):
            await asyncio.wait_for(producer.send_and_wait(settings.topic("stories"), big, key=b"u"), 60)
    finally:
        await producer.stop()
