"""Signed status lists: which auth keys are no longer current, for offline verification.

Shape: a JWT of type ``statuslist+jwt`` (IETF OAuth Token Status List) whose ``status_list``
holds ``bits: 1`` and ``lst``, the zlib-compressed bitstring in base64url; the parameters
follow the W3C Bitstring Status List (module anchors §2): at least 131,072 entries per list
so one index says nothing about how many keys exist, indexes drawn at random (not in issue
order, so neighbours cannot be correlated), a set bit is final (a superseded or revoked key
never comes back), and a ``ttl`` after which a verifier should fetch a fresh list. The list is
signed by Kura's status key (``api.bonds.kurakey``): which key is current is Kura's
knowledge. Online use never relies on the list: the service reads the key's record at every
presentation, so an update closes the old key at once (F01<3>).

Known pitfalls designed against (module anchors §2): a revoked key valid until a cache TTL
(online checks do not cache); an old list replayed offline (``iat`` and ``exp`` are signed
and the verifier prints the list's age, warning past ``ttl``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from api.bonds.envelope import STATUS_TYP, EnvelopeError, b64u, parse_compact, unb64u, verify

SIZE = 131_072  # entries per list (W3C minimum, 16 KiB uncompressed)
ISSUER = "kura"


def encode(revoked: Iterable[int], size: int = SIZE) -> str:
    bits = bytearray(size // 8)
    for index in revoked:
        if 0 <= index < size:
            bits[index // 8] |= 0x80 >> (index % 8)
    return b64u(zlib.compress(bytes(bits), 9))


def decode(lst: str) -> bytes:
    try:
        return zlib.decompress(unb64u(lst), bufsize=SIZE // 8)
    except zlib.error as exc:
        raise EnvelopeError("malformed", "状態リストの形式が正しくありません。") from exc


def is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise EnvelopeError("malformed", "状態リストの範囲外です。")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def claims(
    list_id: str, url: str, revoked: Iterable[int], now: datetime, ttl: int
) -> dict[str, Any]:
    iat = int(now.timestamp())
    return {
        "iss": ISSUER,
        "sub": url,
        "list": list_id,
        "iat": iat,
        "exp": iat + 30 * 86400,
        "ttl": ttl,
        "status_list": {"bits": 1, "lst": encode(revoked)},
    }


@dataclass(frozen=True)
class StatusList:
    list_id: str
    issued_at: datetime
    ttl: int
    expires_at: datetime
    bits: bytes

    def revoked(self, index: int) -> bool:
        return is_set(self.bits, index)

    def age_seconds(self, now: datetime) -> float:
        return (now - self.issued_at).total_seconds()

    def stale(self, now: datetime) -> bool:
        return self.age_seconds(now) > self.ttl


def read(token: str, status_key: ed25519.Ed25519PublicKey) -> StatusList:
    """Verify a signed status list with Kura's status key and decode it."""
    parsed = parse_compact(token, typ=STATUS_TYP)
    verify(parsed, status_key)
    body = parsed.claims
    try:
        lst = body["status_list"]
        if lst.get("bits") != 1:
            raise ValueError("bits")
        issued = datetime.fromtimestamp(int(body["iat"]), UTC)
        expires = datetime.fromtimestamp(int(body["exp"]), UTC)
        return StatusList(str(body["list"]), issued, int(body["ttl"]), expires, decode(lst["lst"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EnvelopeError("malformed", "状態リストの形式が正しくありません。") from exc
