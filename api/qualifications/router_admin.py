"""The operator's side: rounds and the 経審 data (seed 004 第1 2, 第2 3(29) ○注意事項1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import ContainerDep, SubjectDep
from api.qualifications.reviewsets import ReviewSetService
from api.qualifications.rounds import RoundService
from api.qualifications.schemas import ReviewImport, RoundCreate, RoundUpdate

router = APIRouter(prefix="/qualifications", tags=["qualifications"])
RecordId = Annotated[str, Path(max_length=64)]


@router.post("/rounds", status_code=201)
async def create_round(
    container: ContainerDep, subject: SubjectDep, body: RoundCreate
) -> dict[str, Any]:
    return await RoundService(container).create(subject, body)


@router.patch("/rounds/{round_id}")
async def update_round(
    container: ContainerDep, subject: SubjectDep, round_id: RecordId, body: RoundUpdate
) -> dict[str, Any]:
    return await RoundService(container).update(subject, round_id, body)


@router.get("/review-sets")
async def list_review_sets(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    return await ReviewSetService(container).list(subject)


@router.post("/review-sets", status_code=201)
async def import_review_set(
    container: ContainerDep, subject: SubjectDep, body: ReviewImport
) -> dict[str, Any]:
    """Import 経審 data (CSV or Excel uploaded through ``/attachments/uploads``); any bad
    line refuses the whole file with every bad line listed."""
    return await ReviewSetService(container).import_attachment(
        subject, body.attachment_id, body.source, body.as_of.isoformat()
    )
