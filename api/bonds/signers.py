"""Signers of auth keys: a private key in hand (PKCS#12 file, Kura-held key) or an IC card.

Seed 002 requires issuers' certificates on IC cards (ICカードに格納されていること) and an IC
card reader at the issuer's terminal (認証方式の比較 案3: 発行機関のクライアント端末に…ICカード
リーダが必要). Cards are reached through PKCS#11, the standard interface of card middleware
(JPKI's and the commercial CAs' drivers ship a PKCS#11 module): ``Pkcs11Signer`` signs through
a small port (``TokenSession``) whose real implementation is ``python-pkcs11``
(``open_token``); tests run it against SoftHSM and a fake session. A PKCS#12 file
(``KeySigner.from_pkcs12``) serves issuers whose key is a file, and Kura-held keys.

Signatures are returned in JWS form: ECDSA as r || s (RFC 7518 3.4), RSA-PSS with SHA-256,
MGF1-SHA-256 and a 32-byte salt (RFC 7518 3.5), Ed25519 raw.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12

from api.bonds.envelope import EnvelopeError, alg_fits, default_alg

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


class SignerError(Exception):
    """The signer cannot sign (wrong password or PIN, no such key, unsupported key)."""


@dataclass
class KeySigner:
    """Signs with a private key held in memory."""

    key: PrivateKey
    chain: list[x509.Certificate]
    alg: str = ""

    def __post_init__(self) -> None:
        if not self.chain:
            raise SignerError("証明書がありません。")
        public = self.chain[0].public_key()
        if public != self.key.public_key():
            raise SignerError("秘密鍵と証明書が対応していません。")
        try:
            self.alg = self.alg or default_alg(public)
        except EnvelopeError as exc:
            raise SignerError(exc.message) from exc
        if not alg_fits(self.alg, public):
            raise SignerError("署名方式と鍵の種類が合いません。")

    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None, alg: str = "") -> KeySigner:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError as exc:
            raise SignerError(
                "PKCS#12ファイルを開けません（パスワードが違うか、形式が正しくありません）。"
            ) from exc
        if key is None or cert is None:
            raise SignerError("PKCS#12ファイルに秘密鍵と証明書が含まれていません。")
        if not isinstance(
            key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
        ):
            raise SignerError("対応していない鍵の種類です。")
        return cls(key, [cert, *extra], alg)

    def sign(self, data: bytes) -> bytes:
        key = self.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if self.alg == "RS256":
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return key.sign(
            data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )


class TokenSession(Protocol):
    """The port to a PKCS#11 token session (an IC card, SoftHSM, a fake in unit tests)."""

    def certificate(self, label: str) -> bytes:
        """The DER certificate stored under ``label`` on the token."""

    def sign(self, label: str, mechanism: str, data: bytes) -> bytes:
        """Sign ``data`` with the private key ``label``; ``mechanism`` is one of ``ECDSA``
        (``data`` is the SHA-256 digest, hashed on the host as most cards and SoftHSM
        require; answers r || s), ``SHA256_RSA_PKCS_PSS``, ``SHA256_RSA_PKCS``, ``EDDSA``."""


_MECHANISMS = {
    "ES256": "ECDSA",
    "PS256": "SHA256_RSA_PKCS_PSS",
    "RS256": "SHA256_RSA_PKCS",
    "Ed25519": "EDDSA",
}


class Pkcs11Signer:
    """Signs on a token through ``TokenSession``; the private key never leaves the card."""

    def __init__(
        self,
        session: TokenSession,
        key_label: str,
        intermediates: list[x509.Certificate] | None = None,
        alg: str = "",
    ) -> None:
        self.session = session
        self.key_label = key_label
        try:
            leaf = x509.load_der_x509_certificate(session.certificate(key_label))
        except ValueError as exc:
            raise SignerError("ICカードの証明書を読み取れません。") from exc
        self.chain = [leaf, *(intermediates or [])]
        try:
            self.alg = alg or default_alg(leaf.public_key())
        except EnvelopeError as exc:
            raise SignerError(exc.message) from exc
        if self.alg not in _MECHANISMS or not alg_fits(self.alg, leaf.public_key()):
            raise SignerError("署名方式と鍵の種類が合いません。")

    def sign(self, data: bytes) -> bytes:
        if self.alg == "ES256":
            digest = hashes.Hash(hashes.SHA256())
            digest.update(data)
            return self.session.sign(self.key_label, "ECDSA", digest.finalize())
        return self.session.sign(self.key_label, _MECHANISMS[self.alg], data)


class _Pkcs11Session:
    """``TokenSession`` over python-pkcs11 (the only file that imports it)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def certificate(self, label: str) -> bytes:
        from pkcs11 import Attribute, ObjectClass

        for obj in self.session.get_objects(
            {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}
        ):
            return bytes(obj[Attribute.VALUE])
        raise SignerError(f"ICカードに証明書「{label}」がありません。")

    def sign(self, label: str, mechanism: str, data: bytes) -> bytes:
        from pkcs11 import MGF, Mechanism, ObjectClass
        from pkcs11.exceptions import NoSuchKey, PKCS11Error

        try:
            key = self.session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
        except NoSuchKey as exc:
            raise SignerError(f"ICカードに秘密鍵「{label}」がありません。") from exc
        mech = getattr(Mechanism, mechanism)
        param = None
        if mechanism == "SHA256_RSA_PKCS_PSS":
            param = (Mechanism.SHA256, MGF.SHA256, 32)
        try:
            signature: bytes = key.sign(data, mechanism=mech, mechanism_param=param)
        except PKCS11Error as exc:
            raise SignerError(f"ICカードで署名できませんでした: {type(exc).__name__}") from exc
        return signature


@contextmanager
def open_token(module: Path, token_label: str, pin: str) -> Iterator[TokenSession]:
    """A session on the token ``token_label`` of the PKCS#11 ``module`` (e.g. the card
    vendor's ``.so``/``.dll``, or SoftHSM's ``libsofthsm2.so``), logged in with ``pin``."""
    from pkcs11.exceptions import PKCS11Error

    from api.kit import pkcs11lib

    path = str(module)
    try:
        # One library object per process (api.kit.pkcs11lib): a module reloaded may crash.
        lib = pkcs11lib.acquire(path)
    except PKCS11Error as exc:
        raise SignerError(
            f"ICカード（PKCS#11）を開けません: {type(exc).__name__}。"
            "PINとトークン名を確認してください。"
        ) from exc
    try:
        token = lib.get_token(token_label=token_label)
        with token.open(user_pin=pin) as session:
            yield _Pkcs11Session(session)
    except PKCS11Error as exc:
        raise SignerError(
            f"ICカード（PKCS#11）を開けません: {type(exc).__name__}。"
            "PINとトークン名を確認してください。"
        ) from exc
    finally:
        pkcs11lib.release(path)
