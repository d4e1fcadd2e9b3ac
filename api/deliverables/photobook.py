"""The 写真帳 (photo book) of chosen photos of a work, printed through the shared renderer
(issue 8 §3 item 3): three photos to an A4 page, each beside its 写真情報 from PHOTO.XML
(写真タイトル, 工種 / 種別 / 細別, 撮影箇所, 撮影年月日 as given) and its file name, pages numbered
over the whole book.

Photos are scaled to at most 1,000 px for print (``indexer.extract.images.fit_jpeg``) and the
book is rendered in parts of ``PER_PART`` photos (the renderer takes at most 32 MiB of data per
compile), then bound by ``api.pdf.bundle`` with ``n / N`` on every page.
"""

from __future__ import annotations

import asyncio
from typing import Any

from api.archive.cas import ContentStore
from api.archive.models import NODES, content_scope
from api.container import Container
from api.errors import NotFoundError, ValidationFailed
from api.kit.clock import jst_stamp, jst_text
from api.pdf import BundlePart, bundle
from api.permissions.policy import Subject
from api.works.service import WorkService
from indexer.extract.images import fit_jpeg
from storage.query import Record

TEMPLATE = "deliverables/templates/photo_book.typ"
MAX_PHOTOS = 300
PER_PART = 24
MAX_PHOTO_BYTES = 64 << 20
PHOTO_LEVELS = ("写真-大分類", "写真区分", "工種", "種別", "細別")
_IMAGE_TYPES = frozenset({"jpeg", "jpg", "png", "tiff", "tif", "bmp", "gif", "webp"})


def is_photo(node: Record) -> bool:
    kind = str(node.get("file_type") or "").lower()
    content = str(node.get("content_type") or "").lower()
    return kind in _IMAGE_TYPES or kind.startswith("image/") or content.startswith("image/")


def valid_date(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def info_rows(node: Record) -> list[list[str]]:
    """The 写真情報 of one photo as (label, value) rows, as PHOTO.XML gives them."""
    meta = node.get("meta") or {}
    rows: list[list[str]] = []
    if meta.get("title"):
        rows.append(["写真タイトル", str(meta["title"])])
    for label, value in zip(PHOTO_LEVELS, meta.get("photo_path") or (), strict=False):
        if value:
            rows.append([label, str(value)])
    if meta.get("shooting_spot"):
        rows.append(["撮影箇所", str(meta["shooting_spot"])])
    shot = meta.get("photo_date")
    if shot:
        text = str(shot)
        rows.append(
            ["撮影年月日", text if valid_date(text) else f"{text}（日付として正しくありません）"]
        )
    elif (node.get("extract") or {}).get("photo_date"):
        rows.append(["撮影日（Exif）", jst_text(str(node["extract"]["photo_date"]))])
    rows.append(["ファイル", str(node.get("path") or node.get("name") or "")])
    return rows


async def _image(container: Container, node: Record) -> list[int] | None:
    sha = node.get("sha256")
    if not sha or int(node.get("size") or 0) > MAX_PHOTO_BYTES:
        return None
    cas = ContentStore(container.records, container.blobs, container.clock)
    blob = await cas.lookup(content_scope(node), str(sha))
    if blob is None:
        return None
    data = b"".join([c async for c in container.blobs.get(str(blob["key"]))])
    fitted = await asyncio.to_thread(fit_jpeg, data)
    return list(fitted) if fitted is not None else None


async def photo_book(
    container: Container, subject: Subject | None, work_id: str, node_ids: list[str]
) -> tuple[bytes, str]:
    """The book's PDF and its file name (``写真帳_<番号>_<JST>.pdf``)."""
    work = await WorkService.of(container).load(subject, work_id, "files.read")
    if not node_ids:
        raise ValidationFailed("写真を選んでください。", param="node_ids")
    if len(node_ids) > MAX_PHOTOS:
        raise ValidationFailed(
            f"写真帳に含められるのは{MAX_PHOTOS}枚までです（{len(node_ids)}枚選択）。",
            param="node_ids",
        )
    found = {str(n["id"]): n for n in await container.records.get_many(NODES, node_ids)}
    ordered: list[Record] = []
    for node_id in dict.fromkeys(node_ids):
        node = found.get(node_id)
        if node is None or node.get("work_id") != work_id or node.get("kind") != "file":
            raise NotFoundError("選んだ写真が見つかりません。")
        if not is_photo(node):
            raise ValidationFailed(
                f"写真（画像）ではないファイルは写真帳に入れられません: {node.get('name')}",
                param="node_ids",
            )
        ordered.append(node)
    title = "工事写真帳" if work.get("kind") != "service" else "業務写真帳"
    base: dict[str, Any] = {
        "title": title,
        "work": f"{work.get('title', '')}（{work.get('number', '')}）",
        "number": str(work.get("number") or ""),
        "footer": f"{work.get('title', '')}　{title}",
    }
    parts: list[BundlePart] = []
    for start in range(0, len(ordered), PER_PART):
        chunk = ordered[start : start + PER_PART]
        photos = [{"img": await _image(container, node), "rows": info_rows(node)} for node in chunk]
        data = {**base, "photos": photos, "first": start == 0}
        parts.append(BundlePart(await container.pdf.render(TEMPLATE, data), f"part{start}"))
    pdf = await bundle(container.pdf, parts, number_pages=True)
    number = str(work.get("number") or work_id).replace("/", "_")
    return pdf, f"写真帳_{number}_{jst_stamp(container.clock.now())}.pdf"
