"""Proposals (発議書類): forms as versioned data, drafts, bundles, lists, the pre-meeting stage."""

from __future__ import annotations

from api.attachments.service import register_reader
from api.container import Container
from api.errors import KuraError
from api.modules import Module
from api.permissions.policy import Subject
from api.proposals import indexing, models
from api.proposals.access import Access
from api.proposals.form_service import FormService
from api.proposals.lists import search_principals
from api.proposals.permissions import ProposalRules
from api.proposals.premeetings import PremeetingService
from api.proposals.router import router
from api.proposals.router_forms import router as forms_router
from api.proposals.router_premeetings import router as premeetings_router
from api.search.principals import register_principals


async def _schema(container: Container) -> None:
    await models.ensure_indexes(container.records)
    await FormService(container).ensure_standard_forms()


async def _reads_proposal(container: Container, subject: Subject, proposal_id: str) -> bool:
    """Attachments of a proposal are read by whoever reads the proposal (3(7))."""
    try:
        await Access(container).proposal(subject, proposal_id)
    except KuraError:
        return False
    return True


async def _reads_matter(container: Container, subject: Subject, matter_id: str) -> bool:
    """The shared folder of a pre-meeting matter is read by the work's readers (別表1-2 4(12))."""
    try:
        await PremeetingService(container)._matter(subject, matter_id, "proposals.read")
    except KuraError:
        return False
    return True


register_reader(models.PROPOSALS, _reads_proposal)
indexing.register()
register_reader(models.PREMEETINGS, _reads_matter)
# The global search filters proposals on their own principals inside the index; a private
# type, never shown to a search without an acl filter (operators).
register_principals(search_principals, private_types=(models.DOC_TYPE,))

MODULE = Module(
    "proposals",
    routers=(forms_router, router, premeetings_router),
    ensure_schema=_schema,
    grants={
        "proposals.forms": "発議書類の様式の管理（自機関）",
        "proposals.correct": "決裁済み発議書類の日付の訂正",
    },
    rules={"proposals": ProposalRules()},
)
