"""Kafka connection settings (security included), built in one place from ``Settings``.

Every Kafka client wirestream creates goes through here: Faust's ``broker_credentials``
(:func:`faust_credentials`) and each plain aiokafka client — topic creation, readiness checks,
``wirestream ingest``, the preflight check (:func:`client_kwargs`).

    WIRESTREAM_SECURITY_PROTOCOL   PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
    WIRESTREAM_SASL_MECHANISM      PLAIN (default with SASL_*) | SCRAM-SHA-256 | SCRAM-SHA-512
    WIRESTREAM_SASL_USERNAME / WIRESTREAM_SASL_PASSWORD
    WIRESTREAM_SSL_CAFILE          CA bundle (PEM) to verify the brokers (default: system CAs)
    WIRESTREAM_SSL_CERTFILE / WIRESTREAM_SSL_KEYFILE   client certificate and key (mutual TLS)

:func:`check_security` validates a combination before anything connects and raises
:class:`KafkaSettingsError` with one line naming the variables involved. No message and no
log line built here ever contains the SASL password.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from .broker import BrokerError, bootstrap_servers
from ..config import ENV_PREFIX, ConfigError, Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSettingsError(BrokerError, ConfigError):
    """The Kafka security settings cannot work together; the message says which and why.

    Both a :class:`BrokerError` (what the Kafka commands report as one line, exit 2) and a
    :class:`ConfigError` (it is a configuration mistake).
    """


def _var(name: str) -> str:
    return ENV_PREFIX + name.upper()


def protocol_of(settings: Settings) -> str:
    return (settings.security_protocol or "PLAINTEXT").strip().upper()


def mechanism_of(settings: Settings) -> str:
    return (settings.sasl_mechanism or "PLAIN").strip().upper()


def check_security(settings: Settings) -> None:
    """Raise :class:`KafkaSettingsError` (one line, no secret) when the settings cannot work."""
    protocol = protocol_of(settings)
    if protocol not in PROTOCOLS:
        raise KafkaSettingsError(
            f"{_var('security_protocol')}={settings.security_protocol!r} is not one of {', '.join(PROTOCOLS)}")
    sasl = protocol.startswith("SASL_")
    tls = protocol in {"SSL", "SASL_SSL"}
    if sasl:
        mechanism = mechanism_of(settings)
        if mechanism not in MECHANISMS:
            raise KafkaSettingsError(
                f"{_var('sasl_mechanism')}={settings.sasl_mechanism!r} is not one of {', '.join(MECHANISMS)}")
        missing = [_var(n) for n in ("sasl_username", "sasl_password") if not getattr(settings, n)]
        if missing:
            raise KafkaSettingsError(
                f"{_var('security_protocol')}={protocol} with SASL {mechanism} needs {' and '.join(missing)}")
    else:
        given = [_var(n) for n in ("sasl_mechanism", "sasl_username", "sasl_password") if getattr(settings, n)]
        if given:
            raise KafkaSettingsError(
                f"{', '.join(given)} set but {_var('security_protocol')}={protocol}: "
                "use SASL_PLAINTEXT or SASL_SSL to authenticate with SASL")
    files = [n for n in ("ssl_cafile", "ssl_certfile", "ssl_keyfile") if getattr(settings, n)]
    if not tls:
        if files:
            raise KafkaSettingsError(
                f"{', '.join(_var(n) for n in files)} set but {_var('security_protocol')}={protocol}: "
                "use SSL or SASL_SSL for TLS")
        return
    for name in files:
        path = getattr(settings, name)
        if not os.path.isfile(path):
            raise KafkaSettingsError(f"{_var(name)}={path}: no such file")
        if not os.access(path, os.R_OK):
            raise KafkaSettingsError(f"{_var(name)}={path}: not readable")
    if settings.ssl_keyfile and not settings.ssl_certfile:
        raise KafkaSettingsError(f"{_var('ssl_keyfile')} set without {_var('ssl_certfile')} (the client certificate)")
    ssl_context(settings)  # a file that is not PEM (or a key that does not match) fails here


def _no_key_password() -> str:
    # Called by OpenSSL only for an encrypted private key; without it OpenSSL would prompt on
    # the terminal (and hang in a container).
    raise KafkaSettingsError("encrypted")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for SSL / SASL_SSL (``None`` otherwise): verifies the brokers' certificates
    against the CA file (or the system CAs) and presents the client certificate when given."""
    if protocol_of(settings) not in {"SSL", "SASL_SSL"}:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.ssl_cafile:
        try:
            context.load_verify_locations(cafile=settings.ssl_cafile)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise KafkaSettingsError(
                f"{_var('ssl_cafile')}={settings.ssl_cafile}: not a PEM CA certificate ({_ssl_reason(exc)})") from None
    if settings.ssl_certfile:
        try:
            context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile or None, password=_no_key_password)
        except KafkaSettingsError:
            raise KafkaSettingsError(
                f"{_var('ssl_keyfile') if settings.ssl_keyfile else _var('ssl_certfile')}: the private key is "
                "encrypted; give an unencrypted key (keep it in a Secret)") from None
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise KafkaSettingsError(
                f"{_var('ssl_certfile')}={settings.ssl_certfile}"
                + (f" / {_var('ssl_keyfile')}={settings.ssl_keyfile}" if settings.ssl_keyfile else "")
                + f": not a usable PEM certificate and key ({_ssl_reason(exc)})") from None
    return context


def _ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin, AIOKafkaClient)."""
    check_security(settings)
    protocol = protocol_of(settings)
    kwargs: dict[str, Any] = {"bootstrap_servers": bootstrap_servers(settings.broker), "security_protocol": protocol}
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if protocol.startswith("SASL_"):
        kwargs["sasl_mechanism"] = mechanism_of(settings)
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_password
    return kwargs


def faust_credentials(settings: Settings) -> Any:
    """Faust ``broker_credentials`` for the same settings (``None`` for PLAINTEXT)."""
    import faust

    check_security(settings)
    protocol = protocol_of(settings)
    context = ssl_context(settings)
    if protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=mechanism_of(settings),
            ssl_context=context,  # SASL_SSL when given, SASL_PLAINTEXT otherwise
        )
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return None


def describe_auth(settings: Settings) -> str:
    """How we authenticate, for messages: ``SASL SCRAM-SHA-512 as user 'x'`` (never a secret)."""
    protocol = protocol_of(settings)
    parts = []
    if protocol.startswith("SASL_"):
        parts.append(f"SASL {mechanism_of(settings)} as user {settings.sasl_username!r}")
    if protocol in {"SSL", "SASL_SSL"}:
        parts.append(f"TLS client certificate {settings.ssl_certfile}" if settings.ssl_certfile else "TLS")
    return ", ".join(parts) or "no authentication (PLAINTEXT)"
