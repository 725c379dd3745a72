"""Preflight: check that Kafka can be reached and accepts us, before Faust starts.

Faust, given a broker it cannot reach or credentials the broker refuses, logs a stack trace and
retries forever. ``wirestream worker`` runs :func:`preflight` first, with the very settings
Faust will use (:mod:`streams.kafka.connection`) and a bounded time, and stops with one line (exit 2):

    wirestream: cannot reach Kafka at kafka-0:9092 (connection refused, still unreachable after 30s)
    wirestream: Kafka at kafka-0:9093 refused the credentials (SASL SCRAM-SHA-512 as user 'wire'): ...
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
import ssl
import time
from dataclasses import dataclass
from typing import Any

from .broker import BrokerError, _QuietAiokafka, _run_coro_blocking
from ..config import Settings
from .connection import check_security, client_kwargs, describe_auth, protocol_of

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


def _handshake_error(exc: BaseException, where: str, settings: Settings, timeout: float) -> PreflightError:
    from aiokafka import errors

    protocol = protocol_of(settings)
    auth = describe_auth(settings)
    sasl_errors = (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError,
                   errors.UnsupportedSaslMechanismError, errors.IllegalSaslStateError)
    if isinstance(exc, sasl_errors):
        if isinstance(exc, errors.UnsupportedSaslMechanismError):
            detail = f"the broker does not offer SASL {settings.sasl_mechanism or 'PLAIN'} on this listener"
        elif isinstance(exc, (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError)):
            detail = "authentication failed"
            if exc.args and isinstance(exc.args[0], str) and exc.args[0]:
                detail += f": {exc.args[0]}"
        else:
            detail = type(exc).__name__
        return PreflightError(scrub(f"Kafka at {where} refused the credentials ({auth}): {detail}", settings))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PreflightError(scrub(
            f"TLS handshake with Kafka at {where} failed: cannot verify the broker's certificate "
            f"({exc.verify_message or exc.reason}); check WIRESTREAM_SSL_CAFILE", settings))
    if isinstance(exc, ssl.SSLError):
        return PreflightError(scrub(
            f"TLS handshake with Kafka at {where} failed ({str(exc.reason or exc).lower().replace('_', ' ')}); "
            f"is it a TLS listener? (WIRESTREAM_SECURITY_PROTOCOL={protocol})", settings))
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        hint = ("is it a TLS listener? a plaintext listener never answers a TLS handshake"
                if protocol in {"SSL", "SASL_SSL"} else
                "is it a Kafka listener, and a plaintext one? (WIRESTREAM_SECURITY_PROTOCOL=PLAINTEXT)")
        return PreflightError(f"Kafka at {where} accepted the connection but did not answer the "
                              f"{'TLS' if protocol in {'SSL', 'SASL_SSL'} else 'Kafka'} handshake within "
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
