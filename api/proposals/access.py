"""Loading a proposal or a work for a subject, with the access answers of the project:
401 anonymous, 404 when the subject may not read it (its existence is not revealed), 403 when
it is seen but the action is not theirs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api.errors import Forbidden, NotAuthenticated, NotFoundError
from api.keys import scopes
from api.keys.fence import ensure_open
from api.kit.ids import is_id
from api.permissions.policy import Subject, WorkContext
from api.proposals.models import PROPOSALS, ProposalResource
from api.works.service import WorkService

if TYPE_CHECKING:
    from api.container import Container


@dataclass(frozen=True)
class Loaded:
    proposal: dict[str, Any]
    work: dict[str, Any]
    ctx: WorkContext

    def resource(self, subject: Subject | None = None) -> ProposalResource:
        on_route = subject is not None and on_route_of(self.proposal, subject.user_id)
        return ProposalResource(self.ctx, self.proposal, on_route=on_route)


def on_route_of(proposal: dict[str, Any], user_id: str) -> bool:
    return any(user_id in step.get("assignees", ()) for step in proposal.get("route") or ())


class Access:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.works = WorkService.of(container)
        self.policy = container.policy

    async def work(
        self, subject: Subject | None, work_id: str
    ) -> tuple[dict[str, Any], WorkContext]:
        """A work the subject reads (401/404 otherwise) and their context on it."""
        work = await self.works.load(subject, work_id, "works.read")
        return work, await self.works.context(subject, work)

    async def proposal(
        self, subject: Subject | None, proposal_id: str, action: str = "proposals.read"
    ) -> Loaded:
        """The proposal if ``subject`` reads it (404 otherwise), then ``action`` (403)."""
        if subject is None:
            raise NotAuthenticated()
        record = (
            await self.container.records.get(PROPOSALS, proposal_id) if is_id(proposal_id) else None
        )
        if record is None:
            raise NotFoundError()
        work = await self.container.records.get("works", str(record["work_id"]))
        if work is None:
            raise NotFoundError()
        ctx = await self.works.context(subject, work)
        loaded = Loaded(record, work, ctx)
        if not self.policy.can(subject, "proposals.read", loaded.resource(subject)):
            raise NotFoundError()
        if action != "proposals.read":
            self.require(subject, action, loaded)
            await self.writable(loaded)
        return loaded

    async def writable(self, loaded: Loaded) -> None:
        """410 ``erased`` for a change to a proposal of a work whose collaboration data is
        being erased or was (``api.keys.fence``)."""
        await ensure_open(self.container, scopes.collab(str(loaded.work["id"])))

    def require(self, subject: Subject, action: str, loaded: Loaded) -> None:
        if not self.policy.can(subject, action, loaded.resource(subject)):
            raise Forbidden()
