"""Single-file downloads (issue 3 item 7): type, RFC 6266 file names, validators and ranges.

Pure helpers (no FastAPI): ``content_disposition`` (RFC 6266 + RFC 8187 ``filename*``),
``parse_range`` (RFC 9110 §14), ``etag_matches`` (§13.1.2 weak comparison for
If-None-Match) and ``plan`` which turns request headers into what to send.

Choices (RFC 9110 lets a server decide):
- A Range header that does not parse, is not ``bytes``, or asks for more than one range is
  ignored: the whole representation is sent with 200. Multipart/byteranges is not offered;
  clients that ask for several ranges (rare: some PDF viewers) fall back to the full body.
- A single range that cannot be satisfied gets 416 with ``Content-Range: bytes */<size>``.
- ``If-Range`` with a strong ETag equal to ours keeps the range; anything else sends 200.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from api.archive.models import IngestState
from storage.query import Record

# attr-char of RFC 8187 §3.2.1 besides ALPHA / DIGIT: these stay unencoded in filename*.
_ATTR_SAFE = "!#$&+-.^_`|~"
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(.+)$", re.IGNORECASE)
_SPEC_RE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
# Types a browser may show inline without running script from our origin: compared exactly
# with the type ingest detected from the content, never with what the uploader declared.
INLINE_TYPES = frozenset(
    {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "text/plain",
        "video/mp4",
        "audio/mpeg",
    }
)
OCTET_STREAM = "application/octet-stream"
# One ``type/subtype`` (RFC 9110 §8.3.1 tokens), nothing else.
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def content_type(node: Record) -> str:
    """The detected type (set by ingest), else the declared one, else a guess from the name."""
    detected = str(node.get("content_type") or "")
    if detected and detected != "application/octet-stream":
        return detected
    declared = str(node.get("declared_type") or "")
    if declared:
        return declared
    guessed, _ = mimetypes.guess_type(str(node.get("name") or ""), strict=False)
    return guessed or detected or "application/octet-stream"


def served_type(node: Record) -> str:
    """The ``Content-Type`` a download is sent with: ``content_type`` reduced to one bare
    media type; anything that is not one (``text/plain, text/html``) is sent as bytes."""
    media = content_type(node).split(";", 1)[0].strip().lower()
    return media if _MEDIA_TYPE.match(media) else OCTET_STREAM


def inline_type(node: Record) -> str | None:
    """The type to show ``node`` inline with, or None to send it as an attachment: only once
    ingest has detected the type of this very content, and only an ``INLINE_TYPES`` one."""
    ingest = node.get("ingest") or {}
    if ingest.get("state") != IngestState.DONE:
        return None
    if ingest.get("sha256") not in (None, node.get("sha256")):
        return None  # ingest ran on content this record no longer holds
    detected = str(node.get("content_type") or "")
    return detected if detected in INLINE_TYPES else None


def ascii_fallback(name: str) -> str:
    """An ASCII stand-in for old clients: accents dropped, other characters ``_``, the
    extension kept; never empty, never with quotes, backslashes or controls."""
    out = "".join(
        c if 0x20 <= ord(c) < 0x7F and c not in '"\\;%' else "_"
        for c in unicodedata.normalize("NFKD", name)
        if not unicodedata.combining(c)
    )
    stem, dot, ext = out.rpartition(".")
    if not dot:
        stem, ext = out, ""
    if not stem.strip("_. "):
        stem = "download"
    return f"{stem}.{ext}" if ext.strip("_") else stem


def content_disposition(name: str, inline: bool = False) -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<pct-encoded>`` (RFC 6266 §4.3:
    senders give both, recipients prefer ``filename*``)."""
    kind = "inline" if inline else "attachment"
    encoded = quote(name, safe=_ATTR_SAFE, encoding="utf-8")
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"


def etag_of(sha256: str, suffix: str = "") -> str:
    return f'"{sha256}{suffix}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match: weak comparison against a list of entity tags or ``*``."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in header.split(","))


# Byte positions beyond any object: a longer number means the same as this one. Python
# refuses to convert numbers of more than 4300 digits (a 500 before this bound).
_HUGE = 10**18


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 19 else _HUGE


class Unsatisfiable(Exception):
    """The single range asked for lies wholly outside the representation."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` for one satisfiable byte range; None to send everything
    (no header, bad syntax, another unit, several ranges); ``Unsatisfiable`` for 416."""
    if not header:
        return None
    m = _RANGE_RE.match(header)
    if m is None:
        return None
    specs = m.group(1).split(",")
    if len(specs) != 1:
        return None
    spec = _SPEC_RE.match(specs[0])
    if spec is None:
        return None
    first, last = spec.group(1), spec.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        n = _position(last)
        if n == 0 or size == 0:
            raise Unsatisfiable()
        return max(0, size - n), size
    start = _position(first)
    if last != "" and _position(last) < start:
        return None  # invalid range-spec: ignored (RFC 9110 §14.1.1)
    if start >= size:
        raise Unsatisfiable()
    end = size if last == "" else min(_position(last) + 1, size)
    return start, end


@dataclass(frozen=True)
class Plan:
    status: int  # 200, 206, 304, 416
    start: int = 0
    end: int = 0  # exclusive
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def length(self) -> int:
        return self.end - self.start


def plan(
    size: int,
    etag: str,
    range_header: str | None,
    if_none_match: str | None,
    if_range: str | None,
) -> Plan:
    """What to answer for a GET/HEAD of a ``size``-byte representation tagged ``etag``."""
    base = (("ETag", etag), ("Accept-Ranges", "bytes"))
    if etag_matches(if_none_match, etag):
        return Plan(304, headers=base)
    if if_range is not None and if_range.strip() != etag:
        range_header = None  # the client's copy is stale: send it all
    try:
        picked = parse_range(range_header, size)
    except Unsatisfiable:
        return Plan(416, headers=(*base, ("Content-Range", f"bytes */{size}")))
    if picked is None:
        return Plan(200, 0, size, base)
    start, end = picked
    return Plan(206, start, end, (*base, ("Content-Range", f"bytes {start}-{end - 1}/{size}")))
