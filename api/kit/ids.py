"""Record ids: time-ordered, URL-safe, 26 characters (ULID-like, Crockford base32)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    """48 bits of milliseconds then 80 random bits: sorts by creation time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    out = []
    for _ in range(26):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_ids(n: int) -> list[str]:
    """``n`` ids as ``new_id`` makes them, with one read of the random source (bulk paths)."""
    millis = int(time.time() * 1000) << 80
    noise = os.urandom(10 * n)
    ids = []
    for i in range(n):
        value = millis | int.from_bytes(noise[10 * i : 10 * i + 10], "big")
        out = []
        for _ in range(26):
            out.append(_ALPHABET[value & 31])
            value >>= 5
        ids.append("".join(reversed(out)))
    return ids


def is_id(value: str) -> bool:
    return bool(ID_RE.match(value))


def id_time(value: str) -> datetime:
    """When an id from ``new_id`` was made (its leading 48 bits of milliseconds)."""
    if not is_id(value):
        raise ValueError(f"not an id: {value!r}")
    number = 0
    for char in value[:10]:
        number = number * 32 + _ALPHABET.index(char)
    return datetime.fromtimestamp(number / 1000, UTC)
