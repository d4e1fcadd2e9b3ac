"""Imports through the API (issue 7 item 15): a ZIP uploaded with unpack has an ``imports``
record at once (queued); its refusal (path traversal, bomb) shows there with a Japanese
reason and the findings, not only in a worker log; permissions like the work's files."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.deliverables.imports import IMPORTS
from api.deliverables.zipimport import import_zip_node
from api.deps import optional_subject
from api.kit.ids import new_id
from api.permissions.policy import Subject
from tests.deliverables.packages import package
from tests.deliverables.zips import lying_sizes, make_zip
from tests.support.jobs import RecordingJobs
from tests.uploads.conftest import TUS, UploadHarness
from tests.uploads.support import API
from tests.works.harness import (
    ARCHIVIST,
    BUILDER,
    CLERK,
    NOBODY,
    ORG_READER,
    STRANGER,
    Who,
    seed,
)

pytestmark = pytest.mark.anyio
OCTET = {"Content-Type": "application/offset+octet-stream"}


@pytest.fixture
async def uh(settings: Settings) -> AsyncIterator[UploadHarness]:
    """The upload harness on a container whose jobs are only recorded: the test runs the
    worker's task itself, so the queued state can be seen first."""
    container = Container(settings, jobs=RecordingJobs())
    await container.open()
    try:
        await seed(container)
        app = create_app(container=container)
        who = Who()

        async def as_who() -> Subject | None:
            return who.subject

        app.dependency_overrides[optional_subject] = as_who
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kura.test") as client:
            yield UploadHarness(container, client, who)
    finally:
        await container.close()


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def upload_zip(uh: UploadHarness, work_id: str, name: str, data: bytes) -> str:
    """A tus upload of ``data`` as ``name`` with unpack; returns the upload id."""
    headers = {
        **TUS,
        **OCTET,
        "Upload-Length": str(len(data)),
        "Upload-Metadata": meta(filename=name, folder="受領", unpack="1"),
    }
    resp = await uh.call(
        CLERK, "POST", f"{API}/works/{work_id}/uploads", headers=headers, content=data
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["Upload-Offset"] == str(len(data))
    return str(resp.headers["Location"]).rstrip("/").rsplit("/", 1)[-1]


async def run_task(uh: UploadHarness) -> list[dict[str, Any]]:
    """What the worker does with the queued ``deliverables.import_zip`` jobs."""
    jobs = uh.container.jobs
    assert isinstance(jobs, RecordingJobs)
    return [
        await import_zip_node(uh.container, **kw) for kw in jobs.take("deliverables.import_zip")
    ]


async def the_import(uh: UploadHarness, work_id: str, upload_id: str) -> dict[str, Any]:
    resp = await uh.call(CLERK, "GET", f"{API}/works/{work_id}/imports?upload_id={upload_id}")
    assert resp.status_code == 200, resp.text
    [item] = resp.json()["items"]
    return dict(item)


async def test_refused_zip_is_visible_with_its_reason(uh: UploadHarness) -> None:
    work = await uh.work()
    evil = make_zip([("ok.txt", b"1"), ("../../etc/cron.d/x", b"x")])
    upload_id = await upload_zip(uh, work["id"], "evil.zip", evil)

    queued = await the_import(uh, work["id"], upload_id)
    assert queued["state"] == "queued"  # visible before the worker ran
    assert queued["source"]["kind"] == "upload"
    assert queued["source"]["name"] == "/受領/evil.zip"
    assert queued["source"]["upload_id"] == upload_id
    assert queued["reason"] is None

    [report] = await run_task(uh)
    assert report["state"] == "rejected"
    item = await the_import(uh, work["id"], upload_id)
    assert item["id"] == queued["id"] == report["import_id"]
    assert item["state"] == "rejected"
    assert "上位フォルダを指すパス" in item["reason"]
    assert item["findings_count"]["E"] == 1
    assert item["finished_at"]
    detail = await uh.call(CLERK, "GET", f"{API}/imports/{item['id']}")
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["findings"][0]["code"] == "unsafe_path"
    assert body["findings"][0]["severity"] == "E"
    assert body["counts"]["created"] == 0
    files = await uh.call(CLERK, "GET", f"{API}/works/{work['id']}/imports")
    assert [i["id"] for i in files.json()["items"]] == [item["id"]]
    # Nothing of the ZIP's content was stored; the uploaded ZIP itself is kept as the
    # import's source, not as a document of the work (issue 8 §2).
    assert (await uh.container.records.count("nodes", ())) == 1  # /受領
    assert item["source_file"]["name"] == "evil.zip"
    events = await uh.events("deliverables.import_rejected")
    assert [e["target"] for e in events] == [f"{IMPORTS}/{item['id']}"]


async def test_bomb_found_while_unpacking_is_rejected_and_undone(uh: UploadHarness) -> None:
    work = await uh.work()
    bomb = lying_sizes(bytes(4 << 20), claimed=4096)  # passes the scan, caught while streaming
    upload_id = await upload_zip(uh, work["id"], "bomb.zip", bomb)
    [report] = await run_task(uh)
    item = await the_import(uh, work["id"], upload_id)
    assert item["state"] == report["state"] == "rejected"
    assert "壊れています" in item["reason"]
    assert item["counts"]["created"] == 0


async def test_done_import_carries_counts_and_the_package_check(uh: UploadHarness) -> None:
    work = await uh.work()
    files = package()
    del files["MEET/ORG/MEET0011.PDF"]  # declared in MEET.XML: an E finding of the check
    zipped = make_zip([(f"PKG/{k}", v) for k, v in files.items()])
    upload_id = await upload_zip(uh, work["id"], "PKG.zip", zipped)
    [report] = await run_task(uh)
    assert report["state"] == "done", report
    item = await the_import(uh, work["id"], upload_id)
    assert item["state"] == "done"
    assert item["counts"]["created"] == item["counts"]["files"] == len(files)
    assert item["target"] == "/受領"
    check = item["package"]
    assert check["counts"]["E"] >= 1
    assert item["reason"] == (
        f"取り込みは完了しましたが、電子納品チェックでエラーが{check['counts']['E']}件"
        "見つかりました。"
    )
    found = await uh.call(CLERK, "GET", f"{API}/deliverables/{check['deliverable_id']}")
    assert found.status_code == 200
    assert found.json()["root_node_id"] == check["root_node_id"]
    assert item["actor"] == {"id": CLERK.user_id, "name": CLERK.login_id}


async def test_unknown_and_bad_ids(uh: UploadHarness) -> None:
    work = await uh.work()
    for url in (f"{API}/imports/{new_id()}", f"{API}/imports/not-an-id"):
        resp = await uh.call(CLERK, "GET", url)
        assert resp.status_code == 404
        assert resp.json()["detail"] == "取り込みの記録が見つかりません。"
    empty = await uh.call(CLERK, "GET", f"{API}/works/{work['id']}/imports")
    assert empty.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("subject", "status"),
    [
        (None, 401),  # anonymous
        (STRANGER, 404),  # another organization
        (BUILDER, 404),  # the contractor's user before being made a member of the work
        (NOBODY, 404),  # same organization, no role and no grant: may not read the work
        (ARCHIVIST, 404),  # a grant that reads archived works only
        (ORG_READER, 200),  # grant works.read_org: reads the work and its imports
        ("member", 200),  # the contractor's user as a member of the work
        (CLERK, 200),  # its supervisor
    ],
)
async def test_permissions(uh: UploadHarness, subject: Subject | str | None, status: int) -> None:
    """Readers of the work see its imports; a subject who may not read it gets 404 (its
    existence is not revealed). There is no 403 case: seeing imports needs nothing beyond
    reading the work's files (``files.read``)."""
    work = await uh.work()
    upload_id = await upload_zip(uh, work["id"], "a.zip", make_zip([("a.txt", b"a")]))
    import_id = (await the_import(uh, work["id"], upload_id))["id"]
    if subject == "member":
        body = {"user_id": BUILDER.user_id, "role": "contractor_member"}
        added = await uh.call(CLERK, "POST", f"{API}/works/{work['id']}/members", json=body)
        assert added.status_code == 201, added.text
        subject = BUILDER
    assert not isinstance(subject, str)
    for url in (f"{API}/works/{work['id']}/imports", f"{API}/imports/{import_id}"):
        resp = await uh.call(subject, "GET", url)
        assert resp.status_code == status, (url, resp.text)
