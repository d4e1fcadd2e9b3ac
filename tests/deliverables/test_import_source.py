"""The uploaded ZIP is the import's source, not a document beside its folder (issue 8 §2):
once the import has finished (done or refused) the ZIP's node leaves the work's tree, the
import record holds its content (the reference moves, the content stays stored once) and it is
downloadable from the record, by the work's readers only."""

from __future__ import annotations

import pytest

from api.archive.models import BLOBS
from api.archive.nodes import NodeService
from tests.deliverables.packages import package
from tests.deliverables.test_imports_api import run_task, the_import, uh, upload_zip
from tests.deliverables.zips import make_zip
from tests.uploads.conftest import UploadHarness
from tests.uploads.support import API
from tests.works.harness import CLERK, NOBODY, STRANGER

pytestmark = pytest.mark.anyio
__all__ = ["uh"]  # the fixture, shared with the imports API tests


async def test_done_import_keeps_its_zip_as_source_not_as_a_document(uh: UploadHarness) -> None:
    work = await uh.work()
    zipped = make_zip([(f"PKG/{k}", v) for k, v in package().items()])
    upload_id = await upload_zip(uh, work["id"], "PKG.zip", zipped)
    # queued: the ZIP is in the tree until its import has run
    assert await NodeService(uh.container).by_path(work["id"], "受領/PKG.zip") is not None
    [report] = await run_task(uh)
    assert report["state"] == "done", report
    assert report["source_kept"] is True

    assert await NodeService(uh.container).by_path(work["id"], "受領/PKG.zip") is None
    assert await NodeService(uh.container).by_path(work["id"], "受領/PKG/INDEX_C.XML")
    item = await the_import(uh, work["id"], upload_id)
    assert item["source_file"] == {"name": "PKG.zip", "size": len(zipped), "path": "/受領/PKG.zip"}
    got = await uh.call(CLERK, "GET", f"{API}/imports/{item['id']}/source")
    assert got.status_code == 200
    assert got.content == zipped
    assert got.headers["content-type"] == "application/zip"
    assert "PKG.zip" in got.headers["content-disposition"]
    # the content is still stored once, its one reference now held by the import
    record = await uh.container.records.get("imports", item["id"])
    assert record is not None
    kept = record["source_file"]
    blob = await uh.container.records.get(BLOBS, f"{kept['scope']}:{kept['sha256']}")
    assert blob is not None
    assert blob["refs"] == 1
    [event] = await uh.events("deliverables.source_kept")
    assert event["target"] == f"imports/{item['id']}"

    # the work's readers only
    assert (await uh.call(None, "GET", f"{API}/imports/{item['id']}/source")).status_code == 401
    for who in (STRANGER, NOBODY):
        assert (await uh.call(who, "GET", f"{API}/imports/{item['id']}/source")).status_code == 404


async def test_a_refused_zip_is_kept_with_its_import(uh: UploadHarness) -> None:
    work = await uh.work()
    bad = make_zip([("../escape.txt", b"x")])
    upload_id = await upload_zip(uh, work["id"], "bad.zip", bad)
    [report] = await run_task(uh)
    assert report["state"] == "rejected"
    assert await NodeService(uh.container).by_path(work["id"], "受領/bad.zip") is None
    item = await the_import(uh, work["id"], upload_id)
    got = await uh.call(CLERK, "GET", f"{API}/imports/{item['id']}/source")
    assert got.status_code == 200
    assert got.content == bad


async def test_an_import_without_a_kept_source_answers_404(uh: UploadHarness) -> None:
    work = await uh.work()
    upload_id = await upload_zip(uh, work["id"], "a.zip", make_zip([("a.txt", b"a")]))
    item = await the_import(uh, work["id"], upload_id)  # queued: not run yet
    got = await uh.call(CLERK, "GET", f"{API}/imports/{item['id']}/source")
    assert got.status_code == 404
    assert "保存されていません" in got.json()["detail"]
