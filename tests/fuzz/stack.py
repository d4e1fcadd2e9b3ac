"""The stack the API fuzzer runs against: the real ``kura serve`` (API and worker) on the
embedded backends, seeded through the API so that generated requests reach deep paths.

Seed (operator token):
- organizations: an orderer, a contractor (both in use), a spare contractor;
- offices: one in use, one spare; a position; a custom calendar day;
- users: ``member1`` (ordinary contractor user, contractor_member of the work: the second
  caller), ``spare1`` (target of disable / reset / grant operations);
- works: the work (files, a 電子納品 package and its check, an open tus upload) and a spare
  work (target of deletes, transitions and holds);
- files: a PDF, a text file, a JPEG, the package's XML and photos; ingest is waited for.

``ids(method, path)`` answers the value to put in each path parameter: the seeded objects,
or the spare ones for operations that would destroy what the others need.
"""

from __future__ import annotations

import base64
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.deliverables.packages import package
from tests.e2e.support import (
    KURA,
    PASSWORD,
    ROOT,
    Api,
    Server,
    free_port,
    operator_password,
    server_env,
    work_body,
)
from tests.extract.samples import jpeg, pdf

INGEST_WAIT_S = 90.0
# Operations whose target is replaced by a spare object: they delete, end or lock it.
_SPARE_WORK_OPS = ("/transition", "/legal-hold")
_SPARE_USER_OPS = ("/disable", "/reset-password", "/grants")


@dataclass
class Caller:
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class FuzzStack:
    server: Server
    callers: list[Caller]
    main: dict[str, str] = field(default_factory=dict)
    spare: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def ids(self, method: str, path: str) -> dict[str, str]:
        """The value of each path parameter for ``method path``."""
        spare = method == "DELETE" and not path.endswith("/legal-hold")
        values = dict(self.main)
        if spare or any(path.endswith(s) for s in _SPARE_WORK_OPS):
            values["work_id"] = self.spare["work_id"]
        if spare:
            values.update(self.spare)
        if "/users/{user_id}" in path and (
            method in ("PATCH", "DELETE") or any(s in path for s in _SPARE_USER_OPS)
        ):
            values["user_id"] = self.spare["user_id"]
        return values

    def stop(self) -> None:
        self.server.stop()


def _upload(api: Api, work_id: str, folder: str, files: dict[str, bytes]) -> list[dict[str, Any]]:
    parts = [("file", (name, data, "application/octet-stream")) for name, data in files.items()]
    response = api.client.post(
        f"/works/{work_id}/files", data={"folder": folder}, files=parts, timeout=120
    )
    placed: list[dict[str, Any]] = api.ok(response)
    return placed


def _login(url: str, login_id: str, password: str) -> str:
    api = Api(url)
    try:
        api.login(login_id, password, new_password=PASSWORD)
        return str(api.client.headers["Authorization"]).removeprefix("Bearer ")
    finally:
        api.close()


def _wait_for_ingest(api: Api, work_id: str) -> None:
    deadline = time.monotonic() + INGEST_WAIT_S
    while time.monotonic() < deadline:
        counts = api.get(f"/works/{work_id}/ingest")["counts"]
        if not counts.get("queued") and not counts.get("processing"):
            return
        time.sleep(0.5)
    raise AssertionError(f"ingest did not finish within {INGEST_WAIT_S:g} s")


def seed(server: Server) -> FuzzStack:
    api = Api(server.url)
    api.login("admin", operator_password(server), new_password=PASSWORD)
    operator_token = str(api.client.headers["Authorization"]).removeprefix("Bearer ")
    orderer = api.post("/organizations", {"kind": "orderer", "name": "広島県", "code": "34000001"})
    contractor = api.post("/organizations", {"kind": "contractor", "name": "春日建設株式会社"})
    spare_org = api.post("/organizations", {"kind": "contractor", "name": "瀬戸内測量株式会社"})
    office = api.post(f"/organizations/{orderer['id']}/offices", {"name": "西部建設事務所"})
    spare_office = api.post(f"/organizations/{orderer['id']}/offices", {"name": "東部建設事務所"})
    position = api.post("/master/positions", {"name": "主任技師", "rank": 3})
    spare_position = api.post("/master/positions", {"name": "技師", "rank": 4})
    day = "2026-05-12"
    api.ok(api.client.put(f"/master/calendar/days/{day}", json={"kind": "closed", "name": "臨時"}))
    users: dict[str, dict[str, Any]] = {}
    for login_id, name in (("member1", "春日 太郎"), ("spare1", "予備 次郎")):
        users[login_id] = api.post(
            "/users", {"login_id": login_id, "name": name, "org_id": contractor["id"]}
        )
    member_token = _login(server.url, "member1", users["member1"]["initial_password"])
    api.post(f"/users/{users['spare1']['user']['id']}/grants", {"grant": "works.create"})
    works = [
        api.post("/works", {**work_body(orderer["id"], [contractor["id"]]), "number": number})
        for number in ("R8-FUZZ-001", "R8-FUZZ-002")
    ]
    work, spare_work = works
    member_id = users["member1"]["user"]["id"]
    for target in (work, spare_work):
        api.post(
            f"/works/{target['id']}/members", {"user_id": member_id, "role": "contractor_member"}
        )
    wid = work["id"]
    placed = _upload(
        api,
        wid,
        "/DOC",
        {"report.pdf": pdf(["市道中央線 道路改良工事 報告書"]), "memo.txt": "打合せ記録".encode()},
    )
    _upload(api, wid, "/", {"photo.jpg": jpeg((64, 48))})
    folders: dict[str, dict[str, bytes]] = {}
    for rel, data in package().items():
        parent, _, name = rel.rpartition("/")
        folders.setdefault(f"/PKG/{parent}".rstrip("/"), {})[name] = data
    for folder, files in folders.items():
        _upload(api, wid, folder, files)
    _upload(api, spare_work["id"], "/", {"spare.txt": b"spare"})
    _wait_for_ingest(api, wid)
    tree = api.get(f"/works/{wid}/tree", limit=100)["items"]
    pkg = next(n for n in tree if n["name"] == "PKG")
    deliverable = api.post(f"/works/{wid}/deliverables", {"root_node_id": pkg["id"]})
    spare_deliverable = api.post(f"/works/{wid}/deliverables", {"root_node_id": pkg["id"]})
    uploads = []
    for name in ("upload1.bin", "upload2.bin"):
        metadata = "filename " + base64.b64encode(name.encode()).decode()
        created = api.client.post(
            f"/works/{wid}/uploads",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "1024",
                "Upload-Metadata": metadata,
            },
        )
        assert created.status_code == 201, created.text
        uploads.append(created.headers["location"].rstrip("/").rpartition("/")[2])
    api.close()
    main = {
        "work_id": wid,
        "node_id": placed[0]["id"],
        "org_id": orderer["id"],
        "office_id": office["id"],
        "user_id": member_id,
        "upload_id": uploads[0],
        "deliverable_id": deliverable["id"],
        "position_id": position["id"],
        "key": "proposal.submitted",
        "code": "17",
        "day": day,
        "grant": "works.create",
    }
    spare = {
        "work_id": spare_work["id"],
        "org_id": spare_org["id"],
        "office_id": spare_office["id"],
        "user_id": users["spare1"]["user"]["id"],
        "upload_id": uploads[1],
        "deliverable_id": spare_deliverable["id"],
        "position_id": spare_position["id"],
    }
    callers = [Caller("operator", operator_token), Caller("member", member_token)]
    return FuzzStack(server, callers, main, spare)


def start_fuzz_server(data_dir: Path, timeout_s: float = 60.0) -> Server:
    """``kura serve --no-worker`` with jobs run in-process (eager): ingest has finished when
    an upload is answered, so every run sees the same state. (The embedded worker beside the
    API can lose a race creating its broker queue at start and stop the server.)"""
    port = free_port()
    log = data_dir.parent / "serve.log"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    env = server_env(data_dir, KURA_JOBS__EAGER="true")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*KURA, "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=str(ROOT),
        )
    server = Server(proc, port, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kura serve exited ({proc.returncode}):\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"kura serve did not answer within {timeout_s:g} s:\n{server.output()}")


def start(root: Path) -> FuzzStack:
    server = start_fuzz_server(root / "data")
    try:
        return seed(server)
    except BaseException:
        server.stop()
        raise
