"""HTTP API of proposals: ``/works/{id}/proposals``, ``/proposals`` (lists across works, the
inbox, one proposal, its PDF and history). The services and the rules decide."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.deps import ContainerDep, SubjectDep
from api.proposals.access import Access
from api.proposals.lists import ListFilters, ListPage, ProposalLists
from api.proposals.models import SORT_FIELDS
from api.proposals.printing import Printing
from api.proposals.schemas import ProposalCreate, ProposalUpdate
from api.proposals.service import ProposalService
from api.proposals.views import detail, history, history_csv, history_document

router = APIRouter(tags=["proposals"])


def _filters(
    state: list[str] | None,
    work_id: list[str] | None,
    form_id: str | None,
    importance: str | None,
    q: str | None,
    overdue: bool,
    date_field: str | None,
    date_from: str | None,
    date_to: str | None,
    sort: str,
    order: str,
    limit: int,
    cursor: str | None,
) -> ListFilters:
    return ListFilters(
        work_ids=tuple(work_id or ()),
        states=tuple(state or ()),
        form_id=form_id,
        importance=importance,
        q=q,
        overdue=overdue,
        date_field=date_field,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        order=order,
        limit=limit,
        cursor=cursor,
    )


class ListParams:
    """The list's query: filters (4(7)) and sort over the columns of 4(6)."""

    def __init__(
        self,
        state: Annotated[list[str] | None, Query(max_length=10)] = None,
        work: Annotated[list[str] | None, Query(max_length=500)] = None,
        form_id: Annotated[str | None, Query(max_length=64)] = None,
        importance: Annotated[str | None, Query(pattern="^(normal|important)$")] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        overdue: bool = False,
        date_field: Annotated[str | None, Query(max_length=40)] = None,
        date_from: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
        date_to: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
        sort: Annotated[str, Query(pattern="^(" + "|".join(SORT_FIELDS) + ")$")] = "updated_at",
        order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
    ) -> None:
        self.filters = _filters(
            state,
            work,
            form_id,
            importance,
            q,
            overdue,
            date_field,
            date_from,
            date_to,
            sort,
            order,
            limit,
            cursor,
        )


def _page(page: ListPage) -> dict[str, Any]:
    return {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "total": page.total,
        "truncated": page.truncated,
    }


@router.get("/works/{work_id}/proposals")
async def list_work_proposals(
    container: ContainerDep,
    subject: SubjectDep,
    work_id: str,
    params: Annotated[ListParams, Depends()],
) -> dict[str, Any]:
    """One work's proposals (seed 001 別表1-1 4(4))."""
    return _page(await ProposalLists(container).of_work(subject, work_id, params.filters))


@router.get("/works/{work_id}/proposals/new")
async def new_proposal_values(
    container: ContainerDep,
    subject: SubjectDep,
    work_id: str,
    form_id: Annotated[str, Query(max_length=64)],
) -> dict[str, Any]:
    """A new proposal's form and its values from the work's information (3(3))."""
    return await ProposalService(container).new_values(subject, work_id, form_id)


@router.get("/works/{work_id}/proposals/people")
async def route_people(
    container: ContainerDep, subject: SubjectDep, work_id: str
) -> dict[str, Any]:
    """The work's members who may be on a route, with names and roles (4(8): the route
    editor chooses approvers and viewers among them)."""
    return {"items": await ProposalService(container).people(subject, work_id)}


@router.post("/works/{work_id}/proposals", status_code=201)
async def create_proposal(
    container: ContainerDep, subject: SubjectDep, work_id: str, body: ProposalCreate
) -> dict[str, Any]:
    """A draft (3(5)); ``copy_from`` makes it from an earlier proposal (3(4))."""
    return await ProposalService(container).create(subject, work_id, body.body())


@router.get("/proposals")
async def list_proposals(
    container: ContainerDep, subject: SubjectDep, params: Annotated[ListParams, Depends()]
) -> dict[str, Any]:
    """Every proposal the subject reads, across all or chosen works (4(5)-(7))."""
    return _page(await ProposalLists(container).cross_work(subject, params.filters))


@router.get("/proposals/inbox")
async def inbox(
    container: ContainerDep, subject: SubjectDep, params: Annotated[ListParams, Depends()]
) -> dict[str, Any]:
    """What waits for me across works; ``total`` counts the same conditions as the list."""
    return _page(await ProposalLists(container).inbox(subject, params.filters))


@router.get("/proposals/inbox/count")
async def inbox_count(container: ContainerDep, subject: SubjectDep) -> dict[str, int]:
    return {"count": await ProposalLists(container).inbox_count(subject)}


@router.get("/proposals/{proposal_id}")
async def get_proposal(
    container: ContainerDep, subject: SubjectDep, proposal_id: str
) -> dict[str, Any]:
    """The proposal with its form version, files, names and what the reader may do."""
    loaded = await Access(container).proposal(subject, proposal_id)
    assert subject is not None
    return await detail(container, subject, loaded)


@router.patch("/proposals/{proposal_id}")
async def update_proposal(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: ProposalUpdate
) -> dict[str, Any]:
    return await ProposalService(container).edit(
        subject, proposal_id, {**body.changes(), "version": body.version}
    )


@router.delete("/proposals/{proposal_id}", status_code=204)
async def delete_proposal(
    container: ContainerDep,
    subject: SubjectDep,
    proposal_id: str,
    version: Annotated[int, Query(ge=1)],
) -> Response:
    await ProposalService(container).delete(subject, proposal_id, version)
    return Response(status_code=204)


@router.get("/proposals/{proposal_id}/pdf")
async def proposal_pdf(
    container: ContainerDep,
    subject: SubjectDep,
    proposal_id: str,
    disposition: Annotated[str, Query(pattern="^(inline|attachment)$")] = "inline",
) -> Response:
    """The form first, then the attached documents in order, page-numbered (3(8)-(10))."""
    from urllib.parse import quote

    pdf, name = await Printing(container).printable(subject, proposal_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/proposals/{proposal_id}/history")
async def proposal_history(
    container: ContainerDep, subject: SubjectDep, proposal_id: str
) -> dict[str, Any]:
    """Every event, every revision's diff (4(16)) and the corrections (4(17))."""
    return await history(container, subject, proposal_id)


@router.get("/proposals/{proposal_id}/history.csv")
async def proposal_history_csv(
    container: ContainerDep, subject: SubjectDep, proposal_id: str
) -> Response:
    """承認履歴 as CSV (4(18))."""
    data = await history(container, subject, proposal_id)
    loaded = await Access(container).proposal(subject, proposal_id)
    return Response(
        history_csv(loaded.proposal, data["events"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''history.csv"},
    )


@router.get("/proposals/{proposal_id}/history.pdf")
async def proposal_history_pdf(
    container: ContainerDep, subject: SubjectDep, proposal_id: str
) -> Response:
    """承認履歴 as PDF (4(18)), printed by the shared renderer."""
    from api.pdf import DOCUMENT

    data = await history(container, subject, proposal_id)
    loaded = await Access(container).proposal(subject, proposal_id)
    pdf = await container.pdf.render(
        DOCUMENT, history_document(loaded.proposal, loaded.work, data["events"])
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''history.pdf"},
    )
