"""Blob key and metadata validation shared by every blob adapter.

A key is a relative, slash-separated path of ``[A-Za-z0-9._-]`` segments (``storage.ports``
``BlobStore``): no leading slash, no empty, ``.`` or ``..`` segment, at most 1024 characters
(and at most 200 per segment, so every key is a valid file name on the local adapter).
The first segments ``.tmp`` and ``.meta`` are reserved for the adapters' own bookkeeping
(temporary uploads, sidecars), so both adapters refuse them alike.
"""

from __future__ import annotations

import re

from storage.errors import InvalidQuery

MAX_KEY_LENGTH = 1024
# One segment becomes one file name on the local adapter (NAME_MAX is 255, and the sidecar adds
# ".json"); S3 has no such limit but both adapters must accept the same keys.
MAX_SEGMENT_LENGTH = 200
RESERVED_ROOTS = frozenset({".tmp", ".meta"})
# Key under which adapters keep the content digest; callers may not set it themselves.
SHA256_META = "sha256"

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_META_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_MAX_META_BYTES = 2048  # S3 allows 2 KiB of user metadata in total.


class InvalidKey(InvalidQuery, ValueError):
    """A blob key (or metadata entry) that no adapter accepts.

    A ``ValueError`` for callers validating input, and an ``InvalidQuery`` (a ``StorageError``)
    so ``api.errors`` renders it as a 400 rather than a 503.
    """


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a valid object key; raise ``InvalidKey`` otherwise."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("キーが空です")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"キーが長すぎます（最大 {MAX_KEY_LENGTH} 文字）")
    segments = key.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKey(f"キーに空・「.」・「..」の区切りは使えません: {key!r}")
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey(f"キーに使えない文字があります: {key!r}")
        if len(segment) > MAX_SEGMENT_LENGTH:
            raise InvalidKey(f"キーの区切り 1 つが長すぎます（最大 {MAX_SEGMENT_LENGTH} 文字）")
    if segments[0] in RESERVED_ROOTS:
        raise InvalidKey(f"予約されたキーです: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A list prefix: empty, or any leading part of a valid key (may end with ``/``)."""
    if prefix == "":
        return prefix
    body = prefix[:-1] if prefix.endswith("/") else prefix
    # A partial last segment ("docs/re") is fine; it only has to be made of key characters.
    validate_key(body)
    return prefix


def validate_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """User metadata: lowercase ``[a-z0-9-]`` names (they travel as HTTP header names on S3),
    string values, at most 2 KiB in total; the digest name is reserved."""
    result: dict[str, str] = {}
    total = 0
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not _META_KEY.fullmatch(name):
            raise InvalidKey(f"メタデータ名が不正です（英小文字・数字・ハイフン）: {name!r}")
        if name == SHA256_META:
            raise InvalidKey(f"メタデータ名 {name!r} は予約されています")
        if not isinstance(value, str):
            raise InvalidKey(f"メタデータ {name!r} の値は文字列にしてください")
        total += len(name) + len(value.encode())
        result[name] = value
    if total > _MAX_META_BYTES:
        raise InvalidKey("メタデータが大きすぎます（合計 2 KiB まで）")
    return result


class InvalidRange(InvalidQuery, ValueError):
    """A byte range with a negative start or an end before its start."""


def check_range(start: int, end: int | None) -> None:
    """``[start, end)`` must have ``0 <= start`` and ``start <= end``."""
    if start < 0 or (end is not None and end < start):
        raise InvalidRange(f"範囲が不正です: [{start}, {end})")
