"""Test CAs and certificates, generated per test session (never checked in).

A root CA (the configured trust anchor, standing in for 商業登記認証局), an intermediate, and
issuer signing certificates of every accepted key type (ECDSA P-256, Ed25519, RSA 3072),
plus an untrusted CA, an expired certificate, a revoked one (in the intermediate's CRL), a
certificate whose key is too weak (RSA 1024) and one without a signing key usage. The CRLs
are written as files the settings name, like an operator's CRL downloads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from api.bonds.signers import KeySigner, PrivateKey

NOW = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)


def _name(cn: str, org: str = "Kura Test PKI") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _hash(key: object) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make_cert(
    subject: str,
    public: object,
    issuer_name: x509.Name,
    issuer_key: PrivateKey,
    *,
    ca: bool,
    start: dt.datetime = NOW - dt.timedelta(days=30),
    days: int = 3650,
    signing: bool = True,
    org: str = "Kura Test PKI",
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject, org))
        .issuer_name(issuer_name)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=signing and not ca,
                content_commitment=signing and not ca,
                key_encipherment=not signing and not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)  # type: ignore[arg-type]
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    return builder.sign(issuer_key, _hash(issuer_key))  # type: ignore[arg-type]


def make_crl(
    issuer: x509.Certificate,
    key: PrivateKey,
    revoked: list[x509.Certificate],
    *,
    last: dt.datetime = NOW - dt.timedelta(days=1),
    days: int = 3650,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(last)
        .next_update(last + dt.timedelta(days=days))
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(last)
            .build()
        )
    return builder.sign(key, _hash(key))  # type: ignore[arg-type]


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Identity:
    """An issuer's signing certificate with its key and intermediates."""

    key: PrivateKey
    cert: x509.Certificate
    intermediates: list[x509.Certificate]

    @property
    def chain_pem(self) -> str:
        return "".join(pem(c) for c in [self.cert, *self.intermediates])

    def signer(self, alg: str = "") -> KeySigner:
        return KeySigner(self.key, [self.cert, *self.intermediates], alg)

    def pkcs12(self, password: bytes = b"p12-pass") -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"issuer",
            self.key,  # type: ignore[arg-type]
            self.cert,
            self.intermediates,
            serialization.BestAvailableEncryption(password),
        )


@dataclass
class Pki:
    root: x509.Certificate
    root_key: PrivateKey
    inter: x509.Certificate
    inter_key: PrivateKey
    anchor_file: Path
    crl_files: list[Path]
    ec: Identity
    ed: Identity
    rsa: Identity
    ec_b: Identity  # another issuer's
    untrusted: Identity
    expired: Identity
    revoked: Identity
    weak: Identity
    no_signing: Identity
    custodial: Identity
    extra: dict[str, Identity] = field(default_factory=dict)

    def issue(self, subject: str, key: PrivateKey | None = None, **kw: object) -> Identity:
        key = key or ec.generate_private_key(ec.SECP256R1())
        cert = make_cert(
            subject, key.public_key(), self.inter.subject, self.inter_key, ca=False, **kw
        )  # type: ignore[arg-type]
        return Identity(key, cert, [self.inter])


def build(folder: Path) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Kura Test Root CA (商業登記認証局の代わり)")
    root = make_cert(
        "Kura Test Root CA (商業登記認証局の代わり)",
        root_key.public_key(),
        root_name,
        root_key,
        ca=True,
        days=7300,
        start=NOW - dt.timedelta(days=365),
    )
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = make_cert(
        "Kura Test Issuing CA", inter_key.public_key(), root.subject, root_key, ca=True
    )

    def leaf(subject: str, key: PrivateKey, **kw: object) -> Identity:
        cert = make_cert(subject, key.public_key(), inter.subject, inter_key, ca=False, **kw)  # type: ignore[arg-type]
        return Identity(key, cert, [inter])

    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue_root = make_cert(
        "Rogue CA", rogue_key.public_key(), _name("Rogue CA"), rogue_key, ca=True
    )
    untrusted_key = ec.generate_private_key(ec.SECP256R1())
    untrusted = Identity(
        untrusted_key,
        make_cert(
            "偽 発行機関", untrusted_key.public_key(), rogue_root.subject, rogue_key, ca=False
        ),
        [],
    )
    revoked = leaf("失効 保証株式会社", ec.generate_private_key(ec.SECP256R1()))
    weak_key = rsa.generate_private_key(65537, 1024)
    pki = Pki(
        root=root,
        root_key=root_key,
        inter=inter,
        inter_key=inter_key,
        anchor_file=folder / "anchors.pem",
        crl_files=[folder / "root.crl", folder / "inter.crl"],
        ec=leaf("東日本保証株式会社 署名用", ec.generate_private_key(ec.SECP256R1())),
        ed=leaf("東日本保証株式会社 署名用 Ed25519", ed25519.Ed25519PrivateKey.generate()),
        rsa=leaf("東日本保証株式会社 署名用 RSA", rsa.generate_private_key(65537, 3072)),
        ec_b=leaf("西日本損害保険株式会社 署名用", ec.generate_private_key(ec.SECP256R1())),
        untrusted=untrusted,
        expired=leaf(
            "期限切れ 保証株式会社",
            ec.generate_private_key(ec.SECP256R1()),
            start=NOW - dt.timedelta(days=400),
            days=365,
        ),
        revoked=revoked,
        weak=leaf("弱鍵 保証株式会社", weak_key),
        no_signing=leaf(
            "暗号用 保証株式会社", ec.generate_private_key(ec.SECP256R1()), signing=False
        ),
        custodial=leaf("カードなし 保証株式会社", ec.generate_private_key(ec.SECP256R1())),
    )
    pki.anchor_file.write_text(pem(root))
    write_crls(pki, [revoked.cert])
    return pki


def write_crls(pki: Pki, revoked: list[x509.Certificate], **kw: object) -> None:
    root_crl = make_crl(pki.root, pki.root_key, [])
    inter_crl = make_crl(pki.inter, pki.inter_key, revoked, **kw)  # type: ignore[arg-type]
    pki.crl_files[0].write_bytes(root_crl.public_bytes(serialization.Encoding.PEM))
    pki.crl_files[1].write_bytes(inter_crl.public_bytes(serialization.Encoding.PEM))
