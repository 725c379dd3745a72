"""Preflight: check that Kafka can be reached and accepts us, before Faust starts.

Faust, given a broker it cannot reach or credentials the broker refuses, logs a stack trace and
retries forever. ``wirestream worker`` runs :func:`preflight` first, with the very settings
Faust will use (:mod:`streams.kafka.connection`) and a bounded time, and stops with one line (exit 2):

    wirestream: cannot reach Kafka at kafka-0:9092 (connection refused, still unreachable after 30s)
    wirestream: authentication failed for user 'wire' (SCRAM-SHA-512) at Kafka kafka-0:9093: check ...
    wirestream: TLS handshake with Kafka at kafka-0:9092 failed (certificate verify failed ...)

The check has two steps per bootstrap address:

1. a TCP connection: retried until the deadline (a broker may still be starting: compose, k8s);
2. the Kafka handshake over it — TLS, ``ApiVersions``, SASL — with a bounded timeout. Failures
   here are configuration, not transient, and are reported at once: a TLS client talking to a
   plaintext listener gets no answer (the handshake times out), a plaintext client talking to a
   TLS listener gets garbage, a refused SASL login gets an authentication error.

Secrets never appear: messages name the mechanism and the user, never the password (and any
text that came from the broker or a library is scrubbed of it all the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any

from .broker import BrokerError, _QuietAiokafka, _run_coro_blocking
from ..config import Settings
from .connection import check_security, client_kwargs, describe_auth, mechanism_of, protocol_of

log = logging.getLogger("wirestream.preflight")

#: the most one Kafka handshake (TLS + ApiVersions + SASL) may take once TCP is connected
HANDSHAKE_TIMEOUT = 10.0


class PreflightError(BrokerError):
    """Kafka is unreachable or refused us; the message is one line, without secrets."""


def _hosts(bootstrap: str) -> list[tuple[str, int]]:
    hosts = []
    for part in bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host:
            host, port = port, "9092"
        host = host.strip("[]")
        try:
            hosts.append((host, int(port)))
        except ValueError:
            raise PreflightError(f"bad Kafka address {part!r} (expected host:port)") from None
    return hosts


def _reason(exc: BaseException, settings: Settings) -> str:
    """A short human reason for a connection-level failure."""
    if isinstance(exc, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        text = "no answer"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror[0].lower() + exc.strerror[1:]
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return scrub(text, settings)


def scrub(text: str, settings: Settings) -> str:
    """``text`` without the SASL password (in case a library or the broker echoed it)."""
    secret = settings.sasl_password
    if secret:
        text = text.replace(secret, "***")
    return " ".join(text.split())  # one line


async def _tcp(host: str, port: int, timeout: float) -> None:
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def _handshake(host: str, port: int, kwargs: dict[str, Any], timeout: float) -> str | None:
    """TLS + ApiVersions + SASL on one connection; returns the cluster id (``None`` if not told)."""
    from aiokafka.conn import create_conn
    from aiokafka.protocol.metadata import MetadataRequest

    conn_kwargs = {k: v for k, v in kwargs.items() if k != "bootstrap_servers"}
    conn = await asyncio.wait_for(
        create_conn(host, port, client_id="wirestream-preflight", request_timeout_ms=int(timeout * 1000),
                    **conn_kwargs),
        timeout + 1.0,
    )
    try:
        # no topics: the brokers and the cluster id only (proves we may talk, creates nothing)
        response = await asyncio.wait_for(conn.send(MetadataRequest([], allow_auto_topic_creation=False)),
                                          timeout + 1.0)
        return getattr(response, "cluster_id", None)
    finally:
        conn.close()


@dataclass(frozen=True)
class KafkaInfo:
    """What the preflight learnt: the address that answered and the cluster id."""

    host: str
    port: int
    cluster_id: str | None

    @property
    def is_tansu(self) -> bool:
        """Tansu (the embedded dev/test broker) names its cluster ``tansu_cluster`` by default."""
        return (self.cluster_id or "").lower().startswith("tansu")


def _auth_failed(where: str, settings: Settings, detail: str = "") -> PreflightError:
    """The wrong-credentials line: ``authentication failed for user 'wire' (SCRAM-SHA-512) ...``."""
    text = (f"authentication failed for user {settings.sasl_username!r} ({mechanism_of(settings)}) at Kafka "
            f"{where}{f' ({detail})' if detail else ''}: check WIRESTREAM_SASL_USERNAME and WIRESTREAM_SASL_PASSWORD")
    return PreflightError(scrub(text, settings))


#: what brokers say for a wrong user or password: the line says that already
_RESTATED = re.compile(r"^authentication failed\W*|invalid credentials|invalid username or password", re.I)


def _broker_detail(exc: BaseException) -> str:
    """The broker's own words on a refused login, unless they only say "wrong credentials"."""
    said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    return "" if not said or _RESTATED.search(said) else said


def _handshake_error(exc: BaseException, where: str, settings: Settings, timeout: float) -> PreflightError:
    from aiokafka import errors

    protocol = protocol_of(settings)
    auth = describe_auth(settings)
    tls = protocol in {"SSL", "SASL_SSL"}
    if isinstance(exc, (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError)):
        return _auth_failed(where, settings, _broker_detail(exc))
    if (protocol.startswith("SASL_") and mechanism_of(settings).startswith("SCRAM-")
            and isinstance(exc, KeyError) and exc.args == ("v",)):
        # a broker that answers SCRAM outside SaslAuthenticate (handshake v0) ends a refused login
        # with "e=..." instead of the server signature "v=..." that aiokafka looks for
        return _auth_failed(where, settings)
    sasl_errors = (errors.UnsupportedSaslMechanismError, errors.IllegalSaslStateError)
    if isinstance(exc, sasl_errors):
        if isinstance(exc, errors.UnsupportedSaslMechanismError):
            detail = f"the broker does not offer SASL {settings.sasl_mechanism or 'PLAIN'} on this listener"
        else:
            detail = type(exc).__name__
        return PreflightError(scrub(f"Kafka at {where} refused the credentials ({auth}): {detail}", settings))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PreflightError(scrub(
            f"TLS handshake with Kafka at {where} failed: cannot verify the broker's certificate "
            f"({exc.verify_message or exc.reason}); check WIRESTREAM_SSL_CAFILE", settings))
    if isinstance(exc, ssl.SSLError) and not isinstance(exc, ssl.SSLEOFError):
        return PreflightError(scrub(
            f"TLS handshake with Kafka at {where} failed ({str(exc.reason or exc).lower().replace('_', ' ')}); "
            f"is it a TLS listener? (WIRESTREAM_SECURITY_PROTOCOL={protocol})", settings))
    if tls and isinstance(exc, (ConnectionResetError, ssl.SSLEOFError, BrokenPipeError)):
        # Apache Kafka reads a TLS hello on a plaintext listener as an oversized request and hangs up
        return PreflightError(
            f"TLS handshake with Kafka at {where} failed: the broker closed the connection; is it a TLS "
            f"listener? a plaintext listener drops a TLS handshake (WIRESTREAM_SECURITY_PROTOCOL={protocol})")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        hint = ("is it a TLS listener? a plaintext listener never answers a TLS handshake"
                if tls else
                "is it a Kafka listener, and a plaintext one? (WIRESTREAM_SECURITY_PROTOCOL=PLAINTEXT)")
        return PreflightError(f"Kafka at {where} accepted the connection but did not answer the "
                              f"{'TLS' if tls else 'Kafka'} handshake within "
                              f"{timeout:.0f}s ({protocol}): {hint}")
    return PreflightError(scrub(
        f"Kafka at {where} broke off the handshake ({protocol}, {auth}): {_reason(exc, settings)}", settings))


async def preflight(settings: Settings, timeout: float = 30.0,
                    handshake_timeout: float = HANDSHAKE_TIMEOUT) -> KafkaInfo:
    """The first bootstrap address that accepts us (:class:`KafkaInfo`); :class:`PreflightError` otherwise.

    Security settings are validated first (:class:`streams.kafka.connection.KafkaSettingsError`).
    """
    check_security(settings)
    kwargs = client_kwargs(settings)
    hosts = _hosts(kwargs["bootstrap_servers"])
    started = time.monotonic()
    deadline = started + max(timeout, 0.1)
    last: dict[tuple[str, int], BaseException] = {}
    with _QuietAiokafka():
        while True:
            for host, port in hosts:
                where = f"{host}:{port}"
                remaining = deadline - time.monotonic()
                try:
                    await _tcp(host, port, max(min(remaining, 5.0), 0.5))
                except (OSError, asyncio.TimeoutError) as exc:
                    last[(host, port)] = exc
                    continue
                try:
                    cluster_id = await _handshake(host, port, kwargs, min(handshake_timeout, max(remaining, 1.0)))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - every failure becomes one line
                    raise _handshake_error(exc, where, settings, min(handshake_timeout, max(remaining, 1.0))) from None
                log.debug("wirestream: preflight ok: Kafka at %s (%s)", where, describe_auth(settings))
                return KafkaInfo(host, port, cluster_id)
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))
    waited = time.monotonic() - started
    reasons = "; ".join(f"{h}:{p}: {_reason(e, settings)}" if len(hosts) > 1 else _reason(e, settings)
                        for (h, p), e in last.items())
    where = ",".join(f"{h}:{p}" for h, p in hosts)
    raise PreflightError(f"cannot reach Kafka at {where} ({reasons}, still unreachable after {waited:.0f}s)")


def run_preflight(settings: Settings, timeout: float = 30.0) -> KafkaInfo:
    """:func:`preflight` from sync code."""
    return _run_coro_blocking(preflight(settings, timeout))
