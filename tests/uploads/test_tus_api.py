"""tus 1.0.0 through the API (ASGI): protocol, extensions, permissions and bad input."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.archive.models import BLOBS, NODES, UPLOADS, blob_id
from api.kit.clock import FixedClock
from api.uploads.expiry import sweep
from storage.query import Eq, Query
from tests.uploads.conftest import TUS, UploadHarness, set_limits
from tests.works.harness import BUILDER, CLERK, MANAGER, NOBODY, OPERATOR, STRANGER

pytestmark = pytest.mark.anyio
API = "/api/v1"
OCTET = {"Content-Type": "application/offset+octet-stream"}


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def sha_header(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} " + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


async def create(
    uh: UploadHarness, work_id: str, length: int, subject: Any = CLERK, **values: str
) -> httpx.Response:
    headers = {**TUS, "Upload-Length": str(length)}
    values.setdefault("filename", "図面.pdf")
    headers["Upload-Metadata"] = meta(**values)
    return await uh.call(subject, "POST", f"{API}/works/{work_id}/uploads", headers=headers)


async def patch(
    uh: UploadHarness, url: str, offset: int, data: bytes, subject: Any = CLERK, **extra: str
) -> httpx.Response:
    headers = {**TUS, **OCTET, "Upload-Offset": str(offset), **extra}
    return await uh.call(subject, "PATCH", url, headers=headers, content=data)


async def head(uh: UploadHarness, url: str, subject: Any = CLERK) -> httpx.Response:
    return await uh.call(subject, "HEAD", url, headers=TUS)


async def nodes_of(uh: UploadHarness, work_id: str) -> list[dict[str, Any]]:
    page = await uh.container.records.find(
        NODES, Query(where=(Eq("work_id", work_id), Eq("kind", "file")), limit=100)
    )
    return page.items


async def test_options_advertises_the_server(uh: UploadHarness) -> None:
    work = await uh.work()
    for url in (f"{API}/works/{work['id']}/uploads", f"{API}/uploads/01ANYTHING0000000000000000"):
        resp = await uh.call(CLERK, "OPTIONS", url)
        assert resp.status_code == 204
        assert resp.headers["Tus-Version"] == "1.0.0"
        assert resp.headers["Tus-Extension"] == (
            "creation,creation-with-upload,termination,checksum,expiration"
        )
        assert resp.headers["Tus-Max-Size"] == str(20 << 30)
        assert resp.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


async def test_upload_in_chunks_lands_as_a_file(uh: UploadHarness) -> None:
    work = await uh.work()
    data = bytes(range(256)) * 40  # 10 KiB
    resp = await create(uh, work["id"], len(data), filename="設計図.pdf", folder="/図面/平面図")
    assert resp.status_code == 201, resp.text
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    url = resp.headers["Location"]
    assert url.startswith("http://kura.test/api/v1/uploads/")
    expires = resp.headers["Upload-Expires"]
    assert expires.endswith(" GMT")

    got = await head(uh, url)
    assert got.status_code == 200
    assert got.headers["Upload-Offset"] == "0"
    assert got.headers["Upload-Length"] == str(len(data))
    assert got.headers["Cache-Control"] == "no-store"
    assert "filename" in got.headers["Upload-Metadata"]

    first, rest = data[:4000], data[4000:]
    resp = await patch(uh, url, 0, first, **{"Upload-Checksum": sha_header(first)})
    assert resp.status_code == 204, resp.text
    assert resp.headers["Upload-Offset"] == "4000"
    assert "Upload-Expires" in resp.headers
    assert "Kura-Node-Id" not in resp.headers  # not a file yet
    assert (await head(uh, url)).headers["Upload-Offset"] == "4000"

    resp = await patch(uh, url, 4000, rest)
    assert resp.status_code == 204, resp.text
    assert resp.headers["Upload-Offset"] == str(len(data))
    [node] = await nodes_of(uh, work["id"])
    # the last PATCH names the file it became (a folder upload finds its INDEX_C.XML's folder)
    assert resp.headers["Kura-Node-Id"] == node["id"]
    assert node["path"] == "/図面/平面図/設計図.pdf"
    assert node["sha256"] == hashlib.sha256(data).hexdigest()
    assert node["size"] == len(data)
    upload = await uh.container.records.get(UPLOADS, url.rsplit("/", 1)[1])
    assert upload is not None
    assert upload["state"] == "done"
    assert upload["node_id"] == node["id"]
    [event] = await uh.events("uploads.completed")
    assert event["actor_id"] == CLERK.user_id
    # Still tus-correct afterwards: HEAD reports the whole length, a repeat PATCH conflicts.
    done = await head(uh, url)
    assert done.headers["Upload-Offset"] == str(len(data))
    assert (await patch(uh, url, 0, b"x")).status_code == 409
    assert [h async for h in uh.container.blobs.append_handles()] == []


async def test_creation_with_upload_and_zero_length(uh: UploadHarness) -> None:
    work = await uh.work()
    headers = {
        **TUS,
        **OCTET,
        "Upload-Length": "10",
        "Upload-Metadata": meta(filename="a.txt"),
    }
    resp = await uh.call(
        CLERK, "POST", f"{API}/works/{work['id']}/uploads", headers=headers, content=b"hello"
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["Upload-Offset"] == "5"
    resp = await patch(uh, resp.headers["Location"], 5, b"world")
    assert resp.status_code == 204
    whole = {**headers, "Upload-Metadata": meta(filename="b.txt")}
    resp = await uh.call(
        CLERK, "POST", f"{API}/works/{work['id']}/uploads", headers=whole, content=b"helloworld"
    )
    assert resp.headers["Upload-Offset"] == "10"
    resp = await create(uh, work["id"], 0, filename="empty.txt")
    assert resp.status_code == 201
    assert resp.headers["Upload-Offset"] == "0"
    names = sorted(n["name"] for n in await nodes_of(uh, work["id"]))
    assert names == ["a.txt", "b.txt", "empty.txt"]
    # identical content is stored once
    a, b = (n for n in await nodes_of(uh, work["id"]) if n["name"] != "empty.txt")
    assert a["sha256"] == b["sha256"]
    blob = await uh.container.records.get(BLOBS, blob_id(a["scope"], a["sha256"]))
    assert blob is not None
    assert blob["refs"] == 2
    # Uploads append under a handle of the file's scope (their parts are sealed with it).
    upload = (await uh.container.records.find(UPLOADS, Query(limit=1))).items[0]
    assert upload["handle"] == f"{a['scope']}_{upload['id']}"
    assert upload["key"].startswith(f"s/{a['scope']}/objects/")


async def test_protocol_version_is_checked(uh: UploadHarness) -> None:
    work = await uh.work()
    url = f"{API}/works/{work['id']}/uploads"
    for headers in ({"Tus-Resumable": "0.2.2"}, {}):
        resp = await uh.call(
            CLERK, "POST", url, headers={**headers, "Upload-Length": "1", "Upload-Metadata": ""}
        )
        assert resp.status_code == 412
        assert resp.headers["Tus-Version"] == "1.0.0"
        assert resp.headers["content-type"] == "application/problem+json"
        assert "tus" in resp.json()["title"]
    assert await uh.container.records.count(UPLOADS) == 0


async def test_bad_offsets_checksums_and_types(uh: UploadHarness) -> None:
    work = await uh.work()
    url = (await create(uh, work["id"], 100)).headers["Location"]
    assert (await patch(uh, url, 0, b"a" * 10)).status_code == 204
    wrong = await patch(uh, url, 5, b"b" * 10)
    assert wrong.status_code == 409
    assert wrong.json()["expected_offset"] == 10
    assert wrong.headers["Tus-Resumable"] == "1.0.0"
    bad = await patch(uh, url, 10, b"c" * 10, **{"Upload-Checksum": sha_header(b"other")})
    assert bad.status_code == 460
    assert bad.json()["code"] == "checksum_mismatch"
    assert (await head(uh, url)).headers["Upload-Offset"] == "10"  # nothing kept
    algo = await patch(uh, url, 10, b"c", **{"Upload-Checksum": "md5 AAAA"})
    assert algo.status_code == 400
    junk = await patch(uh, url, 10, b"c", **{"Upload-Checksum": "sha256 !!!"})
    assert junk.status_code == 400
    plain = await uh.call(
        CLERK,
        "PATCH",
        url,
        headers={**TUS, "Upload-Offset": "10", "Content-Type": "application/octet-stream"},
        content=b"c",
    )
    assert plain.status_code == 415
    no_offset = await uh.call(CLERK, "PATCH", url, headers={**TUS, **OCTET}, content=b"c")
    assert no_offset.status_code == 400
    negative = await patch(uh, url, -1, b"c")
    assert negative.status_code == 400
    over = await patch(uh, url, 10, b"d" * 91)
    assert over.status_code == 413
    assert (await head(uh, url)).headers["Upload-Offset"] == "10"
    unknown = await head(uh, f"{API}/uploads/01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert unknown.status_code == 404
    assert "Upload-Offset" not in unknown.headers
    assert (await head(uh, f"{API}/uploads/not-an-id")).status_code == 404


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "SHA1"])
async def test_checksum_algorithms(uh: UploadHarness, algorithm: str) -> None:
    """tus 1.0.0 checksum extension: "The Server MUST support at least the SHA1 checksum
    algorithm identified by sha1"; a mismatch of a supported algorithm is 460 and keeps
    nothing, an unsupported one is 400."""
    work = await uh.work()
    data = b"0123456789" * 30
    url = (await create(uh, work["id"], len(data))).headers["Location"]
    name = algorithm.lower()
    good = await patch(uh, url, 0, data[:100], **{"Upload-Checksum": sha_header(data[:100], name)})
    assert good.status_code == 204, good.text
    assert good.headers["Upload-Offset"] == "100"
    header = sha_header(b"something else", name).replace(name, algorithm, 1)
    bad = await patch(uh, url, 100, data[100:200], **{"Upload-Checksum": header})
    assert bad.status_code == 460
    assert bad.json()["code"] == "checksum_mismatch"
    assert bad.headers["Tus-Resumable"] == "1.0.0"
    assert (await head(uh, url)).headers["Upload-Offset"] == "100"  # nothing kept
    short = "sha1 " + base64.b64encode(hashlib.sha256(b"x").digest()).decode()  # 32 bytes
    assert (await patch(uh, url, 100, data[100:], **{"Upload-Checksum": short})).status_code == 400
    md5 = "md5 " + base64.b64encode(hashlib.md5(data[100:]).digest()).decode()
    assert (await patch(uh, url, 100, data[100:], **{"Upload-Checksum": md5})).status_code == 400
    last = await patch(
        uh, url, 100, data[100:], **{"Upload-Checksum": sha_header(data[100:], name)}
    )
    assert last.status_code == 204
    [node] = await nodes_of(uh, work["id"])
    assert node["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Upload-Metadata": meta(filename="a.pdf")}, 400),  # no Upload-Length
        ({"Upload-Length": "abc", "Upload-Metadata": meta(filename="a.pdf")}, 400),
        ({"Upload-Length": "-5", "Upload-Metadata": meta(filename="a.pdf")}, 400),
        ({"Upload-Length": "5", "Upload-Defer-Length": "1"}, 400),
        ({"Upload-Length": "5", "Upload-Metadata": "filename %%%"}, 400),  # not base64
        ({"Upload-Length": "5", "Upload-Metadata": "filename YQ==,filename YQ=="}, 400),
        ({"Upload-Length": "5", "Upload-Metadata": meta(filetype="a")}, 400),  # no filename
        ({"Upload-Length": "5", "Upload-Metadata": meta(filename="a/b.pdf")}, 400),
        ({"Upload-Length": "5", "Upload-Metadata": meta(filename="a\x00b.pdf")}, 400),
        ({"Upload-Length": "5", "Upload-Metadata": meta(filename="あ" * 300)}, 400),
        ({"Upload-Length": "5", "Upload-Metadata": meta(filename="..")}, 400),
        ({"Upload-Length": "5", "Upload-Metadata": meta(filename="a", folder="../x\x01")}, 400),
        ({"Upload-Length": "5", "Upload-Metadata": meta(filename="a", on_conflict="merge")}, 400),
        ({"Upload-Length": str((20 << 30) + 1), "Upload-Metadata": meta(filename="a")}, 413),
    ],
)
async def test_bad_creation_stores_nothing(
    uh: UploadHarness, headers: dict[str, str], status: int
) -> None:
    work = await uh.work()
    resp = await uh.call(
        CLERK, "POST", f"{API}/works/{work['id']}/uploads", headers={**TUS, **headers}
    )
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    assert await uh.container.records.count(UPLOADS) == 0
    assert [h async for h in uh.container.blobs.append_handles()] == []


async def test_quota_counts_files_and_open_uploads(
    uh: UploadHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_limits(monkeypatch, work_quota_bytes=100, max_upload_bytes=60)
    work = await uh.work()
    assert (await create(uh, work["id"], 61)).status_code == 413
    first = await create(uh, work["id"], 50, filename="a.bin")
    assert first.status_code == 201
    await patch(uh, first.headers["Location"], 0, b"x" * 50)  # a 50-byte file now
    second = await create(uh, work["id"], 40, filename="b.bin")  # open: counts 40
    assert second.status_code == 201
    third = await create(uh, work["id"], 11, filename="c.bin")
    assert third.status_code == 413
    body = third.json()
    assert body["code"] == "quota_exceeded"
    assert "上限" in body["title"]
    assert (await create(uh, work["id"], 10, filename="c.bin")).status_code == 201


async def test_name_conflicts(uh: UploadHarness) -> None:
    work = await uh.work()
    for name in ("a.txt", "a.txt"):
        url = (await create(uh, work["id"], 2, filename=name)).headers["Location"]
        assert (await patch(uh, url, 0, b"hi")).status_code == 204
    names = sorted(n["name"] for n in await nodes_of(uh, work["id"]))
    assert names == ["a (2).txt", "a.txt"]
    taken = await create(uh, work["id"], 2, filename="a.txt", on_conflict="error")
    assert taken.status_code == 409
    url = (await create(uh, work["id"], 3, filename="a.txt", on_conflict="replace")).headers[
        "Location"
    ]
    assert (await patch(uh, url, 0, b"new")).status_code == 204
    [replaced] = [n for n in await nodes_of(uh, work["id"]) if n["name"] == "a.txt"]
    assert replaced["sha256"] == hashlib.sha256(b"new").hexdigest()


@pytest.mark.parametrize(
    ("subject", "status"),
    [(None, 401), (NOBODY, 404), (BUILDER, 404), (STRANGER, 404), (MANAGER, 201), (CLERK, 201)],
)
async def test_create_permissions(uh: UploadHarness, subject: Any, status: int) -> None:
    work = await uh.work()
    resp = await create(uh, work["id"], 3, subject=subject)
    assert resp.status_code == status, resp.text


async def test_completed_work_is_read_only(uh: UploadHarness) -> None:
    work = await uh.work()
    url = (await create(uh, work["id"], 4)).headers["Location"]
    resp = await uh.call(
        CLERK,
        "POST",
        f"{API}/works/{work['id']}/transition",
        json={"to": "completed", "version": work["version"]},
    )
    assert resp.status_code == 200, resp.text
    assert (await create(uh, work["id"], 3)).status_code == 403
    assert (await patch(uh, url, 0, b"abcd")).status_code == 403


async def test_only_the_creator_or_an_operator_touches_an_upload(uh: UploadHarness) -> None:
    work = await uh.work()
    url = (await create(uh, work["id"], 4)).headers["Location"]
    assert (await head(uh, url, None)).status_code == 401
    for other in (MANAGER, NOBODY):  # MANAGER may write the work but did not create this
        assert (await head(uh, url, other)).status_code == 404
        assert (await patch(uh, url, 0, b"ab", other)).status_code == 404
        assert (await uh.call(other, "DELETE", url, headers=TUS)).status_code == 404
    assert (await patch(uh, url, 0, b"ab", OPERATOR)).status_code == 204
    assert (await patch(uh, url, 2, b"cd")).status_code == 204


async def test_termination(uh: UploadHarness) -> None:
    work = await uh.work()
    url = (await create(uh, work["id"], 10)).headers["Location"]
    await patch(uh, url, 0, b"abc")
    resp = await uh.call(CLERK, "DELETE", url, headers=TUS)
    assert resp.status_code == 204
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    assert (await head(uh, url)).status_code == 404
    assert (await patch(uh, url, 3, b"d")).status_code == 404
    assert [h async for h in uh.container.blobs.append_handles()] == []
    assert await uh.events("uploads.terminated")


async def test_method_override(uh: UploadHarness) -> None:
    work = await uh.work()
    url = (await create(uh, work["id"], 3)).headers["Location"]
    override = {**TUS, **OCTET, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"}
    resp = await uh.call(CLERK, "POST", url, headers=override, content=b"abc")
    assert resp.status_code == 204
    assert resp.headers["Upload-Offset"] == "3"


async def test_expiry_answers_410_and_the_sweep_cleans(uh: UploadHarness) -> None:
    clock = FixedClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    uh.container.clock = clock
    work = await uh.work()
    url = (await create(uh, work["id"], 10)).headers["Location"]
    await patch(uh, url, 0, b"abc")
    other = (await create(uh, work["id"], 10, filename="b")).headers["Location"]
    clock.advance(hours=7 * 24 - 1)
    await patch(uh, other, 0, b"x")  # a PATCH pushes the expiry on
    clock.advance(hours=2)
    assert (await head(uh, url)).status_code == 410
    assert (await patch(uh, url, 3, b"d")).status_code == 410
    assert (await head(uh, other)).status_code == 200
    report = await sweep(uh.container)
    assert report.expired == 1
    handles = [h async for h in uh.container.blobs.append_handles()]
    # the upload's append handle names its scope: <scope>_<upload id> (issue 12 §1)
    assert handles == [f"wa-{work['id']}_{other.rsplit('/', 1)[1]}"]
    assert (await head(uh, url)).status_code == 410
    clock.advance(days=40)
    report = await sweep(uh.container)
    assert report.expired == 1
    assert report.purged == 2
    assert (await head(uh, url)).status_code == 404


async def test_orphan_append_targets_are_swept(uh: UploadHarness) -> None:
    await uh.container.blobs.append_open("ORPHAN")
    report = await sweep(uh.container)
    assert report.orphans == 1
    assert [h async for h in uh.container.blobs.append_handles()] == []


async def test_zip_with_unpack_enqueues_import(
    uh: UploadHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    async def send(task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        sent.append((task, kwargs))

    monkeypatch.setattr(uh.container.jobs, "send", send)
    work = await uh.work()
    url = (await create(uh, work["id"], 2, filename="成果品.ZIP", unpack="1")).headers["Location"]
    await patch(uh, url, 0, b"PK")
    [node] = await nodes_of(uh, work["id"])
    [job] = [kw for t, kw in sent if t == "deliverables.import_zip"]
    assert job["node_id"] == node["id"]
    # The import is recorded (queued) with the upload, before any worker runs it.
    record = await uh.container.records.get("imports", job["import_id"])
    assert record is not None
    assert (record["state"], record["source_node_id"]) == ("queued", node["id"])
    upload = await uh.container.records.get(UPLOADS, url.rsplit("/", 1)[-1])
    assert upload is not None
    assert upload["import_id"] == job["import_id"]
    assert ("ingest.file", {"node_id": node["id"]}) in sent
    sent.clear()
    url = (await create(uh, work["id"], 2, filename="plain.zip")).headers["Location"]
    await patch(uh, url, 0, b"PK")
    assert [t for t, _ in sent] == ["ingest.file"]


_ = timedelta


async def test_bidi_file_names_are_refused(uh: UploadHarness) -> None:
    """Issue 7 item 12: a right-to-left override makes "請求書\u202efdp.exe" display as
    "請求書exe.pdf"; the name is refused before anything is stored."""
    work = await uh.work()
    resp = await create(uh, work["id"], 3, filename="請求書\u202efdp.exe")
    assert resp.status_code == 400, resp.text
    assert "表示方向" in resp.json()["detail"]
    assert await uh.container.records.count(UPLOADS) == 0


async def test_a_removed_contractor_stops_uploading_at_once(uh: UploadHarness) -> None:
    """Issue 7 item 9: removing the contractor organization from a work used to leave its
    member reading and uploading (their membership stayed)."""
    work = await uh.work()
    resp = await uh.call(
        CLERK,
        "POST",
        f"{API}/works/{work['id']}/members",
        json={"user_id": BUILDER.user_id, "role": "contractor_member"},
    )
    assert resp.status_code == 201, resp.text
    url = (await create(uh, work["id"], 4, BUILDER)).headers["Location"]
    assert (await patch(uh, url, 0, b"ab", BUILDER)).status_code == 204
    current = (await uh.call(CLERK, "GET", f"{API}/works/{work['id']}")).json()
    resp = await uh.call(
        CLERK,
        "PATCH",
        f"{API}/works/{work['id']}",
        json={"version": current["version"], "contractor_org_ids": []},
    )
    assert resp.status_code == 200, resp.text
    assert (await patch(uh, url, 2, b"cd", BUILDER)).status_code == 404
    assert (await create(uh, work["id"], 4, BUILDER)).status_code == 404
    assert (await uh.call(BUILDER, "GET", f"{API}/works/{work['id']}")).status_code == 404
    assert await nodes_of(uh, work["id"]) == []


async def test_a_full_disk_during_a_patch_is_507_with_the_cause_logged(
    uh: UploadHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 7 item 16: the tus routes answered storage faults themselves and logged nothing;
    a full disk is a 507 (with the tus headers) and its cause is in the log once."""
    import errno
    import logging

    from storage.blobs.local import LocalBlobStore

    work = await uh.work()
    url = (await create(uh, work["id"], 10)).headers["Location"]

    async def full(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LocalBlobStore, "append", full)
    with caplog.at_level(logging.INFO):
        resp = await patch(uh, url, 0, b"0123456789")
    assert resp.status_code == 507
    assert resp.headers["tus-resumable"] == "1.0.0"
    assert resp.json()["code"] == "insufficient_storage"
    logged = [
        r
        for r in caplog.records
        if r.exc_info
        and "No space left on device" in logging.Formatter().formatException(r.exc_info)
    ]
    assert len(logged) == 1


async def test_a_body_that_stalls_counts_as_a_dropped_connection(
    uh: UploadHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PATCH body that sends nothing for ``IDLE_TIMEOUT_S`` (tus 1.0.0 advises socket
    timeouts of about 30 s) is a dropped connection: the bytes that came are kept, the
    answer is 400 (nobody reads it) and the upload is free for the client's next request."""
    import asyncio

    monkeypatch.setattr("api.uploads.router.IDLE_TIMEOUT_S", 0.3)
    work = await uh.work()
    data = bytes(range(256)) * 40
    url = (await create(uh, work["id"], len(data))).headers["Location"]

    async def stalling() -> Any:
        yield data[:3000]
        await asyncio.sleep(2)  # the client hangs
        yield data[3000:]

    headers = {**TUS, **OCTET, "Upload-Offset": "0"}
    resp = await uh.call(CLERK, "PATCH", url, headers=headers, content=stalling())
    assert resp.status_code == 400
    assert (await head(uh, url)).headers["Upload-Offset"] == "3000"
    resp = await patch(uh, url, 3000, data[3000:])  # the next request goes on
    assert resp.status_code == 204, resp.text
    [node] = await nodes_of(uh, work["id"])
    assert node["sha256"] == hashlib.sha256(data).hexdigest()
