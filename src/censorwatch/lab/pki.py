"""The lab's certificates, generated at start with `cryptography`: a trusted test CA (written to the workdir and
handed to the probe as --ca-file) and an untrusted "MITM" CA whose certificates only the censored source sees."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LAB_DOMAIN = "lab.censorwatch.test"


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return builder.not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=30))


def make_authority(common_name: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return Authority(key, _validity(builder).sign(key, hashes.SHA256()))


def issue(authority: Authority, names: list[str]) -> tuple[bytes, bytes]:
    """A server certificate for `names` (DNS names, IP literals allowed); returns (cert chain PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(authority.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()), critical=False)
    )
    cert = _validity(builder).sign(authority.key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_context(authority: Authority, names: list[str], directory: Path, stem: str) -> ssl.SSLContext:
    """ssl.SSLContext serving a fresh certificate for `names` (ssl wants files: written to `directory`)."""
    cert_pem, key_pem = issue(authority, names)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert_pem)
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.set_alpn_protocols(["http/1.1"])
    return context


@dataclass(frozen=True)
class LabPki:
    ca_file: Path
    trusted: Authority  # the lab CA: scenarios issue their own certificates from it
    honest: ssl.SSLContext  # signed by the trusted lab CA
    mitm: ssl.SSLContext  # same names, signed by a CA nobody trusts


def create_pki(directory: Path) -> LabPki:
    directory.mkdir(parents=True, exist_ok=True)
    trusted = make_authority("censorwatch lab test CA")
    untrusted = make_authority("censorwatch lab MITM CA (untrusted)")
    ca_file = directory / "lab-ca.pem"
    ca_file.write_bytes(trusted.pem())
    names = [f"*.{LAB_DOMAIN}", LAB_DOMAIN]
    return LabPki(
        ca_file=ca_file,
        trusted=trusted,
        honest=server_context(trusted, names, directory, "lab-server"),
        mitm=server_context(untrusted, names, directory, "lab-mitm"),
    )
