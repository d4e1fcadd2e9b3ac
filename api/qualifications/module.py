"""Qualification applications (資格審査受付, seed 004): rounds, drafts, send with the 経審
check and the receipt, re-application, correction, additional application, and each
municipality's desk."""

from __future__ import annotations

from api.attachments.service import register_reader
from api.container import Container
from api.errors import KuraError
from api.modules import Module
from api.permissions.policy import Subject
from api.qualifications import models
from api.qualifications.access import Access
from api.qualifications.permissions import APPLY, RECEIVE, QualificationRules
from api.qualifications.router import router
from api.qualifications.router_admin import router as admin_router
from api.qualifications.router_desk import router as desk_router


async def _schema(container: Container) -> None:
    await models.ensure_indexes(container.records)


async def _reads_application(container: Container, subject: Subject, application_id: str) -> bool:
    """The tax certificate of a filing is read by whoever reads the filing."""
    try:
        await Access(container).application(subject, application_id)
    except KuraError:
        return False
    return True


async def _reads_draft(container: Container, subject: Subject, draft_id: str) -> bool:
    """A draft's attachment: the applicant organization's holders of the grant."""
    try:
        await Access(container).draft(subject, draft_id)
    except KuraError:
        return False
    return True


async def _reads_review_set(container: Container, subject: Subject, set_id: str) -> bool:
    """The source file of imported 経審 data: operators."""
    return container.policy.can(subject, "qualifications.reviews.manage")


register_reader(models.APPLICATIONS, _reads_application)
register_reader(models.DRAFTS, _reads_draft)
register_reader(models.REVIEW_SETS, _reads_review_set)

MODULE = Module(
    "qualifications",
    routers=(admin_router, router, desk_router),
    ensure_schema=_schema,
    grants={
        APPLY: "入札参加資格の申請（自社）",
        RECEIVE: "入札参加資格申請の受付（自団体あて）",
    },
    rules={"qualifications": QualificationRules()},
)
