"""One end-to-end archive flow through the HTTP API on each stack (issue 3 "Done when": the
embedded default and the real adapters): real login, organizations, users and a work with
members; tus (creation-with-upload, PATCH, checksum) and multipart uploads; a generated
電子納品 ZIP unpacked and ingested; ingest states; the package report; Japanese search with
page numbers, facets and the ACL; trees; ranged download; ZIP export; consistency check and
reindex; completion, archive, retention, refused uploads, legal hold.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api import consistency
from api.app import create_app
from api.container import Container
from api.users.bootstrap import ADMIN_LOGIN_ID, ensure_operator
from tests.datagen import Options, generate
from tests.integration.conftest import Stack
from tests.works.harness import work_body

pytestmark = pytest.mark.anyio
API = "/api/v1"
TUS = {"Tus-Resumable": "1.0.0"}
NEW_PASSWORD = "integration-Pass-2026-kura"


class Api:
    """An ASGI app with a way to log users in (session cookie + CSRF header)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.app = create_app(container=container)
        self.clients: list[httpx.AsyncClient] = []

    def client(self) -> httpx.AsyncClient:
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://kura.test", timeout=60
        )
        self.clients.append(c)
        return c

    async def login(self, login_id: str, password: str) -> httpx.AsyncClient:
        """Log in; a first login changes the one-time password, as a user must."""
        c = self.client()
        r = await c.post(f"{API}/auth/login", json={"login_id": login_id, "password": password})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        if r.json()["password_change_required"]:
            changed = await c.post(
                f"{API}/auth/password",
                json={"current_password": password, "new_password": NEW_PASSWORD},
            )
            assert changed.status_code == 200, changed.text
            me = await c.get(f"{API}/auth/me")
            assert me.status_code == 200
            assert not me.json()["password_change_required"]
        return c

    async def close(self) -> None:
        for c in self.clients:
            await c.aclose()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    container = Container(stack.settings())
    await container.open()
    the_api = Api(container)
    try:
        yield the_api
    finally:
        await the_api.close()
        drop = getattr(container.index, "drop", None)
        if stack.name == "real" and drop is not None:
            await drop()
        await container.close()


def ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.text}"
    return resp.json() if resp.content and "json" in resp.headers.get("content-type", "") else None


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def metadata(**values: str) -> str:
    return ",".join(f"{k} {b64(v)}" for k, v in values.items())


def checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


async def tus_create(
    c: httpx.AsyncClient, work_id: str, length: int, first: bytes, **meta: str
) -> httpx.Response:
    """tus creation-with-upload: the POST carries the first chunk and its checksum."""
    headers = {
        **TUS,
        "Upload-Length": str(length),
        "Upload-Metadata": metadata(**meta),
        "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": checksum(first),
    }
    return await c.post(f"{API}/works/{work_id}/uploads", headers=headers, content=first)


async def tus_patch(c: httpx.AsyncClient, url: str, offset: int, data: bytes) -> httpx.Response:
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": checksum(data),
    }
    return await c.patch(urlsplit(url).path, headers=headers, content=data)


async def tus_upload(c: httpx.AsyncClient, work_id: str, data: bytes, **meta: str) -> None:
    """Creation-with-upload of the first half, a PATCH of the second."""
    half = len(data) // 2
    created = await tus_create(c, work_id, len(data), data[:half], **meta)
    assert created.status_code == 201, created.text
    assert created.headers["Upload-Offset"] == str(half)
    url = created.headers["Location"]
    head = await c.head(urlsplit(url).path, headers=TUS)
    assert head.headers["Upload-Offset"] == str(half)
    done = await tus_patch(c, url, half, data[half:])
    assert done.status_code == 204, done.text
    assert done.headers["Upload-Offset"] == str(len(data))


async def all_files(c: httpx.AsyncClient, work_id: str) -> dict[str, dict[str, Any]]:
    """Every file node of the work by path, walking the tree through the API."""
    out: dict[str, dict[str, Any]] = {}
    todo = [f"{API}/works/{work_id}/tree"]
    while todo:
        url, cursor = todo.pop(), None
        while True:
            params: dict[str, Any] = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
            page = ok(await c.get(url, params=params))
            for node in page["items"]:
                if node["kind"] == "folder":
                    todo.append(f"{API}/nodes/{node['id']}/children")
                else:
                    out[node["path"]] = node
            cursor = page["next_cursor"]
            if not cursor:
                break
    return out


async def test_archive_flow(api: Api, stack: Stack, tmp_path: Path) -> None:
    # --- real login as the bootstrap operator --------------------------------------------
    one_time = await ensure_operator(api.container)
    assert one_time is not None
    admin = await api.login(ADMIN_LOGIN_ID, one_time)
    assert (await api.client().get(f"{API}/works")).status_code == 401

    # --- organizations, users, a work with members ---------------------------------------
    orderer = ok(
        await admin.post(
            f"{API}/organizations", json={"kind": "orderer", "name": "広島県", "code": "34000001"}
        ),
        201,
    )["id"]
    contractor = ok(
        await admin.post(f"{API}/organizations", json={"kind": "contractor", "name": "春日建設"}),
        201,
    )["id"]
    other = ok(
        await admin.post(f"{API}/organizations", json={"kind": "contractor", "name": "他社建設"}),
        201,
    )["id"]
    users: dict[str, tuple[str, httpx.AsyncClient]] = {}
    for login, org in (("kantoku01", orderer), ("ukeoi01", contractor), ("tasha01", other)):
        created = ok(
            await admin.post(
                f"{API}/users", json={"login_id": login, "name": f"{login} 太郎", "org_id": org}
            ),
            201,
        )
        users[login] = (created["user"]["id"], await api.login(login, created["initial_password"]))
    supervisor, builder, outsider = (users[k][1] for k in ("kantoku01", "ukeoi01", "tasha01"))
    body = work_body(orderer_org_id=orderer, office_id=None, contractor_org_ids=[contractor])
    work = ok(await admin.post(f"{API}/works", json=body), 201)
    wid = work["id"]
    for login, role in (("kantoku01", "supervisor"), ("ukeoi01", "contractor_member")):
        member = {"user_id": users[login][0], "role": role}
        ok(await admin.post(f"{API}/works/{wid}/members", json=member), 201)
    work = ok(await supervisor.get(f"{API}/works/{wid}"))  # members bump the version
    work = ok(
        await supervisor.post(
            f"{API}/works/{wid}/transition", json={"to": "in_progress", "version": work["version"]}
        )
    )
    assert work["status"] == "in_progress"

    # --- uploads: tus in two chunks with checksums, multipart POST -----------------------
    notes = ("打合せ記録 道路標示工事 区画線\n" * 400).encode("utf-8")
    await tus_upload(builder, wid, notes, filename="打合せ記録.txt", folder="/受領")
    bad = await tus_create(builder, wid, 10, b"abc", filename="x.txt")
    assert bad.status_code == 201
    wrong = await builder.patch(
        urlsplit(bad.headers["Location"]).path,
        headers={
            **TUS,
            "Upload-Offset": "3",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": checksum(b"other"),
        },
        content=b"defg",
    )
    assert wrong.status_code == 460, wrong.text
    assert (
        await builder.delete(urlsplit(bad.headers["Location"]).path, headers=TUS)
    ).status_code == 204
    small = {"連絡票.txt": "連絡票 春日町\n".encode(), "memo.csv": b"a,b\n1,2\n"}
    files = [("file", (name, data, "text/plain")) for name, data in small.items()]
    placed = ok(
        await builder.post(f"{API}/works/{wid}/files", files=files, data={"folder": "/受領"}), 201
    )
    assert sorted(f["path"] for f in placed) == ["/受領/memo.csv", "/受領/連絡票.txt"]

    # --- a generated 電子納品 package as a ZIP, unpacked on arrival ----------------------
    manifest = generate(
        tmp_path / "gen", Options(files=30 + 4, seed=11, zip=True, pdf_pages=(2, 3))
    )
    package = await asyncio.to_thread(Path(manifest.root).read_bytes)
    await tus_upload(builder, wid, package, filename="package.zip", unpack="1")

    # eager jobs: import, ingest and index have run by now
    progress = ok(await builder.get(f"{API}/works/{wid}/ingest"))
    files_by_path = await all_files(builder, wid)
    n_package = len(manifest.files)
    # The uploaded ZIP left the tree for its import's record (issue 8 §2): the three files
    # and the package's; the ZIP's bytes come back from the import.
    assert len(files_by_path) == 3 + n_package, sorted(files_by_path)
    assert "/package.zip" not in files_by_path
    [done] = ok(await builder.get(f"{API}/works/{wid}/imports"))["items"]
    assert done["state"] == "done", done
    source = await builder.get(f"{API}/imports/{done['id']}/source")
    assert source.status_code == 200, source.text
    assert source.content == package
    assert progress["counts"].get("done") == len(files_by_path), progress
    assert not progress["failed"]
    for node in files_by_path.values():
        state = ok(await builder.get(f"{API}/files/{node['id']}"))
        assert state["ingest"]["state"] == "done", state

    # --- the package report ---------------------------------------------------------------
    [report] = ok(await builder.get(f"{API}/works/{wid}/deliverables"))
    assert report["counts"]["E"] == 0, report
    full = ok(await builder.get(f"{API}/deliverables/{report['id']}"))
    assert full["work_id"] == wid
    page = await builder.get(f"{API}/deliverables/{report['id']}/report.html")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]

    # --- search: a Japanese phrase of a PDF page; facets; ACL -------------------------------
    phrase, (pdf_path, pdf_page) = next(iter(manifest.phrases.items()))
    found = ok(await supervisor.get(f"{API}/search", params={"q": phrase, "type": "file"}))
    hit = next(h for h in found["hits"] if h["path"].endswith("/" + pdf_path))
    assert pdf_page in [hl["page"] for hl in hit["highlights"]], hit
    assert hit["work_id"] == wid
    assert {"file_type", "status"} <= set(found["facets"]), found["facets"]
    assert found["facets"]["file_type"], found["facets"]
    denied = ok(await outsider.get(f"{API}/search", params={"q": phrase}))
    assert denied["total"] == 0
    assert denied["hits"] == []
    work_hits = ok(await builder.get(f"{API}/search", params={"q": "道路標示", "type": "work"}))
    assert [h["id"] for h in work_hits["hits"]] == [wid]

    # --- trees: each sort, breadcrumbs -----------------------------------------------------
    top = ok(await builder.get(f"{API}/works/{wid}/tree"))["items"]
    target = next(n for n in top if n["kind"] == "folder" and n["name"] != "受領")
    for sort in ("name", "date", "size", "type"):
        for order in ("asc", "desc"):
            items = ok(
                await builder.get(
                    f"{API}/nodes/{target['id']}/children",
                    params={"sort": sort, "order": order, "limit": 1000},
                )
            )["items"]
            kinds = [n["kind"] for n in items]
            assert kinds == sorted(kinds, key=lambda k: k != "folder"), (sort, order)
            names = [n["name"] for n in items if n["kind"] == "file"]
            if sort == "size":
                sizes = [n["size"] for n in items if n["kind"] == "file"]
                assert sizes == sorted(sizes, reverse=order == "desc")
            assert len(set(names)) == len(names)
    deep_path = max(files_by_path, key=lambda p: p.count("/"))
    detail = ok(await builder.get(f"{API}/nodes/{files_by_path[deep_path]['id']}"))
    crumbs = [c["name"] for c in detail["breadcrumbs"]]
    assert "/" + "/".join(crumbs) == deep_path, crumbs  # root to the node itself

    # --- download with Range -----------------------------------------------------------------
    tus_node = files_by_path["/受領/打合せ記録.txt"]
    ranged = await builder.get(
        f"{API}/files/{tus_node['id']}/content", headers={"Range": "bytes=10-109"}
    )
    assert ranged.status_code == 206, ranged.text
    assert ranged.content == notes[10:110]
    assert ranged.headers["Content-Range"] == f"bytes 10-109/{len(notes)}"
    assert "filename*=UTF-8''" in ranged.headers["Content-Disposition"]
    whole = await builder.get(f"{API}/files/{tus_node['id']}/content")
    assert whole.content == notes
    assert hashlib.sha256(notes).hexdigest() == tus_node["sha256"]

    # --- export the work as a ZIP and compare names and bytes ---------------------------
    exported = await builder.post(f"{API}/works/{wid}/export")
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        got = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    assert {"/" + name for name in got} == set(files_by_path), sorted(got)
    assert got["受領/打合せ記録.txt"] == notes
    assert got["受領/連絡票.txt"] == small["連絡票.txt"]
    assert "package.zip" not in got
    prefix = min((p for p in got if p.upper().endswith("INDEX_C.XML")), key=len).removesuffix(
        "INDEX_C.XML"
    )
    with zipfile.ZipFile(io.BytesIO(package)) as pz:
        originals = {name: pz.read(name) for name in pz.namelist() if not name.endswith("/")}
    assert len(originals) == n_package
    for entry in manifest.files:
        data = got[prefix + entry.path]
        assert hashlib.sha256(data).hexdigest() == entry.sha256, entry.path

    # --- kura check clean, reindex, clean again ------------------------------------------
    await api.container.index.refresh()
    report_check = await consistency.check(api.container)
    assert report_check.clean, report_check.lines()
    rebuilt = await consistency.reindex(api.container)
    assert rebuilt.counts.get("file", 0) >= len(files_by_path), rebuilt.counts
    assert (await consistency.check(api.container)).clean
    again = ok(await supervisor.get(f"{API}/search", params={"q": phrase, "type": "file"}))
    assert any(h["path"].endswith("/" + pdf_path) for h in again["hits"])

    # --- complete and archive: retention, uploads refused, legal hold ---------------------
    work = ok(await supervisor.get(f"{API}/works/{wid}"))  # the package analysis updated it
    for to in ("completed", "archived"):
        work = ok(
            await supervisor.post(
                f"{API}/works/{wid}/transition", json={"to": to, "version": work["version"]}
            )
        )
    assert work["status"] == "archived"
    assert work["retention_until"], work
    assert work["retention_years"] >= 10, work
    refused = await tus_create(supervisor, wid, 3, b"abc", filename="late.txt")
    assert refused.status_code in (403, 409), refused.text
    refused_form = await supervisor.post(
        f"{API}/works/{wid}/files", files=[("file", ("late.txt", b"x", "text/plain"))]
    )
    assert refused_form.status_code in (403, 409), refused_form.text
    work = ok(await admin.post(f"{API}/works/{wid}/legal-hold", json={"reason": "訴訟対応"}))
    assert work["legal_hold"]["reason"] == "訴訟対応"
    blocked = await admin.delete(f"{API}/works/{wid}", params={"version": work["version"]})
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["code"] == "legal_hold"
    assert (await builder.get(f"{API}/works/{wid}")).status_code == 404  # archive readers only
    still = ok(await supervisor.get(f"{API}/files/{tus_node['id']}"))
    assert still["id"] == tus_node["id"]
