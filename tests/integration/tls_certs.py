"""Test certificates laid out the way cert-manager writes its Secret.

cert-manager's Secret for a `Certificate` has three keys, and the pods mount
it as a directory: `tls.crt` (the leaf), `tls.key`, and `ca.crt` (the CA that
signed it; filled by CA issuers). `TestPki` writes the same three files into a
folder, so a test feeds the real programs exactly the paths a pod has, and
`rotate` swaps the leaf the way the kubelet does (a new file renamed over the
old one) to show reloading without a restart.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = dt.timedelta(days=1)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write beside, then rename over: readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    os.replace(tmp, path)


class TestPki:
    """One CA and a leaf for every name a pod or client uses (server and client auth,
    as the Certificate the program renders asks for)."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path, names: list[str], cn: str = "redis-platform-test-ca"):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.names = names
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.serial = 0
        _write(self.ca, self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.rotate()

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def cert(self) -> Path:
        return self.folder / "tls.crt"

    @property
    def key(self) -> Path:
        return self.folder / "tls.key"

    def rotate(self) -> int:
        """A new key and leaf (what cert-manager does at renewal); returns its serial."""
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for n in self.names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        now = dt.datetime.now(dt.timezone.utc)
        self.serial = x509.random_serial_number()
        leaf = (
            x509.CertificateBuilder()
            .subject_name(_name(self.names[0])).issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(self.serial)
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + _VALID)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        _write(self.key, _pem_key(key), 0o600)
        _write(self.cert, leaf.public_bytes(serialization.Encoding.PEM))
        return self.serial


def served_serial(host: str, port: int, ca: Path, timeout: float = 2) -> int:
    """Serial of the certificate a TLS server presents, verified against ``ca``
    (the chain only: Redis's peers and redis-cli do not check names either)."""
    import socket
    import ssl

    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False
    with socket.create_connection((host, port), timeout=timeout) as sock, ctx.wrap_socket(sock) as tls:
        der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).serial_number
