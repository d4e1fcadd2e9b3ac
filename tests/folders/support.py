"""Helpers of the folder, inspection and hand-over tests (on ``tests.proposals.harness``)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from api.permissions.policy import Subject
from tests.proposals.harness import API, BUILDER, CHIEF, SUP, Harness

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def jpeg(date: str = "2026:06:10 10:00:00", size: tuple[int, int] = (16, 12)) -> bytes:
    img = Image.new("RGB", size, (200, 180, 160))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = date
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def upload(
    h: Harness,
    work_id: str,
    folder: str,
    name: str,
    data: bytes,
    ctype: str,
    who: Subject = BUILDER,
) -> dict[str, Any]:
    """A document registered into a chosen folder (別表1-1 5(2)) through the multipart API."""
    r = await h.call(
        who,
        "POST",
        f"{API}/works/{work_id}/files",
        files=[("file", (name, data, ctype))],
        data={"folder": folder},
    )
    assert r.status_code == 201, r.text
    placed: dict[str, Any] = r.json()[0]
    return placed


async def folders(h: Harness, work_id: str, who: Subject = BUILDER) -> dict[str, Any]:
    body: dict[str, Any] = await h.ok(who, "GET", f"/works/{work_id}/folders")
    return body


def by_path(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in listing["folders"]}


async def decided(
    h: Harness,
    work_id: str,
    title: str = "区画線の施工時期について",
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A 工事打合せ簿 (業務打合せ簿 for a 業務) routed to SUP then CHIEF and decided (別表1-1
    4(1)(8)(11))."""
    work = await h.ok(SUP, "GET", f"/works/{work_id}")
    if work["kind"] == "service":
        new = await h.ok(BUILDER, "GET", f"/works/{work_id}/proposals/new?form_id=gyomu_uchiawase")
        values = {
            **new["values"],
            "method": "対面",
            "subject": title,
            "content": "現地確認の結果。",
        }
        draft = await h.ok(
            BUILDER,
            "POST",
            f"/works/{work_id}/proposals",
            201,
            json={
                "form_id": "gyomu_uchiawase",
                "title": title,
                "values": values,
                "attachments": attachments or [],
            },
        )
    else:
        draft = await h.draft(work_id, title=title, attachments=attachments or [])
    route = [
        {"kind": "approve", "assignees": [SUP.user_id]},
        {"kind": "approve", "assignees": [CHIEF.user_id]},
    ]
    await h.act(BUILDER, draft["id"], "submit", route=route, requested_answer_date="2026-06-15")
    await h.act(SUP, draft["id"], "approve")
    h.clock.advance(days=1)
    await h.act(CHIEF, draft["id"], "approve")
    found: dict[str, Any] = await h.get(SUP, draft["id"])
    assert found["proposal"]["state"] == "decided", found["proposal"]["state"]
    return found["proposal"]
