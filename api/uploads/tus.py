"""tus 1.0.0 protocol helpers: headers, metadata, checksums, dates and the route class.

Rules here come from the tus resumable upload protocol 1.0.0
(https://tus.io/protocols/resumable-upload, "Core Protocol" and the creation,
creation-with-upload, termination, checksum and expiration extensions):

- every response except to OPTIONS carries ``Tus-Resumable``; a request naming another
  version (or none) is refused with 412 and ``Tus-Version``, and not processed;
- ``Upload-Metadata`` is comma-separated ``key base64value`` pairs (value optional), keys
  unique, without spaces or commas;
- ``Upload-Checksum`` is ``<algorithm> <base64 digest>``; "The Server MUST support at least
  the SHA1 checksum algorithm identified by sha1" (checksum extension), so ``sha1`` and
  ``sha256`` are accepted and advertised in ``Tus-Checksum-Algorithm``; an unsupported
  algorithm is 400, a mismatch of a supported one 460 (Checksum Mismatch) with nothing of the
  request kept;
- ``Upload-Expires`` is an RFC 7231 HTTP date.

Error responses keep the tus headers, so ``TusRoute`` renders errors itself instead of
leaving them to the application-wide handlers.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.errors import BadRequest, KuraError, as_kura_error, log_failure, problem
from storage.ports import CHECKSUM_SIZES, Checksum, ChecksumAlgorithm

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
# Advertised in Tus-Checksum-Algorithm; the names are the tus ones (hashlib's too).
CHECKSUM_ALGORITHMS = ",".join(CHECKSUM_SIZES)
OFFSET_OCTET_STREAM = "application/offset+octet-stream"


class VersionMismatch(KuraError):
    status = 412
    code = "tus_version_mismatch"
    title = "アップロードのプロトコルのバージョンに対応していません（tus 1.0.0 のみ対応）。"


class UnsupportedMediaType(KuraError):
    status = 415
    code = "unsupported_media_type"
    title = "Content-Type は application/offset+octet-stream でなければなりません。"


class UploadGone(KuraError):
    status = 410
    code = "upload_expired"
    title = "アップロードの有効期限が切れました。最初からやり直してください。"


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, **extra}


def parse_int_header(request: Request, name: str, *, required: bool = True) -> int | None:
    """A non-negative integer header (``Upload-Length``, ``Upload-Offset``); 400 otherwise."""
    raw = request.headers.get(name)
    if raw is None:
        if required:
            raise BadRequest(f"{name} ヘッダーがありません。")
        return None
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise BadRequest(f"{name} ヘッダーの値が正しくありません: {raw[:40]!r}")
    return int(value)


def parse_metadata(raw: str | None) -> dict[str, str]:
    """``Upload-Metadata`` into a dict of UTF-8 strings; 400 on any malformed pair."""
    result: dict[str, str] = {}
    if raw is None or not raw.strip():
        return result
    for pair in raw.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not parts[0]:
            raise BadRequest("Upload-Metadata の形式が正しくありません。")
        key = parts[0]
        if not key.isascii() or key in result:
            raise BadRequest(f"Upload-Metadata のキーが正しくないか重複しています: {key[:40]!r}")
        value = ""
        if len(parts) == 2:
            try:
                value = base64.b64decode(parts[1], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise BadRequest(
                    f"Upload-Metadata の値が base64 の UTF-8 文字列ではありません: {key}"
                ) from None
        result[key] = value
    return result


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


def parse_checksum(raw: str | None) -> Checksum | None:
    """``Upload-Checksum: <sha1|sha256> <base64>`` into the algorithm and digest (tus 1.0.0
    checksum extension: sha1 must be supported; an unsupported algorithm is 400)."""
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    name = algorithm.lower()
    if name == "sha1":
        algo: ChecksumAlgorithm = "sha1"
    elif name == "sha256":
        algo = "sha256"
    else:
        raise BadRequest(
            f"対応していないチェックサム方式です: {algorithm[:20]!r}"
            f"（{CHECKSUM_ALGORITHMS} に対応）"
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Upload-Checksum の値が base64 ではありません。") from None
    if len(digest) != CHECKSUM_SIZES[algo]:
        raise BadRequest(f"Upload-Checksum の {algo} の長さが正しくありません。")
    return Checksum(algo, digest)


def http_date(value: datetime) -> str:
    """RFC 7231 IMF-fixdate, e.g. ``Wed, 25 Jun 2014 16:00:00 GMT``."""
    return email.utils.format_datetime(value, usegmt=True)


def error_response(request: Request, exc: KuraError) -> Response:
    headers = tus_headers()
    if isinstance(exc, VersionMismatch):
        headers["Tus-Version"] = TUS_VERSION
    response = problem(exc.status, exc.code, exc.title, exc.detail, request.url.path, **exc.extra)
    response.headers.update(headers)
    return response


class TusRoute(APIRoute):
    """An APIRoute that enforces ``Tus-Resumable`` and keeps tus headers on every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            version = request.headers.get("tus-resumable", "").strip()
            if request.method != "OPTIONS" and version != TUS_VERSION:
                return error_response(request, VersionMismatch())
            try:
                response = await original(request)
            except Exception as exc:
                err = as_kura_error(exc)
                if err is None:
                    raise
                if err.status >= 500:
                    log_failure(exc, err.status)
                return error_response(request, err)
            response.headers.setdefault("Tus-Resumable", TUS_VERSION)
            return response

        return handler
