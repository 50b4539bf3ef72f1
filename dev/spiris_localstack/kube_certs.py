"""The local control plane's PKI: one CA, the serving and client certificates, the service-account key pair.

A real API server authenticates by client certificate (the admin is ``O=system:masters``, the controller
manager ``CN=system:kube-controller-manager``) and by service-account tokens it signs itself, and it serves
TLS for 127.0.0.1 and the in-cluster names a pod would use. Everything is made afresh per control plane with
the ``cryptography`` package, written as PEM files into the plane's directory (private keys ``0600``), and
never leaves the machine.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=7)
SERVING_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local")
SERVING_ADDRESSES = ("127.0.0.1", "10.0.0.1")


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key as PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class PlanePki:
    """Every file the control plane's components are started with."""

    ca: KeyPair
    serving: KeyPair
    admin: KeyPair
    controller_manager: KeyPair
    kubelet_client: KeyPair
    kubelet_serving: KeyPair
    service_account_key: Path
    service_account_public: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def _builder(subject: x509.Name, *, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
             authority: bool) -> x509.CertificateBuilder:
    """What every certificate of the plane has: names, key, serial, validity and key usage (a CA signs)."""
    now = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=authority, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=authority,
                                     crl_sign=authority, encipher_only=False, decipher_only=False),
                       critical=True)
    )


def _issue(directory: Path, stem: str, *, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
           subject: x509.Name, server: bool, client: bool,
           names: tuple[str, ...] = (), addresses: tuple[str, ...] = ()) -> KeyPair:
    key = _key()
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
    builder = _builder(subject, issuer=ca_cert.subject, key=key, authority=False).add_extension(
        x509.ExtendedKeyUsage(usages), critical=False)
    if names or addresses:
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pair = KeyPair(cert=directory / f"{stem}.crt", key=directory / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pair.key, key)
    return pair


def make_pki(directory: Path) -> PlanePki:
    """Create the CA and every certificate and key the plane needs under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = _name("spiris-local-ca")
    ca_cert = _builder(ca_name, issuer=ca_name, key=ca_key, authority=True).sign(ca_key, hashes.SHA256())
    ca = KeyPair(cert=directory / "ca.crt", key=directory / "ca.key")
    ca.cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(ca.key, ca_key)

    def issue(stem: str, subject: x509.Name, *, server: bool, client: bool,
              names: tuple[str, ...] = (), addresses: tuple[str, ...] = ()) -> KeyPair:
        return _issue(directory, stem, ca_cert=ca_cert, ca_key=ca_key, subject=subject,
                      server=server, client=client, names=names, addresses=addresses)

    sa_key = _key()
    sa_private = directory / "service-account.key"
    sa_public = directory / "service-account.pub"
    _write_key(sa_private, sa_key)
    sa_public.write_bytes(sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    return PlanePki(
        ca=ca,
        serving=issue("apiserver", _name("kube-apiserver"), server=True, client=False,
                      names=SERVING_NAMES, addresses=SERVING_ADDRESSES),
        admin=issue("admin", _name("spiris-local-admin", "system:masters"), server=False, client=True),
        controller_manager=issue("controller-manager", _name("system:kube-controller-manager"),
                                 server=False, client=True),
        kubelet_client=issue("apiserver-kubelet-client",
                             _name("kube-apiserver-kubelet-client", "system:masters"),
                             server=False, client=True),
        kubelet_serving=issue("kubelet", _name("system:node:spiris-local-node", "system:nodes"),
                              server=True, client=False, names=("localhost",), addresses=("127.0.0.1",)),
        service_account_key=sa_private,
        service_account_public=sa_public,
    )
