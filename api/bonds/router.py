"""``/api/v1/bonds``: bonds, their revisions, keys and copies. The services decide."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.bonds.models import BondKind, DeleteReason
from api.bonds.printing import render_copy
from api.bonds.schemas import (
    BondCreate,
    BondFilters,
    BondPage,
    BondRead,
    BondUpdate,
    KeyPresentation,
    KeyUpload,
    OpenResult,
    RevisionRead,
    SecurityCreate,
)
from api.bonds.service import BondService
from api.bonds.views import BondViews
from api.deps import ContainerDep, SubjectDep
from api.errors import Conflict, NotFoundError

router = APIRouter(prefix="/bonds", tags=["bonds"])

BondId = Annotated[str, Path(max_length=64)]


def _filters(
    role: Annotated[str | None, Query(pattern="^(issuer|obligor|obligee)$")] = None,
    kind: Annotated[BondKind | None, Query()] = None,
    state: Annotated[str | None, Query(pattern="^(active|deleted|all)$")] = "active",
    work_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    sort: Annotated[str, Query(pattern="^(created_at|opening_at)$")] = "created_at",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> BondFilters:
    # The parameters are typed above, so this cannot fail; should a rule of BondFilters ever
    # refuse a value the query types let through, it is the payload's shape (422), never a 500.
    try:
        return BondFilters.model_validate(
            {
                "role": role,
                "kind": kind,
                "state": None if state == "all" else state,
                "work_id": work_id,
                "sort": sort,
                "order": order,
                "limit": limit,
                "cursor": cursor,
            }
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


Filters = Annotated[BondFilters, Depends(_filters)]


@router.get("", response_model=BondPage)
async def list_bonds(container: ContainerDep, subject: SubjectDep, f: Filters) -> BondPage:
    """The bonds of the reader's organization (as issuer, obligor or obligee); sealed ones
    by existence only (F01<1>)."""
    return await BondViews(container).page(subject, f)


@router.get("/export.csv", response_class=Response)
async def export_bonds(container: ContainerDep, subject: SubjectDep, f: Filters) -> Response:
    text = await BondViews(container).export_csv(subject, f)
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''bonds.csv"},
    )


@router.post("", status_code=201, response_model=BondRead)
async def create_bond(container: ContainerDep, subject: SubjectDep, body: BondCreate) -> BondRead:
    """An issuer registers a bond (F01<1>, F02<1>) or a paper bond's amount."""
    bond = await BondService(container).create(subject, body)
    assert subject is not None
    return BondViews(container).read(subject, bond)


@router.post("/securities", status_code=201, response_model=BondRead)
async def create_security(
    container: ContainerDep, subject: SubjectDep, body: SecurityCreate
) -> BondRead:
    """An orderer records a contract security it received (seed 003 21)."""
    bond = await BondService(container).create_security(subject, body)
    assert subject is not None
    return BondViews(container).read(subject, bond)


@router.post("/open", response_model=OpenResult)
async def open_with_key(
    container: ContainerDep, subject: SubjectDep, body: KeyPresentation
) -> OpenResult:
    """The orderer presents a key file (F01<2> ボンド内容確認)."""
    return await BondViews(container).open(subject, body.key)


@router.get("/{bond_id}", response_model=BondRead)
async def get_bond(container: ContainerDep, subject: SubjectDep, bond_id: BondId) -> BondRead:
    return await BondViews(container).get(subject, bond_id)


@router.patch("/{bond_id}", response_model=BondRead)
async def update_bond(
    container: ContainerDep, subject: SubjectDep, bond_id: BondId, body: BondUpdate
) -> BondRead:
    """Re-bid (F01<3>), contract change (F02<3>) or correction: a new revision and key."""
    bond = await BondService(container).update(subject, bond_id, body)
    assert subject is not None
    return BondViews(container).read(subject, bond)


@router.delete("/{bond_id}", response_model=BondRead)
async def delete_bond(
    container: ContainerDep,
    subject: SubjectDep,
    bond_id: BondId,
    version: Annotated[int, Query(ge=1)],
    reason: DeleteReason,
) -> BondRead:
    """F01<4> 不落札, F02<2> 契約締結, F02<4>: the key stops working at once."""
    bond = await BondService(container).delete(subject, bond_id, version, reason)
    assert subject is not None
    return BondViews(container).read(subject, bond)


@router.get("/{bond_id}/revisions", response_model=list[RevisionRead])
async def bond_revisions(
    container: ContainerDep, subject: SubjectDep, bond_id: BondId
) -> list[RevisionRead]:
    return await BondViews(container).revisions(subject, bond_id)


@router.get("/{bond_id}/carry")
async def carry(container: ContainerDep, subject: SubjectDep, bond_id: BondId) -> dict[str, Any]:
    """A reservation's data for the performance bond that replaces it (F02<1>)."""
    return await BondService(container).carry_template(subject, bond_id)


@router.post("/{bond_id}/open", response_model=OpenResult)
async def open_bond(
    container: ContainerDep, subject: SubjectDep, bond_id: BondId, body: KeyPresentation
) -> OpenResult:
    """The same, for this bond (a key for another bond is refused)."""
    return await BondViews(container).open(subject, body.key, bond_id)


def _pdf(data: bytes, bond_id: str, revision: int) -> Response:
    name = f"bond-{bond_id}-v{revision}-copy.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@router.get("/{bond_id}/copy.pdf", response_class=Response)
async def copy_pdf(
    container: ContainerDep,
    subject: SubjectDep,
    bond_id: BondId,
    revision: Annotated[int | None, Query(ge=1, le=10**6)] = None,
) -> Response:
    """A copy (写し) at any revision, for the issuer and the obligor."""
    views = BondViews(container)
    bond = await views.bonds.load(subject, bond_id, "bonds.read_contents")
    rev = await views.revision_record(bond, revision)
    return _pdf(await render_copy(container, bond, rev), bond_id, int(rev["revision"]))


@router.post("/{bond_id}/copy", response_class=Response)
async def copy_with_key(
    container: ContainerDep, subject: SubjectDep, bond_id: BondId, body: KeyPresentation
) -> Response:
    """A copy for the orderer: with a valid key, once the bond is no longer sealed."""
    views = BondViews(container)
    opened = await views.open(subject, body.key, bond_id)
    if opened.bond.view != "full":
        raise Conflict("開札日時まではボンドの内容を表示できません。")
    bond = await views.bonds.load(subject, bond_id, "bonds.open")
    if body.revision is not None and body.revision > opened.key.revision:
        raise NotFoundError("その版はありません。")
    rev = await views.revision_record(bond, body.revision or opened.key.revision)
    return _pdf(await render_copy(container, bond, rev), bond_id, int(rev["revision"]))


@router.get("/{bond_id}/keys/tbs")
async def key_tbs(container: ContainerDep, subject: SubjectDep, bond_id: BondId) -> Response:
    """The to-be-signed file of the current key (``kura bond sign`` signs it)."""
    service = BondService(container)
    bond = await service.load(subject, bond_id, "bonds.sign")
    key = await service.keys.current(bond)
    if key is None or bond["state"] != "active":
        raise Conflict("署名を待っている認証キーはありません。")
    body = json.dumps(await service.keys.tbs(bond, key), ensure_ascii=False, indent=1)
    name = f"bond-{bond_id}-v{key['revision']}.tbs.json"
    return Response(
        body.encode(),
        media_type="application/json",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@router.post("/{bond_id}/keys", response_model=BondRead)
async def upload_key(
    container: ContainerDep, subject: SubjectDep, bond_id: BondId, body: KeyUpload
) -> BondRead:
    """The issuer's signed key for the current revision."""
    service = BondService(container)
    bond = await service.load(subject, bond_id, "bonds.sign")
    assert subject is not None
    await service.keys.accept(subject, bond, body.key)
    stored = await container.records.get("bonds", bond_id)
    assert stored is not None
    return BondViews(container).read(subject, stored)


@router.get("/{bond_id}/key")
async def download_key(container: ContainerDep, subject: SubjectDep, bond_id: BondId) -> Response:
    """The key file (F01<1> 認証キー取得), with a snapshot of the signed status list."""
    service = BondService(container)
    bond = await service.load(subject, bond_id, "bonds.download_key")
    text = await service.keys.keyfile_text(bond)
    number = str(bond["contents"].get("certificate_no") or bond_id)
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in number)
    name = f"bond-{safe}-v{bond['revision']}.kurakey"
    return Response(
        text.encode(),
        media_type="application/json",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
