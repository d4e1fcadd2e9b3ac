"""Attachments (the shared service behind posts, proposals, bonds and applications): tus and
content store, staged → linked, the parent module decides who reads, bad links refused."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.attachments.service import ATTACHMENTS, AttachmentService, register_reader
from api.config import Settings
from api.container import Container
from api.permissions.policy import Subject
from storage.query import Query
from tests.works.harness import BUILDER, CLERK, NOBODY, STRANGER, Harness, harness
from workers.celery_app import set_container

pytestmark = pytest.mark.anyio
TUS = {"Tus-Resumable": "1.0.0"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# Parents of the fake kind "notes" readable by these user ids.
NOTE_READERS: dict[str, set[str]] = {}


async def _notes_reader(container: Container, subject: Subject, parent_id: str) -> bool:
    return subject.user_id in NOTE_READERS.get(parent_id, set())


register_reader("notes", _notes_reader)


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        set_container(the_harness.container)
        try:
            yield the_harness
        finally:
            set_container(None)


def meta(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


async def running_work(h: Harness) -> dict[str, Any]:
    work = await h.create(CLERK)
    r = await h.call(
        CLERK,
        "POST",
        f"/api/v1/works/{work['id']}/members",
        json={"user_id": BUILDER.user_id, "role": "contractor_member"},
    )
    assert r.status_code == 201, r.text
    return work


async def upload(h: Harness, subject: Subject | None, data: bytes, name: str, **extra: str) -> Any:
    """tus creation with the whole body (creation-with-upload); returns the final response."""
    headers = {
        **TUS,
        "Upload-Length": str(len(data)),
        "Upload-Metadata": meta(filename=name, **extra),
        "Content-Type": "application/offset+octet-stream",
    }
    return await h.call(
        subject, "POST", "/api/v1/attachments/uploads", content=data, headers=headers
    )


async def test_a_member_uploads_by_tus_and_the_attachment_is_staged_and_extracted(
    h: Harness,
) -> None:
    work = await running_work(h)
    r = await upload(
        h, BUILDER, PDF, "材料確認書.pdf", work_id=work["id"], filetype="application/pdf"
    )
    assert r.status_code == 201, r.text
    aid = r.headers["Kura-Attachment-Id"]
    got = (await h.call(BUILDER, "GET", f"/api/v1/attachments/{aid}")).json()
    assert got["state"] == "staged"
    assert got["name"] == "材料確認書.pdf"
    assert got["size"] == len(PDF)
    assert got["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert got["work_id"] == work["id"]
    assert got["ingest"]["state"] == "done"
    assert got["content_type"] == "application/pdf"
    body = await h.call(BUILDER, "GET", f"/api/v1/attachments/{aid}/content")
    assert body.status_code == 200
    assert body.content == PDF
    assert "filename*=UTF-8''%E6%9D%90" in body.headers["content-disposition"]
    ranged = await h.call(
        BUILDER, "GET", f"/api/v1/attachments/{aid}/content", headers={"Range": "bytes=0-3"}
    )
    assert ranged.status_code == 206
    assert ranged.content == PDF[:4]
    # Staged: its owner only, 404 for everyone else (even the supervisor).
    for other in (CLERK, NOBODY, STRANGER):
        assert (await h.call(other, "GET", f"/api/v1/attachments/{aid}")).status_code == 404
        assert (await h.call(other, "GET", f"/api/v1/attachments/{aid}/content")).status_code == 404
    assert (await h.call(None, "GET", f"/api/v1/attachments/{aid}")).status_code == 401


async def test_who_may_upload_into_a_work(h: Harness) -> None:
    work = await running_work(h)
    assert (await upload(h, None, PDF, "a.pdf", work_id=work["id"])).status_code == 401
    assert (await upload(h, STRANGER, PDF, "a.pdf", work_id=work["id"])).status_code == 404
    assert (await upload(h, NOBODY, PDF, "a.pdf", work_id=work["id"])).status_code == 404
    assert (await upload(h, CLERK, PDF, "a.pdf", work_id=work["id"])).status_code == 201
    # Without a work: the uploader's organization.
    r = await upload(h, STRANGER, PDF, "nouzei.pdf")
    assert r.status_code == 201
    got = (
        await h.call(STRANGER, "GET", f"/api/v1/attachments/{r.headers['Kura-Attachment-Id']}")
    ).json()
    assert got["work_id"] is None


async def test_linking_hands_reading_to_the_parent_module(h: Harness) -> None:
    work = await running_work(h)
    aid = (await upload(h, BUILDER, PDF, "a.pdf", work_id=work["id"])).headers["Kura-Attachment-Id"]
    service = AttachmentService(h.container)
    async with h.container.uow() as uow:
        linked = await service.link(uow, BUILDER, [aid], "notes/n1", work_id=work["id"])
    assert [a["state"] for a in linked] == ["linked"]
    NOTE_READERS["n1"] = {CLERK.user_id}
    assert (await h.call(CLERK, "GET", f"/api/v1/attachments/{aid}/content")).status_code == 200
    # The uploader is not a reader of that note: the parent decides, not the ownership.
    assert (await h.call(BUILDER, "GET", f"/api/v1/attachments/{aid}")).status_code == 404
    assert (await h.call(NOBODY, "GET", f"/api/v1/attachments/{aid}")).status_code == 404
    # A linked attachment is removed by editing its parent, not directly.
    NOTE_READERS["n1"].add(BUILDER.user_id)
    assert (await h.call(BUILDER, "DELETE", f"/api/v1/attachments/{aid}")).status_code == 409
    assert [a["id"] for a in await service.of_parent("notes/n1")] == [aid]


async def test_bad_links_are_refused_and_change_nothing(h: Harness) -> None:
    work = await running_work(h)
    other = await h.create(CLERK, title="別の工事")
    mine = (await upload(h, BUILDER, PDF, "a.pdf", work_id=work["id"])).headers[
        "Kura-Attachment-Id"
    ]
    theirs = (await upload(h, CLERK, PDF, "b.pdf", work_id=work["id"])).headers[
        "Kura-Attachment-Id"
    ]
    elsewhere = (await upload(h, CLERK, PDF, "c.pdf", work_id=other["id"])).headers[
        "Kura-Attachment-Id"
    ]
    service = AttachmentService(h.container)
    from api.errors import ValidationFailed

    for ids, who, wid in (
        ([mine, theirs], BUILDER, work["id"]),  # another user's staged file
        ([elsewhere], CLERK, work["id"]),  # another work's file (issue 10 bad input)
        ([mine, mine], BUILDER, work["id"]),  # twice
        (["01HZZZZZZZZZZZZZZZZZZZZZZZ"], BUILDER, work["id"]),  # unknown
    ):
        with pytest.raises(ValidationFailed) as exc:
            async with h.container.uow() as uow:
                await service.link(uow, who, ids, "notes/n2", work_id=wid)
        assert exc.value.extra.get("field") == "attachments"
    states = {
        r["id"]: r["state"]
        for r in (await h.container.records.find(ATTACHMENTS, Query(limit=10))).items
    }
    assert set(states.values()) == {"staged"}


async def test_staged_attachments_expire_and_release_their_content(h: Harness) -> None:
    work = await running_work(h)
    aid = (await upload(h, BUILDER, PDF, "a.pdf", work_id=work["id"])).headers["Kura-Attachment-Id"]
    service = AttachmentService(h.container)
    assert await service.sweep() == 0
    # A work's attachment is its collaboration data: stored (sealed) in its wc- scope.
    bid = f"wc-{work['id']}:{hashlib.sha256(PDF).hexdigest()}"
    blob = await h.container.records.get("blobs", bid)
    assert blob is not None
    assert blob["key"].startswith(f"s/wc-{work['id']}/objects/")
    from datetime import timedelta

    from api.kit.clock import FixedClock

    later = FixedClock(h.container.clock.now() + timedelta(hours=25))
    h.container.clock = later
    assert await AttachmentService(h.container).sweep() == 1
    assert await h.container.records.get(ATTACHMENTS, aid) is None
    assert await h.container.records.get("blobs", bid) is None


async def test_a_deleted_staged_attachment_is_gone(h: Harness) -> None:
    work = await running_work(h)
    aid = (await upload(h, BUILDER, PDF, "a.pdf", work_id=work["id"])).headers["Kura-Attachment-Id"]
    assert (await h.call(CLERK, "DELETE", f"/api/v1/attachments/{aid}")).status_code == 404
    assert (await h.call(BUILDER, "DELETE", f"/api/v1/attachments/{aid}")).status_code == 204
    assert (await h.call(BUILDER, "GET", f"/api/v1/attachments/{aid}")).status_code == 404
