"""HTTP API of the job ledger, ``/api/v1/jobs`` (operators): list by state, summary, one job,
retry a failed job, discard a finished one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ContainerDep, SubjectDep
from api.jobs.schemas import JobFilters, JobRead, JobSummary
from api.jobs.service import JobService
from api.kit.pagination import CursorPage

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=CursorPage[JobRead])
async def list_jobs(
    container: ContainerDep, subject: SubjectDep, params: Annotated[JobFilters, Query()]
) -> CursorPage[JobRead]:
    """Jobs newest first; ``?state=failed`` lists what needs an operator."""
    container.policy.require(subject, "jobs.read")
    page = await JobService(container).list(params.state, params.task, params.limit, params.cursor)
    return CursorPage[JobRead](
        items=[JobRead.model_validate(j) for j in page.items], next_cursor=page.next_cursor
    )


@router.get("/summary", response_model=JobSummary)
async def job_summary(container: ContainerDep, subject: SubjectDep) -> JobSummary:
    """Jobs per state, and how many live jobs are long overdue (no sweeper running)."""
    container.policy.require(subject, "jobs.read")
    counts, overdue = await JobService(container).summary()
    return JobSummary(counts=counts, overdue=overdue)


@router.get("/{job_id}", response_model=JobRead)
async def get_job(container: ContainerDep, subject: SubjectDep, job_id: str) -> JobRead:
    container.policy.require(subject, "jobs.read")
    return JobRead.model_validate(await JobService(container).get(job_id))


@router.post("/{job_id}/retry", status_code=202, response_model=JobRead)
async def retry_job(container: ContainerDep, subject: SubjectDep, job_id: str) -> JobRead:
    """Queue a failed job again and send it (audited ``jobs.retried``)."""
    container.policy.require(subject, "jobs.manage")
    return JobRead.model_validate(await JobService(container).retry(subject, job_id))


@router.delete("/{job_id}", status_code=204)
async def discard_job(container: ContainerDep, subject: SubjectDep, job_id: str) -> Response:
    """Delete a done or failed job's record (audited ``jobs.discarded``)."""
    container.policy.require(subject, "jobs.manage")
    await JobService(container).discard(subject, job_id)
    return Response(status_code=204)
