"""HTTP API of proposal forms (``/proposal-forms``): read by everyone signed in; added and
revised by operators (system-wide) or an orderer's holder of ``proposals.forms``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ContainerDep, SubjectDep
from api.errors import NotAuthenticated
from api.proposals.form_service import FormService
from api.proposals.forms import FIELD_TYPES, SOURCES
from api.proposals.schemas import FormActive, FormCreate, FormRevise

router = APIRouter(prefix="/proposal-forms", tags=["proposals"])


@router.get("")
async def list_forms(
    container: ContainerDep,
    subject: SubjectDep,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    include_inactive: bool = False,
) -> dict[str, Any]:
    """The forms a subject may use (system-wide and ``org_id``'s), with the field types and
    default sources a definition may name."""
    forms = await FormService(container).forms(
        subject, org_id=org_id, include_inactive=include_inactive
    )
    return {"items": forms, "field_types": FIELD_TYPES, "sources": SOURCES}


@router.get("/{form_id}")
async def get_form(container: ContainerDep, subject: SubjectDep, form_id: str) -> dict[str, Any]:
    """A form, its current definition and the list of its versions."""
    if subject is None:
        raise NotAuthenticated()
    service = FormService(container)
    current = await service.version(form_id)
    versions = await service.versions(form_id)
    return {
        "form": current["form"],
        "definition": current["definition"],
        "versions": [
            {"version": v["number"], "created_at": v["created_at"], "created_by": v["created_by"]}
            for v in versions
        ],
    }


@router.get("/{form_id}/versions/{version}")
async def get_form_version(
    container: ContainerDep, subject: SubjectDep, form_id: str, version: int
) -> dict[str, Any]:
    if subject is None:
        raise NotAuthenticated()
    found = await FormService(container).version(form_id, version)
    return {"form": found["form"], "version": found["version"], "definition": found["definition"]}


@router.post("", status_code=201)
async def create_form(
    container: ContainerDep, subject: SubjectDep, body: FormCreate
) -> dict[str, Any]:
    return await FormService(container).create(subject, body.definition, body.org_id)


@router.put("/{form_id}")
async def revise_form(
    container: ContainerDep, subject: SubjectDep, form_id: str, body: FormRevise
) -> dict[str, Any]:
    return await FormService(container).revise(subject, form_id, body.definition, body.version)


@router.post("/{form_id}/active")
async def set_form_active(
    container: ContainerDep, subject: SubjectDep, form_id: str, body: FormActive
) -> dict[str, Any]:
    return await FormService(container).set_active(subject, form_id, body.active, body.version)
