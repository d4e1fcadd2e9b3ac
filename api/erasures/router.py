"""HTTP API of erasure (issue 12 §2; seed 001 §3-6, 別表3 12(1) 手動により削除, 12(2)).

    GET    /erasures[?state=]              every planned, running and finished erasure
                                           (state: scheduled, running, done)
    GET    /erasures/{scope}               one scope: its plan or erasure, its key's state and
                                           a legal hold that would refuse it
    POST   /erasures/{scope}               erase now (``confirm`` must repeat the scope's
                                           displayed name, ``label``; or the scope itself):
                                           202 once the key is destroyed (unreadable at once);
                                           records, index and objects follow as a job
    PUT    /erasures/{scope}/schedule      plan the erasure on the contract's date (notified)
    DELETE /erasures/{scope}/schedule      withdraw a plan
    GET    /erasures/{scope}/certificate   the erasure certificate (PDF) of a finished erasure

Operators only (``api.erasures.permissions``): anonymous 401; someone who cannot see the
scope (another organization's work or organization) 404; someone who can see it but is no
operator 403. A scope under legal hold is refused with 409 ``legal_hold``.

An erasure by hand answers as soon as the scope's keys are destroyed (milliseconds: from then
on nothing of it can be decrypted anywhere, the "< 5 s to unreadable" target of issue 12); the
remaining steps (records, search documents, objects, the audit event) run as the durable job
``erasures.finish`` committed with the ``key_destroyed`` mark, so a killed worker's job is sent
again by the sweeper and the hourly beat resumes any unfinished erasure besides. Progress is
``GET /erasures/{scope}`` (``state`` and ``job``); the certificate is there once ``done``
(409 ``not_erased`` before). The scope takes no new data from the start (``api.keys.fence``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from api.deps import ContainerDep, SubjectDep
from api.erasures.service import MANUAL, ErasureService, label
from api.erasures.views import confirms, view
from api.errors import Conflict, Forbidden, NotAuthenticated, NotFoundError, ValidationFailed
from api.keys import scopes
from api.keys.erasure import DONE, ERASURES, UNFINISHED, destroy_key, erasure_record
from api.kit.text import Text
from api.permissions.policy import OrgContext, Subject
from api.works.models import WORKS
from storage.query import Condition, Eq, In, Record
from storage.query import Query as RecordQuery

router = APIRouter(tags=["erasures"])

Reason = Annotated[str, Text(200, required=False)]


class EraseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: Annotated[str, Text(60)]
    reason: Reason = ""


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: date
    reason: Reason = ""


class NotErased(Conflict):
    code = "not_erased"
    title = "消去が完了していないため、消去証明書を発行できません。"


async def _allow(container: Any, subject: Subject | None, scope: str, action: str) -> Record:
    """The scope's owner record (work or organization) if ``subject`` may do ``action``."""
    if subject is None:
        raise NotAuthenticated()
    if not scopes.is_scope(scope):
        raise NotFoundError()
    kind, owner = scopes.parse(scope)
    if kind == scopes.ORG:
        owner_record = await container.records.get("organizations", owner)
        org_id: str | None = owner
        visible = subject.org_id == owner
    else:
        owner_record = await container.records.get(WORKS, owner)
        org_id = str((owner_record or {}).get("orderer_org_id") or "") or None
        visible = False
        if owner_record is not None:
            from api.works.service import WorkService

            ctx = await WorkService.of(container).context(subject, owner_record)
            visible = container.policy.can(subject, "works.read", ctx)
    known = (
        owner_record is not None
        or await erasure_record(container, scope) is not None
        or await container.keys.store.get("key_scopes", scope) is not None
    )
    if container.policy.can(subject, action, OrgContext(org_id)):
        if not known:
            raise NotFoundError()
        return owner_record or {}
    if visible:
        raise Forbidden()
    raise NotFoundError()


StateFilter = Literal["scheduled", "running", "done"]


@router.get("/erasures")
async def list_erasures(
    container: ContainerDep,
    subject: SubjectDep,
    state: Annotated[StateFilter | None, Query()] = None,
) -> dict[str, Any]:
    """Every erasure record (or those in ``state``; ``running``: every unfinished step),
    planned first (by date), then the rest newest first."""
    container.policy.require(subject, "erasures.list", OrgContext(None))
    where: tuple[Condition, ...] = ()
    if state == "running":
        where = (In("state", UNFINISHED),)
    elif state is not None:
        where = (Eq("state", state),)
    page = await container.records.find(ERASURES, RecordQuery(where=where, limit=1000))
    items = [await view(container, str(r["id"]), r) for r in page.items]

    def when(v: dict[str, Any], *names: str) -> str:
        erasure = v["erasure"] or {}
        return next((str(erasure[n]) for n in names if erasure.get(n)), "")

    planned = sorted(
        (v for v in items if v["state"] == "scheduled"), key=lambda v: when(v, "due_on")
    )
    rest = sorted(
        (v for v in items if v["state"] != "scheduled"),
        key=lambda v: when(v, "finished_at", "started_at"),
        reverse=True,
    )
    return {"items": [*planned, *rest]}


@router.get("/erasures/{scope}")
async def get_erasure(container: ContainerDep, subject: SubjectDep, scope: str) -> dict[str, Any]:
    await _allow(container, subject, scope, "erasures.read")
    return await view(container, scope, await erasure_record(container, scope), detail=True)


@router.post("/erasures/{scope}", status_code=202)
async def erase_now(
    container: ContainerDep, subject: SubjectDep, scope: str, body: EraseBody
) -> dict[str, Any]:
    """別表3 12(1) 手動により削除: destroy the key now (202: unreadable from this answer on),
    then delete records, index entries and objects in the job ``erasures.finish``."""
    await _allow(container, subject, scope, "erasures.erase")
    assert subject is not None
    shown = await label(container, scope)
    if not confirms(body.confirm, scope, shown):
        raise ValidationFailed(
            f"確認のため、消去する対象の名前「{shown}」をそのまま入力してください。",
            field="confirm",
        )
    current = await erasure_record(container, scope)
    if current is not None and current.get("state") == DONE:
        return await view(container, scope, current, detail=True)  # erased already
    record = await destroy_key(
        container, scope, f"user:{subject.user_id}", body.reason or "運用者による消去", as_job=True
    )
    # The record as the key's destruction left it (``key_destroyed``): where the job stands
    # is ``GET /erasures/{scope}``.
    return await view(container, scope, record, detail=True)


@router.put("/erasures/{scope}/schedule")
async def schedule(
    container: ContainerDep, subject: SubjectDep, scope: str, body: ScheduleBody
) -> dict[str, Any]:
    """Plan the erasure on the contract's date; the supervisors are told at once (§3-6)."""
    await _allow(container, subject, scope, "erasures.schedule")
    assert subject is not None
    service = ErasureService(container)
    from api.erasures.service import today

    if body.due_on <= today(container):
        raise ValidationFailed(
            "消去日は明日以降の日付を指定してください（事前に通知します）。", field="due_on"
        )
    stored = await service.schedule(
        scope,
        body.due_on,
        MANUAL,
        body.reason or "契約に定める期日による消去",
        f"user:{subject.user_id}",
    )
    return await view(container, scope, stored, detail=True)


@router.delete("/erasures/{scope}/schedule", status_code=204)
async def unschedule(container: ContainerDep, subject: SubjectDep, scope: str) -> Response:
    await _allow(container, subject, scope, "erasures.schedule")
    assert subject is not None
    await ErasureService(container).cancel(scope, f"user:{subject.user_id}")
    return Response(status_code=204)


@router.get("/erasures/{scope}/certificate")
async def certificate(container: ContainerDep, subject: SubjectDep, scope: str) -> Response:
    """The erasure certificate (issue 12 §2; 別表3 12(2): 削除したデータは再現できないことを
    利用者に示す), rendered from the erasure record."""
    await _allow(container, subject, scope, "erasures.read")
    record = await erasure_record(container, scope)
    if record is None or record.get("state") != DONE:
        raise NotErased()
    from api.keys.certificate import certificate_data
    from api.keys.erasure import Erased
    from api.keys.ring import Destroyed
    from api.pdf import DOCUMENT

    erased = Erased(
        Destroyed(
            scope,
            tuple(record.get("key_ids") or ()),
            str(record.get("destroyed_at") or ""),
            str(record.get("by") or ""),
        ),
        int(record.get("objects") or 0),
        int(record.get("uploads") or 0),
        str(record.get("reason") or ""),
        int(record.get("event_seq") or 0),
        str(record.get("event_hash") or ""),
        dict(record.get("records") or {}),
        int(record.get("index") or 0),
    )
    data = certificate_data(container.settings, erased, container.clock.now().date())
    pdf = await container.pdf.render(DOCUMENT, data)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="erasure-{scope}.pdf"'},
    )
