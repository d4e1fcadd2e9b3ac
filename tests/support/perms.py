"""Table-driven permission matrices over the app exactly as ``create_app(settings)`` builds it.

The project rule (developers' guide): every endpoint is tested for anonymous (401), another
organization (404), a member without the right (403) and the grant (allowed). A matrix is a
list of ``Row``s, one per endpoint (method, path template, body), each naming who may call it
and who may not; ``check_matrix`` calls every row as

- nobody (no credentials): 401 problem+json ``not_authenticated``;
- ``other``: a user of another organization, by default ``outsider`` who holds *every*
  function grant, so only the organization boundary can refuse them: 404 for a work's
  resources (their existence is not revealed), or what the row says;
- ``denied``: a user of the resource's organization without the right: 403, or 404 when they
  may not even read the work;
- ``allowed``: the row's success status;

and checks that the refusals stored nothing (the audit chain did not grow). A response a
refused user gets with status 2xx (lists filtered to what they may see) must not contain the
row's ``hidden`` id. Every mismatch of a matrix is collected and reported together.

``perm_world`` builds the world the matrices share through the API itself: the first-run
operator (``ensure_operator``, as ``kura users bootstrap`` does) logs in and changes the
one-time password, creates the organizations, the users and their grants; every user logs in
with a bearer token and changes their one-time password; works, members, uploads and
deliverable checks are made by the users who may. No dependency of the app is overridden.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from api.permissions.policy import GRANTS
from api.users.bootstrap import ADMIN_LOGIN_ID, ensure_operator

API = "/api/v1"
PASSWORD = "Kura-Matrix-2026-perm"  # what every user changes the one-time password to
PROBLEM = "application/problem+json"
AUDIT = "audit_events"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Users of the world: login id -> (organization key, function grants).
ORDERER, OTHER, CONTRACTOR = "orderer", "other", "contractor"
OPERATOR = "operator"  # the actor name of the first-run operator (login id ``admin``)
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "supervisor": (ORDERER, ("works.create",)),  # registers works: their supervisor
    "manager": (ORDERER, ("works.manage", "works.create")),
    "reader": (ORDERER, ("works.read_org",)),
    "archivist": (ORDERER, ("archive.read_org",)),
    "viewer": (ORDERER, ()),  # a VIEWER member of every work the world makes
    "plain": (ORDERER, ()),  # same organization, no grant, never a member
    "useradmin": (ORDERER, ("users.manage", "grants.manage", "works.read_org")),
    "auditor": (ORDERER, ("audit.read",)),
    "keeper": (ORDERER, ("master.manage",)),
    "builder": (CONTRACTOR, ()),  # a contractor member of every work the world makes
    "outsider": (OTHER, tuple(GRANTS)),  # another orderer holding every grant there is
}

Ids = Mapping[str, str]
Body = Any | Callable[[Ids], Any]


@dataclass(frozen=True)
class Row:
    """One endpoint of a matrix. ``path`` is a template over the matrix's ids
    (``"/works/{work}/tree"``, relative to ``/api/v1``); ``json``/``content``/``files``/
    ``data`` may be callables of those ids. ``fresh``: the allowed call consumes its resource
    (delete, a state change), so the row gets ids of its own from the matrix's ``fresh``."""

    method: str
    path: str
    allowed: str
    denied: str | None = "plain"
    ok: int = 200
    refused: int = 403
    other: str | None = "outsider"
    other_status: int = 404
    json: Body = None
    content: Body = None
    files: Body = None
    data: Body = None
    headers: Mapping[str, str] = field(default_factory=dict)
    hidden: str | None = None
    fresh: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Actor:
    login_id: str
    user_id: str
    org_id: str
    client: httpx.AsyncClient


@dataclass
class World:
    app: FastAPI
    container: Container
    anonymous: httpx.AsyncClient
    operator: httpx.AsyncClient
    orgs: dict[str, str]
    office: str
    actors: dict[str, Actor] = field(default_factory=dict)

    def client(self, name: str) -> httpx.AsyncClient:
        return self.actors[name].client

    def user_id(self, name: str) -> str:
        return self.actors[name].user_id

    def base_ids(self) -> dict[str, str]:
        """Ids every matrix may use: the organizations, the office and each user's id."""
        return {
            **self.orgs,
            "office": self.office,
            **{name: actor.user_id for name, actor in self.actors.items()},
        }

    async def audit_length(self) -> int:
        return await self.container.records.count(AUDIT)

    # things made through the API by the users who may --------------------------------------
    async def work(self, **over: Any) -> dict[str, Any]:
        """A registered work of the orderer (registered by ``supervisor``, its supervisor),
        with ``viewer`` as a viewer and ``builder`` as a contractor member."""
        r = await self.client("supervisor").post(
            f"{API}/works", json=work_body(self.base_ids(), **over)
        )
        assert r.status_code == 201, r.text
        work: dict[str, Any] = r.json()
        for name, role in (("viewer", "viewer"), ("builder", "contractor_member")):
            r = await self.client("manager").post(
                f"{API}/works/{work['id']}/members",
                json={"user_id": self.user_id(name), "role": role},
            )
            assert r.status_code == 201, r.text
        r = await self.client("manager").get(f"{API}/works/{work['id']}")
        assert r.status_code == 200, r.text
        current: dict[str, Any] = r.json()
        return current

    async def upload(
        self, work_id: str, files: Mapping[str, tuple[bytes, str]], folder: str = "納品"
    ) -> list[dict[str, Any]]:
        """Files placed by ``builder`` through the multipart endpoint (ingest runs eagerly)."""
        parts = [("file", (name, data, kind)) for name, (data, kind) in files.items()]
        r = await self.client("builder").post(
            f"{API}/works/{work_id}/files", files=parts, data={"folder": folder}
        )
        assert r.status_code == 201, r.text
        placed: list[dict[str, Any]] = r.json()
        return placed

    async def tus_upload(self, work_id: str, length: int = 8, as_: str = "builder") -> str:
        """An open tus upload of ``length`` bytes; returns its id."""
        name = base64.b64encode("計測.txt".encode()).decode()
        r = await self.client(as_).post(
            f"{API}/works/{work_id}/uploads",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(length),
                "Upload-Metadata": f"filename {name}",
            },
        )
        assert r.status_code == 201, r.text
        return r.headers["location"].rstrip("/").rsplit("/", 1)[-1]

    async def deliverable(self, work_id: str) -> str:
        r = await self.client("manager").post(f"{API}/works/{work_id}/deliverables", json={})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def work_body(ids: Ids, **over: Any) -> dict[str, Any]:
    """A valid new work of the orderer (``ids``: a world's ``base_ids``)."""
    body: dict[str, Any] = {
        "kind": "construction",
        "title": "福山市春日町2丁目ほか道路標示工事",
        "number": f"R8-{new_id()[-8:]}",
        "orderer_org_id": ids[ORDERER],
        "office_id": ids["office"],
        "contractor_org_ids": [ids[CONTRACTOR]],
        "location": {"address": "広島県福山市春日町2丁目2番56号先", "municipality_code": "342076"},
        "period_start": "2026-06-01",
        "period_end": "2026-08-31",
        "business_type": "17",
        "category": "道路",
    }
    body.update(over)
    return body


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real JPEG (ingest makes a thumbnail of it)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


# -- building the world through the API ------------------------------------------------------
async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else None


async def _signed_in(
    stack: AsyncExitStack, app: FastAPI, login_id: str, password: str
) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    """A client holding a bearer token of ``login_id``, its one-time password changed."""
    client = await stack.enter_async_context(_client(app))
    body = await _ok(
        await client.post(
            f"{API}/auth/login",
            json={"login_id": login_id, "password": password, "mode": "token"},
        )
    )
    client.headers["Authorization"] = f"Bearer {body['token']}"
    if body["password_change_required"]:
        await _ok(
            await client.post(
                f"{API}/auth/password",
                json={"current_password": password, "new_password": PASSWORD},
            )
        )
    user: dict[str, Any] = body["user"]
    return client, user


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://kura.test")


@asynccontextmanager
async def perm_world(
    settings: Settings, users: Sequence[str] = tuple(USERS)
) -> AsyncIterator[World]:
    """The app as ``create_app(settings)`` builds it, running, with the world's users signed
    in (``users``: which of ``USERS`` to make)."""
    app = create_app(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        container: Container = app.state.container
        first = await ensure_operator(container)
        assert first is not None
        operator, admin = await _signed_in(stack, app, ADMIN_LOGIN_ID, first)
        orgs: dict[str, str] = {}
        for key, org in (
            (ORDERER, {"kind": "orderer", "name": "福山市", "code": "34207001"}),
            (OTHER, {"kind": "orderer", "name": "尾道市", "code": "34205001"}),
            (CONTRACTOR, {"kind": "contractor", "name": "春日建設株式会社"}),
        ):
            created = await _ok(await operator.post(f"{API}/organizations", json=org), 201)
            orgs[key] = str(created["id"])
        office = await _ok(
            await operator.post(
                f"{API}/organizations/{orgs[ORDERER]}/offices", json={"name": "東部建設事務所"}
            ),
            201,
        )
        world = World(
            app=app,
            container=container,
            anonymous=await stack.enter_async_context(_client(app)),
            operator=operator,
            orgs=orgs,
            office=str(office["id"]),
        )
        world.actors[OPERATOR] = Actor(ADMIN_LOGIN_ID, admin["id"], admin["org_id"], operator)
        for login_id in users:
            org_key, grants = USERS[login_id]
            made = await _ok(
                await operator.post(
                    f"{API}/users",
                    json={
                        "login_id": login_id,
                        "name": f"{login_id} 太郎",
                        "org_id": orgs[org_key],
                    },
                ),
                201,
            )
            user_id = str(made["user"]["id"])
            for grant in grants:
                await _ok(
                    await operator.post(f"{API}/users/{user_id}/grants", json={"grant": grant}),
                    201,
                )
            client, _ = await _signed_in(stack, app, login_id, made["initial_password"])
            world.actors[login_id] = Actor(login_id, user_id, orgs[org_key], client)
        yield world


# -- running a matrix --------------------------------------------------------------------------
def _value(body: Body, ids: Ids) -> Any:
    return body(ids) if callable(body) else body


async def _send(client: httpx.AsyncClient, row: Row, ids: Ids) -> httpx.Response:
    kw: dict[str, Any] = {"headers": dict(row.headers)}
    for name in ("json", "content", "files", "data"):
        value = _value(getattr(row, name), ids)
        if value is not None:
            kw[name] = value
    return await client.request(row.method, API + row.path.format(**ids), **kw)


def _text(r: httpx.Response) -> str:
    """The answer as text; an Excel workbook's sheets and shared strings unzipped."""
    if r.headers.get("content-type", "").startswith(XLSX):
        with zipfile.ZipFile(io.BytesIO(r.content)) as book:
            return "".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    return r.text


_CODES = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}


def _mismatch(row: Row, who: str, r: httpx.Response, want: int, ids: Ids) -> str | None:
    """Why ``r`` is not the expected answer for ``who``, or None when it is."""
    if r.status_code != want:
        return f"{row.label} as {who}: {r.status_code} (want {want}) {r.text[:160]}"
    if want in _CODES and r.request.method != "HEAD":
        if not r.headers.get("content-type", "").startswith(PROBLEM):
            return f"{row.label} as {who}: {want} without problem+json"
        if r.json().get("code") != _CODES[want]:
            return f"{row.label} as {who}: code {r.json().get('code')!r}, want {_CODES[want]!r}"
    if want < 300 and row.hidden is not None and ids[row.hidden] in _text(r):
        return f"{row.label} as {who}: answer shows {row.hidden} {ids[row.hidden]}"
    return None


async def check_matrix(
    world: World,
    rows: Sequence[Row],
    ids: Ids,
    fresh: Callable[[], Awaitable[Ids]] | None = None,
) -> None:
    """Call every row as nobody, ``other``, ``denied`` and ``allowed``; fail with every
    mismatch of the matrix at once."""
    problems: list[str] = []
    for row in rows:
        if row.fresh:
            assert fresh is not None, f"{row.label}: fresh row without a fresh() factory"
            row_ids: Ids = {**ids, **(await fresh())}
        else:
            row_ids = ids
        before = await world.audit_length()
        tries: list[tuple[str, httpx.AsyncClient, int]] = [("nobody", world.anonymous, 401)]
        if row.other is not None:
            tries.append((row.other, world.client(row.other), row.other_status))
        if row.denied is not None:
            tries.append((row.denied, world.client(row.denied), row.refused))
        for who, client, want in tries:
            problem = _mismatch(row, who, await _send(client, row, row_ids), want, row_ids)
            if problem:
                problems.append(problem)
        after = await world.audit_length()
        if after != before:
            problems.append(f"{row.label}: refused calls left {after - before} audit events")
        r = await _send(world.client(row.allowed), row, row_ids)
        if r.status_code != row.ok:
            problems.append(
                f"{row.label} as {row.allowed}: {r.status_code} (want {row.ok}) {r.text[:160]}"
            )
        elif row.hidden is not None and row_ids[row.hidden] not in _text(r):
            # the control: what the others must not see is there for the allowed user
            problems.append(f"{row.label} as {row.allowed}: answer lacks {row.hidden}")
    assert not problems, "\n".join(problems)


def uncovered(routers: Sequence[APIRouter], rows: Sequence[Row]) -> list[str]:
    """The endpoints of ``routers`` no row names: a new endpoint without a matrix row shows
    up here. OPTIONS (tus discovery) is public by the protocol and needs none."""
    named = {(r.method, _template(r.path)) for r in rows}
    missing = set()
    for router in routers:
        for route in router.routes:
            path = getattr(route, "path", "")
            for method in set(getattr(route, "methods", None) or ()) - {"OPTIONS"}:
                if (method, _template(path)) not in named:
                    missing.add(f"{method} {path}")
    return sorted(missing)


def _template(path: str) -> str:
    """``/works/{work}/tree?x=1`` and ``/works/{work_id}/tree`` compare equal."""
    out, depth = [], 0
    for ch in path.split("?", 1)[0]:
        if ch == "{":
            depth += 1
            out.append("{}")
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)
