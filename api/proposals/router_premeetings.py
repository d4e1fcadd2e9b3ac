"""HTTP API of the pre-meeting stage (事前打合せ, seed 001 別表1-2 4(8)-(13))."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ContainerDep, SubjectDep
from api.kit.text import Text
from api.proposals.premeetings import PremeetingService
from api.proposals.schemas import RefId

router = APIRouter(tags=["proposals"])
Files = Annotated[list[RefId], Field(max_length=100)]


class MatterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Text(200)]
    body: Annotated[str, Text(4000, required=False, multiline=True)] = ""
    attachments: Files = []


class MatterComment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Text(2000, multiline=True, blank_message="コメントを入力してください。")]
    attachments: Files = []


class MatterAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    text: Annotated[str, Text(4000, multiline=True, blank_message="回答を入力してください。")]


@router.get("/works/{work_id}/premeetings")
async def list_matters(
    container: ContainerDep, subject: SubjectDep, work_id: str
) -> dict[str, Any]:
    """The work's pre-meeting matters, apart from the decisions (4(13))."""
    return {"items": await PremeetingService(container).matters(subject, work_id)}


@router.post("/works/{work_id}/premeetings", status_code=201)
async def create_matter(
    container: ContainerDep, subject: SubjectDep, work_id: str, body: MatterCreate
) -> dict[str, Any]:
    """Register pre-meeting material (4(8)); the parties are told (4(9))."""
    return await PremeetingService(container).create(subject, work_id, body.model_dump())


@router.get("/premeetings/{matter_id}")
async def get_matter(
    container: ContainerDep, subject: SubjectDep, matter_id: str
) -> dict[str, Any]:
    return await PremeetingService(container).detail(subject, matter_id)


@router.post("/premeetings/{matter_id}/comments", status_code=201)
async def comment_matter(
    container: ContainerDep, subject: SubjectDep, matter_id: str, body: MatterComment
) -> dict[str, Any]:
    """A comment with files for the matter's shared folder (4(10)(12))."""
    return await PremeetingService(container).comment(
        subject, matter_id, body.text, body.attachments
    )


@router.post("/premeetings/{matter_id}/answer")
async def answer_matter(
    container: ContainerDep, subject: SubjectDep, matter_id: str, body: MatterAnswer
) -> dict[str, Any]:
    """The answer; the registrant is told (4(11))."""
    return await PremeetingService(container).answer(subject, matter_id, body.text, body.version)
