"""Kafka security settings -> client kwargs / Faust credentials, their validation, and the
preflight's one-line errors. No broker needed (closed ports and a silent fake listener)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from streams.config import ConfigError, Settings
from streams.kafka.connection import (
    KafkaSettingsError,
    check_security,
    client_kwargs,
    describe_auth,
    faust_credentials,
)
from streams.kafka.preflight import PreflightError, _handshake_error, preflight

SECRET = "s3cr3t-Pa55word"


def sasl(**kw) -> Settings:
    base = dict(broker="kafka://k1:9092;k2:9093", security_protocol="SASL_PLAINTEXT",
                sasl_mechanism="SCRAM-SHA-512", sasl_username="wire", sasl_password=SECRET)
    base.update(kw)
    return Settings(**base)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A CA, and a client certificate + key it signed (openssl CLI); an encrypted key too."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command")
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=wire")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.pem", "-days", "2")
    run("rsa", "-in", "client.key", "-aes256", "-passout", "pass:x", "-out", "client-enc.key")
    return {"ca": d / "ca.pem", "cert": d / "client.pem", "key": d / "client.key", "enc_key": d / "client-enc.key"}


# --------------------------------------------------------------------------- mapping


def test_plaintext_is_the_default():
    kwargs = client_kwargs(Settings(broker="kafka://h:1;h2:2"))
    assert kwargs == {"bootstrap_servers": "h:1,h2:2", "security_protocol": "PLAINTEXT"}
    assert faust_credentials(Settings()) is None
    assert describe_auth(Settings()) == "no authentication (PLAINTEXT)"


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "scram-sha-512", None])
def test_sasl_plaintext_mapping(mechanism):
    settings = sasl(sasl_mechanism=mechanism)
    want = (mechanism or "PLAIN").upper()
    kwargs = client_kwargs(settings)
    assert kwargs == {"bootstrap_servers": "k1:9092,k2:9093", "security_protocol": "SASL_PLAINTEXT",
                      "sasl_mechanism": want, "sasl_plain_username": "wire", "sasl_plain_password": SECRET}
    creds = faust_credentials(settings)
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    auth = credentials_to_aiokafka_auth(creds)
    assert auth["security_protocol"] == "SASL_PLAINTEXT" and auth["sasl_mechanism"] == want
    assert auth["sasl_plain_username"] == "wire" and auth["sasl_plain_password"] == SECRET
    assert auth["ssl_context"] is None
    assert describe_auth(settings) == f"SASL {want} as user 'wire'"


def test_sasl_ssl_with_ca_file(pki):
    settings = sasl(security_protocol="sasl_ssl", ssl_cafile=str(pki["ca"]))
    kwargs = client_kwargs(settings)
    assert kwargs["security_protocol"] == "SASL_SSL"
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    auth = credentials_to_aiokafka_auth(faust_credentials(settings))
    assert auth["security_protocol"] == "SASL_SSL" and isinstance(auth["ssl_context"], ssl.SSLContext)
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"


def test_ssl_with_client_certificate(pki):
    settings = Settings(security_protocol="SSL", ssl_cafile=str(pki["ca"]), ssl_certfile=str(pki["cert"]),
                        ssl_keyfile=str(pki["key"]))
    kwargs = client_kwargs(settings)
    assert kwargs["security_protocol"] == "SSL" and "sasl_mechanism" not in kwargs
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    auth = credentials_to_aiokafka_auth(faust_credentials(settings))
    assert auth["security_protocol"] == "SSL" and isinstance(auth["ssl_context"], ssl.SSLContext)
    assert describe_auth(settings) == f"TLS client certificate {pki['cert']}"


def test_ssl_without_cafile_uses_the_system_cas():
    context = client_kwargs(Settings(security_protocol="SSL"))["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_every_plain_client_goes_through_the_same_function():
    """broker.kafka_client_kwargs (topic creation, ingest, readiness) is streams.kafka.connection's."""
    from streams.runtime.app import broker_credentials
    from streams.kafka.broker import kafka_client_kwargs

    settings = sasl()
    assert kafka_client_kwargs(settings) == client_kwargs(settings)
    assert broker_credentials(settings).mechanism.value == "SCRAM-SHA-512"


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("changes, message", [
    ({"security_protocol": "TLS"}, "WIRESTREAM_SECURITY_PROTOCOL='TLS' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
    ({"sasl_mechanism": "GSSAPI"}, "WIRESTREAM_SASL_MECHANISM='GSSAPI' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ({"sasl_username": None}, "SASL_PLAINTEXT with SASL SCRAM-SHA-512 needs WIRESTREAM_SASL_USERNAME"),
    ({"sasl_password": None}, "needs WIRESTREAM_SASL_PASSWORD"),
    ({"sasl_username": None, "sasl_password": None}, "needs WIRESTREAM_SASL_USERNAME and WIRESTREAM_SASL_PASSWORD"),
    ({"security_protocol": "PLAINTEXT"}, "WIRESTREAM_SASL_MECHANISM, WIRESTREAM_SASL_USERNAME, WIRESTREAM_SASL_PASSWORD set but WIRESTREAM_SECURITY_PROTOCOL=PLAINTEXT"),
    ({"security_protocol": "SSL"}, "set but WIRESTREAM_SECURITY_PROTOCOL=SSL: use SASL_PLAINTEXT or SASL_SSL"),
    ({"ssl_cafile": "/ca.pem"}, "WIRESTREAM_SSL_CAFILE set but WIRESTREAM_SECURITY_PROTOCOL=SASL_PLAINTEXT: use SSL or SASL_SSL"),
    ({"security_protocol": "SASL_SSL", "ssl_cafile": "/nonexistent/ca.pem"}, "WIRESTREAM_SSL_CAFILE=/nonexistent/ca.pem: no such file"),
])
def test_bad_combinations_are_one_clear_line(changes, message):
    with pytest.raises(KafkaSettingsError) as info:
        check_security(sasl(**changes))
    text = str(info.value)
    assert message in text
    assert "\n" not in text and SECRET not in text
    assert isinstance(info.value, ConfigError)  # a configuration mistake ...
    from streams.kafka.broker import BrokerError

    assert isinstance(info.value, BrokerError)  # ... that the Kafka commands report as exit 2


def test_files_that_are_not_pem(tmp_path, pki):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(KafkaSettingsError, match=r"WIRESTREAM_SSL_CAFILE=.*junk.pem: not a PEM CA certificate"):
        check_security(Settings(security_protocol="SSL", ssl_cafile=str(junk)))
    with pytest.raises(KafkaSettingsError, match=r"WIRESTREAM_SSL_CERTFILE=.*: not a usable PEM certificate and key"):
        check_security(Settings(security_protocol="SSL", ssl_certfile=str(junk)))
    with pytest.raises(KafkaSettingsError, match="WIRESTREAM_SSL_KEYFILE set without WIRESTREAM_SSL_CERTFILE"):
        check_security(Settings(security_protocol="SSL", ssl_keyfile=str(pki["key"])))
    with pytest.raises(KafkaSettingsError, match="not a usable PEM certificate and key"):  # key of another cert
        check_security(Settings(security_protocol="SSL", ssl_certfile=str(pki["ca"]), ssl_keyfile=str(pki["key"])))


def test_an_encrypted_key_is_refused_instead_of_prompting(pki):
    with pytest.raises(KafkaSettingsError, match="the private key is encrypted"):
        check_security(Settings(security_protocol="SSL", ssl_certfile=str(pki["cert"]),
                                ssl_keyfile=str(pki["enc_key"])))


def test_secrets_stay_out_of_reprs():
    settings = sasl()
    assert SECRET not in repr(settings)
    assert SECRET not in repr(faust_credentials(settings))
    assert SECRET not in describe_auth(settings)


# --------------------------------------------------------------------------- preflight


def _closed_port() -> int:
    from streams.kafka.broker import free_port

    return free_port()


async def test_unreachable_broker_is_one_line_within_the_timeout(caplog):
    caplog.set_level(logging.DEBUG)
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(PreflightError) as info:
        await preflight(sasl(broker=f"kafka://127.0.0.1:{port}"), timeout=1.0)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 5
    assert str(info.value) == (f"cannot reach Kafka at 127.0.0.1:{port} "
                               "(connection refused, still unreachable after 1s)")
    assert SECRET not in caplog.text


async def test_several_bootstrap_servers_each_get_a_reason():
    p1, p2 = _closed_port(), _closed_port()
    with pytest.raises(PreflightError) as info:
        await preflight(Settings(broker=f"kafka://127.0.0.1:{p1};127.0.0.1:{p2}"), timeout=0.5)
    assert f"127.0.0.1:{p1}: connection refused; 127.0.0.1:{p2}: connection refused" in str(info.value)


async def test_invalid_settings_fail_before_connecting():
    with pytest.raises(KafkaSettingsError):
        await preflight(sasl(sasl_password=None), timeout=30)


@pytest.mark.parametrize("protocol", ["SSL", "PLAINTEXT"])
async def test_a_listener_that_never_answers_fails_fast_not_hangs(protocol, caplog):
    """E.g. TLS against a plaintext port: TCP connects, the handshake gets no answer."""
    caplog.set_level(logging.DEBUG)
    held: list = []

    async def silent(reader, writer):
        held.append(writer)  # accept, read nothing, answer nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = Settings(broker=f"kafka://127.0.0.1:{port}", security_protocol=protocol)
    started = time.monotonic()
    try:
        with pytest.raises(PreflightError) as info:
            await preflight(settings, timeout=30, handshake_timeout=1.0)
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert time.monotonic() - started < 5
    text = str(info.value)
    assert text.startswith(f"Kafka at 127.0.0.1:{port} accepted the connection but did not answer the")
    assert ("TLS handshake" if protocol == "SSL" else "Kafka handshake") in text
    assert "\n" not in text


def test_refused_credentials_name_the_mechanism_and_user_never_the_password(caplog):
    from aiokafka import errors

    settings = sasl()
    # even if a broker echoed the secret back, it is scrubbed
    exc = errors.SaslAuthenticationFailed(f"Account locked ({SECRET})")
    text = str(_handshake_error(exc, "k1:9092", settings, 10))
    assert text == ("authentication failed for user 'wire' (SCRAM-SHA-512) at Kafka k1:9092 (Account locked (***)): "
                    "check WIRESTREAM_SASL_USERNAME and WIRESTREAM_SASL_PASSWORD")
    # Apache Kafka's words for a wrong password only restate the line: left out
    kafka_says = ("Authentication failed during authentication due to invalid credentials with SASL mechanism "
                  "SCRAM-SHA-512")
    assert str(_handshake_error(errors.SaslAuthenticationFailed(kafka_says), "k1:9092", settings, 10)) == (
        "authentication failed for user 'wire' (SCRAM-SHA-512) at Kafka k1:9092: "
        "check WIRESTREAM_SASL_USERNAME and WIRESTREAM_SASL_PASSWORD")
    # a broker that ends a refused SCRAM login with "e=..." (no SaslAuthenticate): aiokafka's KeyError('v')
    assert str(_handshake_error(KeyError("v"), "k1:9092", settings, 10)).startswith(
        "authentication failed for user 'wire' (SCRAM-SHA-512) at Kafka k1:9092")
    unsupported = _handshake_error(errors.UnsupportedSaslMechanismError("x"), "k1:9092", settings, 10)
    assert "does not offer SASL SCRAM-SHA-512" in str(unsupported)


def test_tls_verification_failure_is_explained():
    exc = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    exc.verify_message = "self-signed certificate in certificate chain"
    text = str(_handshake_error(exc, "k1:9093", Settings(security_protocol="SSL"), 10))
    assert text == ("TLS handshake with Kafka at k1:9093 failed: cannot verify the broker's certificate "
                    "(self-signed certificate in certificate chain); check WIRESTREAM_SSL_CAFILE")
