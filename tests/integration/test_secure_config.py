"""``wirestream worker`` with security settings it cannot use: one line, exit 2, fast, no secret.

Run on both test brokers' PLAINTEXT listeners, which makes them honest targets for the failure
paths: a TLS client gets no TLS handshake there, and a SASL login is refused (no mechanism is
offered). Wrong passwords and untrusted certificates on real SASL/TLS listeners are in
tests/kafka/test_secure_kafka.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "n0t-in-any-0utput"


def worker(broker: str, tmp_path: Path, env: dict[str, str], timeout_s: str = "20") -> tuple[subprocess.CompletedProcess, float]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("WIRESTREAM_")}
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "streams.cli", "worker", "--broker", broker,
                             "--data-dir", str(tmp_path / "data"), "--connect-timeout", timeout_s],
                            capture_output=True, text=True, timeout=90, env=full, cwd=str(ROOT), check=False)
    return result, time.monotonic() - started


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert SECRET not in result.stderr + result.stdout
    return lines[0]


def test_unreachable_broker(tmp_path):
    from streams.kafka.broker import free_port

    port = free_port()
    result, elapsed = worker(f"kafka://127.0.0.1:{port}", tmp_path, {}, timeout_s="2")
    assert one_line(result) == (f"wirestream: cannot reach Kafka at 127.0.0.1:{port} "
                                "(connection refused, still unreachable after 2s)")
    assert elapsed < 20


def test_tls_against_a_plaintext_listener_fails_fast(broker_url, tmp_path):
    result, elapsed = worker(broker_url, tmp_path, {"WIRESTREAM_SECURITY_PROTOCOL": "SSL"}, timeout_s="3")
    line = one_line(result)
    where = broker_url.split("://", 1)[1]
    # Tansu never answers the TLS hello; Apache Kafka reads it as an oversized request and hangs up
    assert line.startswith((f"wirestream: Kafka at {where} accepted the connection but did not answer the TLS handshake",
                            f"wirestream: TLS handshake with Kafka at {where} failed: the broker closed the connection"))
    assert "is it a TLS listener?" in line
    assert elapsed < 25


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_sasl_refused_names_mechanism_and_user_never_the_password(broker_url, tmp_path, mechanism):
    env = {"WIRESTREAM_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "WIRESTREAM_SASL_MECHANISM": mechanism,
           "WIRESTREAM_SASL_USERNAME": "wire", "WIRESTREAM_SASL_PASSWORD": SECRET}
    result, elapsed = worker(broker_url, tmp_path, env)
    where = broker_url.split("://", 1)[1]
    assert one_line(result).startswith(
        f"wirestream: Kafka at {where} refused the credentials (SASL {mechanism} as user 'wire')")
    assert elapsed < 20  # refused at once, not retried until the connect timeout


def test_invalid_combination_is_refused_before_connecting(tmp_path):
    env = {"WIRESTREAM_SECURITY_PROTOCOL": "SASL_SSL", "WIRESTREAM_SASL_USERNAME": "wire",
           "WIRESTREAM_SASL_MECHANISM": "SCRAM-SHA-256"}
    result, _ = worker("kafka://127.0.0.1:9", tmp_path, env)
    assert one_line(result) == ("wirestream: WIRESTREAM_SECURITY_PROTOCOL=SASL_SSL with SASL SCRAM-SHA-256 "
                                "needs WIRESTREAM_SASL_PASSWORD")
