"""One HTTP answer for stored content, shared by every download of Kura (archive files,
attachments of posts, proposals, bonds and applications): ETag and If-None-Match (304), one
byte range (206/416), RFC 6266 file names, ``nosniff``, and inline display, sandboxed, only
for a type ingest detected and ``download.INLINE_TYPES`` lists (issue 7 item 7)."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from api.archive.cas import ContentStore
from api.archive.download import content_disposition, etag_of, inline_type, plan, served_type
from api.keys.ring import ScopeKeyRing
from storage.errors import KeyDestroyed
from storage.query import Record

NO_SNIFF = {"X-Content-Type-Options": "nosniff"}


async def ensure_not_erased(keys: ScopeKeyRing, scope: str) -> None:
    """410 ``erased`` for content of an erased scope (its objects are gone, and any copy
    left cannot be decrypted): checked before a download starts, since a stream that fails
    after its headers were sent can only be cut."""
    if await keys.destroyed(scope) is not None:
        raise KeyDestroyed(scope)


def serve_content(
    request: Request,
    cas: ContentStore,
    blob: Record,
    *,
    record: Record,
    disposition: str = "attachment",
) -> Response:
    """The bytes of ``blob`` (a content-store record) for a GET or HEAD of ``record`` (the
    file node or attachment: its name, detected and declared types, ingest state)."""
    size = int(blob["size"])
    etag = etag_of(str(blob.get("sha256") or blob["id"]))
    h = request.headers
    p = plan(size, etag, h.get("range"), h.get("if-none-match"), h.get("if-range"))
    shown = inline_type(record) if disposition == "inline" else None
    inline = shown is not None
    media = shown or served_type(record)
    headers = {
        **dict(p.headers),
        **NO_SNIFF,
        "Content-Disposition": content_disposition(str(record["name"]), inline),
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if inline:
        headers["Content-Security-Policy"] = "sandbox; frame-ancestors 'self'"
    if p.status in (304, 416):
        if p.status == 416:
            headers["Content-Length"] = "0"
        return Response(status_code=p.status, headers=headers)
    headers["Content-Length"] = str(p.length)
    if request.method == "HEAD" or p.length == 0:
        return Response(status_code=p.status, headers=headers, media_type=media)
    return StreamingResponse(
        cas.open(blob, p.start, p.end), status_code=p.status, headers=headers, media_type=media
    )
