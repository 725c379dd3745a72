"""A throwaway certificate authority and a broker certificate for 127.0.0.1, made at test time.

``trustme`` makes the CA and the certificate; Kafka's PEM key store wants the private key as
PKCS#8 (``BEGIN PRIVATE KEY``), which ``cryptography`` re-encodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path  # the CA certificate (PEM): what a client must trust
    keystore: Path  # the broker's PKCS#8 key followed by its certificate chain (Kafka ssl.keystore.type=PEM)
    other_ca_file: Path  # a second CA that did not sign the broker: a client trusting it must refuse


def make_tls_files(directory: Path, host: str = "127.0.0.1") -> TlsFiles:
    import trustme
    from cryptography.hazmat.primitives import serialization

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert(host, "localhost")
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    keystore = directory / "broker.pem"
    keystore.write_bytes(pkcs8 + b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    keystore.chmod(0o600)
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    other_ca_file = directory / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca_file))
    return TlsFiles(ca_file=ca_file, keystore=keystore, other_ca_file=other_ca_file)
