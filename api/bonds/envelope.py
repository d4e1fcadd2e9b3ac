"""The auth key's envelope: a JWS (RFC 7515) in compact serialization, signed by the issuer.

Seed 002 認証方式 案3 「電子署名されたパスワード」: the key is a random secret with the issuer's
digital signature, in a downloadable file (F01<1> 認証キーには電子署名を付与する／電子ファイル
形式とし ダウンロード可能とする). JWS rather than CMS because the payload is JSON that every
party reads (Kura, ``kura bond verify``, a browser), the certificate chain travels in the
``x5c`` header (RFC 7515 4.1.6), libraries exist everywhere (joserfc here, ``jose`` in a
browser), and a compact JWS is one line of text an orderer can paste.

Algorithms are those of the CRYPTREC list (reference §3.3): ECDSA P-256 with SHA-256
(``ES256``), RSA-PSS and RSASSA-PKCS1-v1_5 with SHA-256 (``PS256``, ``RS256``; RSA keys of at
least 2048 bits) and Ed25519 (``Ed25519``, RFC 9864; ``EdDSA`` with an Ed25519 key is
accepted too). Anything else, ``none`` included, is refused before any key is touched.

Kura assembles what it prepares (``payload``) and the signer only adds the header and the
signature, so ``sign_compact`` works with any ``Signer`` (a PKCS#12 file, an IC card through
PKCS#11, a Kura-held key); verification goes through joserfc, a standard implementation, so
what we produce is checked by code we did not write.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

ALGORITHMS = ("ES256", "PS256", "RS256", "Ed25519", "EdDSA")
KEY_TYP = "kura-bond-key+jws"
STATUS_TYP = "statuslist+jwt"
TBS_TYPE = "kura-bond-tbs"
KEYFILE_TYPE = "kura-bond-auth-key"
FORMAT = 1
MIN_RSA_BITS = 2048
MAX_TOKEN = 64 * 1024


def _registry() -> JWSRegistry:
    registry = JWSRegistry(algorithms=list(ALGORITHMS))
    # joserfc's default cap (512 bytes) is for bare headers; ours carries the x5c chain.
    registry.max_header_length = MAX_TOKEN
    return registry


_REGISTRY = _registry()


class EnvelopeError(Exception):
    """The envelope cannot be read or does not verify. ``code`` is stable, the message is
    Japanese and never names anything the key does not already say."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Signer(Protocol):
    """Something that signs with an issuer's private key (``api.bonds.signers``)."""

    @property
    def alg(self) -> str:
        """The JWS algorithm of the key (``ES256``, ``PS256``, ``RS256``, ``Ed25519``)."""

    @property
    def chain(self) -> list[x509.Certificate]:
        """The signer's certificate first, then its intermediates."""

    def sign(self, data: bytes) -> bytes:
        """The raw JWS signature of ``data`` (ECDSA as r || s, RFC 7518 3.4)."""


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64u(text: str) -> bytes:
    if not isinstance(text, str) or any(c in text for c in "+/= \n"):
        raise EnvelopeError("malformed", "認証キーの形式が正しくありません。")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise EnvelopeError("malformed", "認証キーの形式が正しくありません。") from exc


def canonical(value: Any) -> bytes:
    """Sorted keys, no white space, UTF-8: the bytes Kura prepares and the issuer signs."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def cert_id(cert: x509.Certificate) -> str:
    """A certificate's id in Kura: the SHA-256 of its DER encoding, hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def check_public_key(key: PublicKeyTypes) -> None:
    """Refuse keys outside the CRYPTREC list (reference §3.3)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return
    elif isinstance(key, ed25519.Ed25519PublicKey):
        return
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size >= MIN_RSA_BITS:
            return
        raise EnvelopeError("weak_key", "RSA鍵は2048ビット以上が必要です。")
    raise EnvelopeError(
        "unsupported_key",
        "対応していない鍵の種類です（ECDSA P-256、RSA 2048ビット以上、Ed25519のみ）。",
    )


def default_alg(key: PublicKeyTypes) -> str:
    check_public_key(key)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ES256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return "PS256"


def alg_fits(alg: str, key: PublicKeyTypes) -> bool:
    if alg == "ES256":
        return isinstance(key, ec.EllipticCurvePublicKey)
    if alg in ("Ed25519", "EdDSA"):
        return isinstance(key, ed25519.Ed25519PublicKey)
    if alg in ("PS256", "RS256"):
        return isinstance(key, rsa.RSAPublicKey)
    return False


def _jwk(key: PublicKeyTypes) -> ECKey | OKPKey | RSAKey:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECKey.import_key(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return OKPKey.import_key(key)
    if isinstance(key, rsa.RSAPublicKey):
        return RSAKey.import_key(key)
    raise EnvelopeError("unsupported_key", "対応していない鍵の種類です。")


def signing_input(header: dict[str, Any], payload: bytes) -> bytes:
    return f"{b64u(canonical(header))}.{b64u(payload)}".encode()


def sign_compact(header: dict[str, Any], payload: bytes, signer: Signer) -> str:
    """A compact JWS of ``payload`` under ``header`` plus the signer's alg and x5c chain."""
    full = {
        **header,
        "alg": signer.alg,
        "x5c": [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
            for c in signer.chain
        ],
        "kid": cert_id(signer.chain[0]),
    }
    data = signing_input(full, payload)
    return f"{data.decode()}.{b64u(signer.sign(data))}"


@dataclass(frozen=True)
class Parsed:
    """A compact JWS split and decoded, not yet verified."""

    token: str
    header: dict[str, Any]
    payload: bytes
    claims: dict[str, Any]
    chain: list[x509.Certificate]

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def alg(self) -> str:
        return str(self.header.get("alg"))


def parse_compact(token: str, typ: str = KEY_TYP) -> Parsed:
    """Split and decode; checks the shape, the ``typ``, the algorithm list and the chain's
    encoding. The signature is checked by ``verify``."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise EnvelopeError("malformed", "認証キーの形式が正しくありません。")
    head, body, sig = token.split(".")
    try:
        header = json.loads(unb64u(head))
        payload = unb64u(body)
        claims = json.loads(payload) if payload else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError("malformed", "認証キーの形式が正しくありません。") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict) or not sig:
        raise EnvelopeError("malformed", "認証キーの形式が正しくありません。")
    if header.get("typ") != typ:
        raise EnvelopeError("wrong_type", "認証キーではありません。")
    if header.get("alg") not in ALGORITHMS:
        raise EnvelopeError("bad_algorithm", "認証キーの署名方式に対応していません。")
    if "crit" in header:
        raise EnvelopeError("bad_algorithm", "認証キーの署名方式に対応していません。")
    chain: list[x509.Certificate] = []
    x5c = header.get("x5c")
    if x5c is not None:
        if not isinstance(x5c, list) or not 1 <= len(x5c) <= 5:
            raise EnvelopeError("malformed", "認証キーの証明書が正しくありません。")
        try:
            chain = [
                x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c
            ]
        except (ValueError, TypeError) as exc:
            raise EnvelopeError("malformed", "認証キーの証明書が正しくありません。") from exc
    return Parsed(token, header, payload, claims, chain)


def verify(parsed: Parsed, public_key: PublicKeyTypes) -> None:
    """Check the signature with ``public_key`` through joserfc (``EnvelopeError`` if bad)."""
    check_public_key(public_key)
    if not alg_fits(parsed.alg, public_key):
        raise EnvelopeError("bad_signature", "認証キーの電子署名を確認できません。")
    try:
        result = jws.deserialize_compact(
            parsed.token, _jwk(public_key), algorithms=[parsed.alg], registry=_REGISTRY
        )
    except (JoseError, ValueError) as exc:
        raise EnvelopeError("bad_signature", "認証キーの電子署名を確認できません。") from exc
    if result.payload != parsed.payload:
        raise EnvelopeError("bad_signature", "認証キーの電子署名を確認できません。")


def read_keyfile(text: str) -> tuple[str, str | None]:
    """The key's JWS and the status-list snapshot from a key file's text; a bare compact JWS
    (pasted) is accepted as well."""
    text = text.strip().lstrip("\ufeff")
    if len(text) > 4 * MAX_TOKEN:
        raise EnvelopeError("malformed", "認証キーの形式が正しくありません。")
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise EnvelopeError("malformed", "認証キーの形式が正しくありません。") from exc
        if not isinstance(doc, dict) or doc.get("type") != KEYFILE_TYPE:
            raise EnvelopeError("wrong_type", "認証キーのファイルではありません。")
        key = doc.get("key")
        status = doc.get("status")
        if not isinstance(key, str) or (status is not None and not isinstance(status, str)):
            raise EnvelopeError("malformed", "認証キーの形式が正しくありません。")
        return key, status
    return text, None


def keyfile(key: str, status: str | None = None) -> str:
    """The text of a key file (what the contractor downloads and hands over, F01<1>)."""
    doc: dict[str, Any] = {"type": KEYFILE_TYPE, "format": FORMAT, "key": key}
    if status is not None:
        doc["status"] = status
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
