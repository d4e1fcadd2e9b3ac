"""The end-to-end stack: a real ``kura serve`` (API + Celery worker) in a temp data folder,
seeded through the API as an operator would, and small helpers for the browser tests.

Seed (all through ``/api/v1`` with the bootstrap operator's token):
- organizations: 広島県 (orderer), 春日建設 (contractor, on the work), 瀬戸内測量 (contractor,
  not on the work);
- users: ``contractor1`` (contractor_member of the work), ``inspector1`` (inspector),
  ``outsider1`` (no membership: the unauthorised user), ``newbie1`` (still on the one-time
  password: forced change), ``locked1`` (for the lockout message); every password but
  newbie1's is already changed to ``PASSWORD``;
- one work 「福山市春日町2丁目ほか道路標示工事」 with the members above.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
AXE_JS = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("KURA_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
PASSWORD = "kura-E2E-passphrase-2026!"
API = "/api/v1"
WORK_TITLE = "福山市春日町2丁目ほか道路標示工事"
KURA = [sys.executable, "-c", "from api.cli import main; main()"]  # the `kura` command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of the server: embedded backends in ``data_dir``, cheap argon2,
    plain-HTTP cookies, a short lockout; inherited KURA_* settings are dropped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_")}
    env.update(
        KURA_DATA_DIR=str(data_dir),
        KURA_LOG_JSON="false",
        KURA_LOG_LEVEL="WARNING",
        KURA_AUTH__COOKIE_SECURE="false",
        KURA_AUTH__ARGON2_TIME_COST="1",
        KURA_AUTH__ARGON2_MEMORY_KIB="8192",
        KURA_AUTH__LOCKOUT_THRESHOLD="3",
        **extra,
    )
    return env


@dataclass
class Server:
    """``kura serve`` in a subprocess group; stdout+stderr go to ``log``."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def start_server(data_dir: Path, timeout_s: float = 60.0, **extra_env: str) -> Server:
    """Start ``kura serve`` (the real command: the app exactly as ``create_app`` builds it) and
    wait until /healthz answers."""
    port = free_port()
    log = data_dir.parent / "serve.log"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*KURA, "serve", "--port", str(port)],
            env=server_env(data_dir, **extra_env),
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


def operator_password(server: Server) -> str:
    match = re.search(r"一時パスワード:\s*(\S+)", server.output())
    if not match:
        raise RuntimeError(f"no one-time password printed by kura serve:\n{server.output()}")
    return match.group(1)


class Api:
    """A token client for seeding and checking through the API."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url + API, timeout=60)

    def login(self, login_id: str, password: str, new_password: str | None = None) -> None:
        r = self.client.post(
            "/auth/login", json={"login_id": login_id, "password": password, "mode": "token"}
        )
        r.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        if r.json()["password_change_required"] and new_password:
            change = {"current_password": password, "new_password": new_password}
            self.ok(self.client.post("/auth/password", json=change))
            self.login(login_id, new_password)

    def ok(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            raise AssertionError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.ok(self.client.get(path, params=params))

    def post(self, path: str, body: Any) -> Any:
        return self.ok(self.client.post(path, json=body))

    def close(self) -> None:
        self.client.close()


@dataclass
class Stack:
    server: Server
    api: Api  # logged in as the operator
    work_id: str
    orgs: dict[str, str]
    users: dict[str, str]  # login_id -> user id
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def as_user(self, login_id: str) -> Api:
        api = Api(self.url)
        api.login(login_id, self.passwords[login_id])
        return api

    def upload(self, folder: str, name: str, data: bytes, ctype: str) -> None:
        """Put a file into the work through the API (multipart, as the operator)."""
        r = self.api.client.post(
            f"/works/{self.work_id}/files",
            data={"folder": folder, "on_conflict": "replace"},
            files={"file": (name, data, ctype)},
        )
        assert r.status_code == 201, r.text

    def node_named(self, name: str) -> dict[str, Any] | None:
        return next((n for n in self.files() if n["name"] == name), None)

    def wait_ingested(self, name: str, timeout_s: float = 60) -> dict[str, Any]:
        """The file's detail once its ingest (text extraction, index) is done."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            node = self.node_named(name)
            if node is not None:
                detail = self.api.get(f"/files/{node['id']}")
                state = (detail.get("ingest") or {}).get("state")
                if state in ("done", "failed"):
                    assert state == "done", detail
                    return dict(detail)
            time.sleep(0.3)
        raise AssertionError(f"{name} not ingested within {timeout_s:g} s")

    def files(self, login_id: str = "admin") -> list[dict[str, Any]]:
        """Every file node of the work (walks the tree through the API)."""
        api = self.api if login_id == "admin" else self.as_user(login_id)
        try:
            return self._walk(api)
        finally:
            if api is not self.api:
                api.close()

    def _walk(self, api: Api) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        todo = [f"/works/{self.work_id}/tree"]
        while todo:
            path = todo.pop()
            cursor: str | None = None
            while True:
                params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
                page = api.get(path, **params)
                for node in page["items"]:
                    if node["kind"] == "folder":
                        todo.append(f"/nodes/{node['id']}/children")
                    else:
                        out.append(node)
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        return out


def seed(server: Server) -> Stack:
    admin_password = operator_password(server)
    api = Api(server.url)
    api.login("admin", admin_password, new_password=PASSWORD)
    orgs: dict[str, str] = {}
    for key, body in {
        "orderer": {"kind": "orderer", "name": "広島県", "code": "34000001"},
        "contractor": {"kind": "contractor", "name": "春日建設株式会社"},
        "other": {"kind": "contractor", "name": "瀬戸内測量株式会社"},
    }.items():
        orgs[key] = api.post("/organizations", body)["id"]
    users: dict[str, str] = {"admin": api.get("/auth/me")["user"]["id"]}
    passwords = {"admin": PASSWORD}
    initial: dict[str, str] = {}
    for login_id, name, org in (
        ("contractor1", "春日 太郎", "contractor"),
        ("inspector1", "検査 花子", "orderer"),
        ("outsider1", "部外 次郎", "other"),
        ("newbie1", "新人 三郎", "contractor"),
        ("locked1", "施錠 四郎", "contractor"),
    ):
        created = api.post("/users", {"login_id": login_id, "name": name, "org_id": orgs[org]})
        users[login_id] = created["user"]["id"]
        initial[login_id] = created["initial_password"]
    for login_id, first in initial.items():
        if login_id == "newbie1":
            passwords[login_id] = first
            continue
        user_api = Api(server.url)
        user_api.login(login_id, first, new_password=PASSWORD)
        user_api.close()
        passwords[login_id] = PASSWORD
    work = api.post("/works", work_body(orgs["orderer"], [orgs["contractor"]]))
    for login_id, role in (("contractor1", "contractor_member"), ("inspector1", "inspector")):
        api.post(f"/works/{work['id']}/members", {"user_id": users[login_id], "role": role})
    return Stack(server, api, work["id"], orgs, users, passwords)


def work_body(orderer: str, contractors: list[str]) -> dict[str, Any]:
    return {
        "kind": "construction",
        "title": WORK_TITLE,
        "number": "R8-E2E-001",
        "orderer_org_id": orderer,
        "contractor_org_ids": contractors,
        "location": {
            "address": "広島県福山市春日町2丁目2番56号先",
            "municipality_code": "342076",
        },
        "period_start": "2026-06-01",
        "period_end": "2026-08-31",
        "category": "道路",
        "contract_price": 12500000,
    }
