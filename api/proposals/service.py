"""Proposals: create, edit, delete drafts, new from an earlier one (seed 001 別表1-1 3).

- 3(1) create, edit, delete; 3(2) an error for every missing required field, by the field
  (checked at submission, ``api.workflow.service``; a draft may be incomplete, 3(5));
- 3(3) the work's basic information fills the form (``sources`` → ``forms.defaults``);
- 3(4) a new proposal from an earlier one (``copy_from``: title, values, route, and the
  bundle's files in their order with their pages, as new attachments sharing the content;
  ``copy_attachments: false`` leaves the files out);
- 3(5)(6) drafts saved, edited, deleted; 3(7) attachments through the shared attachments;
- 3(8)-(10) the bundle: files (PDF, Excel, Word, images) in a kept order with chosen pages.

Every change is an event of the proposal (``api.workflow.store``), so the record is the fold of
its history and the audit chain grows in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from api.attachments.service import AttachmentService
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.keys import scopes
from api.keys.fence import ensure_open
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject, WorkRole
from api.proposals.access import Access, Loaded
from api.proposals.form_service import FormService, form_error
from api.proposals.forms import FormError, check_values, defaults
from api.proposals.models import PROPOSALS, ProposalResource
from api.workflow import machine
from api.workflow.dates import jst_day
from api.workflow.store import EVENTS, EventStore
from api.works.models import MEMBERS

if TYPE_CHECKING:
    from api.container import Container

MAX_PAGES_PER_FILE = 2000
ROLE_LABELS = {
    "supervisor": "監督員",
    "inspector": "検査員",
    "contractor_member": "受注者",
    "viewer": "閲覧者",
}


def side_of(subject_org_kind: str | None) -> str:
    return "発注者" if subject_org_kind == OrgKind.ORDERER.value else "受注者"


def parent_of(proposal_id: str) -> str:
    return f"{PROPOSALS}/{proposal_id}"


def check_bundle(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The bundle order as stored: ``[{id, pages}]`` (pages: 1-based, None for all)."""
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        pages = item.get("pages")
        if pages is not None and (
            not isinstance(pages, list)
            or not pages
            or len(pages) > MAX_PAGES_PER_FILE
            or any(not isinstance(p, int) or isinstance(p, bool) or p < 1 for p in pages)
        ):
            raise ValidationFailed(
                f"{index + 1}番目の添付ファイルのページ指定が正しくありません。",
                field="attachments",
            )
        out.append({"id": str(item["id"]), "pages": list(pages) if pages else None})
    return out


class ProposalService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.access = Access(container)
        self.forms = FormService(container)
        self.store = EventStore(container)
        self.attachments = AttachmentService(container)

    # -- defaults from the work (3(3), 1(3)) ----------------------------------------------------

    async def sources(self, subject: Subject, work: Mapping[str, Any]) -> dict[str, Any]:
        """The work's basic information a form may take its defaults from."""
        org_ids = [str(work.get("orderer_org_id") or ""), *(work.get("contractor_org_ids") or [])]
        orgs = {o["id"]: o for o in await self.records.get_many("organizations", org_ids)}
        office = (
            await self.records.get("offices", str(work["office_id"]))
            if work.get("office_id")
            else None
        )
        members = await self._members(str(work["id"]))
        supervisors = [m["user_id"] for m in members if m.get("role") == "supervisor"]
        users = {
            u["id"]: u
            for u in await self.records.get_many("users", [*supervisors, subject.user_id])
        }
        me = users.get(subject.user_id) or {}
        my_org = (
            await self.records.get("organizations", str(subject.org_id)) if subject.org_id else None
        )
        location = work.get("location") or {}
        price = work.get("contract_price")
        return {
            "work.title": work.get("title"),
            "work.number": work.get("number"),
            "work.location": location.get("address"),
            "work.period": f"{work.get('period_start', '')} 〜 {work.get('period_end', '')}",
            "work.period_start": work.get("period_start"),
            "work.period_end": work.get("period_end"),
            "work.orderer": (orgs.get(str(work.get("orderer_org_id"))) or {}).get("name"),
            "work.office": (office or {}).get("name"),
            "work.contractor": "、".join(
                str(orgs[c]["name"]) for c in work.get("contractor_org_ids") or [] if c in orgs
            )
            or None,
            "work.supervisor": "、".join(
                str(users[u].get("name")) for u in supervisors if u in users
            )
            or None,
            "work.contract_price": f"{price:,}円" if isinstance(price, int) else None,
            "proposer.name": me.get("name"),
            "proposer.org": (my_org or {}).get("name"),
            "proposer.side": side_of(subject.org_kind.value if subject.org_kind else None),
            "today": jst_day(self.clock.now()).isoformat(),
        }

    async def _members(self, work_id: str) -> list[dict[str, Any]]:
        from storage.query import Eq, Query

        page = await self.records.find(MEMBERS, Query(where=(Eq("work_id", work_id),), limit=1000))
        return page.items

    async def people(self, subject: Subject | None, work_id: str) -> list[dict[str, Any]]:
        """Members of the work who may be on a route, approvers first (4(8)): active users,
        archive readers left out, with their names, organizations and role labels."""
        from api.proposals.views import user_names
        from api.workflow.permissions import APPROVER_ROLES

        _, ctx = await self.access.work(subject, work_id)
        assert subject is not None
        self.container.policy.require(subject, "proposals.read", ProposalResource(ctx))
        members = [
            m for m in await self._members(work_id) if m.get("role") != WorkRole.ARCHIVE_READER
        ]
        users = {
            u["id"]: u
            for u in await self.records.get_many("users", [str(m["user_id"]) for m in members])
        }
        names = await user_names(self.container, list(users))
        out = []
        for m in members:
            user = users.get(str(m["user_id"]))
            if user is None or user.get("status") != "active":
                continue
            role = WorkRole(str(m["role"]))
            out.append(
                {
                    "user_id": user["id"],
                    "name": names[user["id"]]["name"],
                    "org_name": names[user["id"]]["org_name"],
                    "role": role.value,
                    "role_label": ROLE_LABELS.get(role.value, role.value),
                    "can_approve": role in APPROVER_ROLES,
                }
            )
        return sorted(out, key=lambda p: (not p["can_approve"], p["org_name"], p["name"]))

    async def new_values(
        self, subject: Subject | None, work_id: str, form_id: str
    ) -> dict[str, Any]:
        """What a new proposal of ``form_id`` starts with: the form's current version and the
        values its defaults give on this work."""
        work, ctx = await self.access.work(subject, work_id)
        assert subject is not None
        self.container.policy.require(subject, "proposals.create", ProposalResource(ctx))
        version = await self.forms.version(form_id)
        return {
            "form": version["form"],
            "form_version": version["version"],
            "definition": version["definition"],
            "values": defaults(version["definition"], await self.sources(subject, work)),
        }

    # -- commands --------------------------------------------------------------------------

    def _values(self, definition: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return check_values(definition, values)
        except FormError as exc:
            raise form_error(exc) from exc

    async def create(
        self, subject: Subject | None, work_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A new draft. ``body``: form_id, title, values (None: the form's defaults), importance,
        requested_answer_date, attachments [{id, pages}], route, copy_from, copy_attachments.

        A copy (3(4)) takes the earlier proposal's bundle too: a proposal is the form *and*
        the documents bound with it, and the usual reuse (this month's report after last
        month's, a revised plan) keeps most of them; dropping one is a click, finding and
        uploading them again is not. The copied files come first, then ``attachments``."""
        work, ctx = await self.access.work(subject, work_id)
        assert subject is not None
        self.container.policy.require(subject, "proposals.create", ProposalResource(ctx))
        await ensure_open(self.container, scopes.collab(work_id))  # the erasure's fence
        content = dict(body)
        source: Loaded | None = None
        if body.get("copy_from"):
            source = await self.access.proposal(subject, str(body["copy_from"]))
            if source.proposal["work_id"] != work_id:
                raise ValidationFailed(
                    "別の案件の発議書類からは作成できません。", field="copy_from"
                )
            for name in ("form_id", "title", "values", "route", "importance"):
                if not content.get(name) or (name == "importance" and "importance" not in body):
                    content[name] = source.proposal.get(name)
            content.setdefault("form_version", source.proposal.get("form_version"))
        form_id = str(content.get("form_id") or "")
        version = await self.forms.version(form_id, content.get("form_version"))
        form, definition = version["form"], version["definition"]
        if not form.get("active", True) and not body.get("copy_from"):
            raise ValidationFailed("この様式は使用を終了しています。", field="form_id")
        if work.get("kind") not in definition["work_kinds"]:
            raise ValidationFailed("この様式はこの案件の種類では使えません。", field="form_id")
        if form.get("org_id") not in (None, work.get("orderer_org_id")):
            raise NotFoundError("様式が見つかりません。")
        values = content.get("values")
        if values is None:
            values = defaults(definition, await self.sources(subject, work))
        proposal_id = new_id()
        bundle = check_bundle(body.get("attachments") or [])
        copied: list[tuple[dict[str, Any], dict[str, Any]]] = []
        if source is not None and body.get("copy_attachments", True):
            copied = await self._bundle_files(source.proposal)
        data = {
            "id": proposal_id,
            "work_id": work_id,
            "proposer_org_id": subject.org_id,
            "proposer_side": "orderer" if subject.org_kind is OrgKind.ORDERER else "contractor",
            "form_id": form_id,
            "form_version": int(version["version"]),
            "form_name": definition["name"],
            "title": str(content.get("title") or ""),
            "values": self._values(definition, values),
            "importance": content.get("importance") or "normal",
            "requested_answer_date": content.get("requested_answer_date"),
            "attachments": bundle,
            "route": content.get("route") or [],
            **({"copied_from": str(body["copy_from"])} if body.get("copy_from") else {}),
            **({"premeeting_id": str(body["premeeting_id"])} if body.get("premeeting_id") else {}),
        }
        async with self.container.uow() as uow:
            # Copies of the earlier bundle's files: the same content, counted once more.
            copies = [
                await self.attachments.copy(
                    uow, record, parent_of(proposal_id), work_id=work_id, order=order
                )
                for order, (record, _) in enumerate(copied)
            ]
            bundle = [
                {"id": copy["id"], "pages": item.get("pages")}
                for copy, (_, item) in zip(copies, copied, strict=True)
            ] + bundle
            data["attachments"] = bundle
            await self.attachments.link(
                uow, subject, [a["id"] for a in bundle], parent_of(proposal_id), work_id=work_id
            )
            stored, _ = await self.store.append(
                uow,
                subject,
                None,
                machine.E.CREATED,
                data,
                extra={
                    "work_title": work.get("title"),
                    "orderer_org_id": work.get("orderer_org_id"),
                },
            )
        return stored

    async def _bundle_files(
        self, proposal: Mapping[str, Any]
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The files of a proposal's bundle in its order, with the bundle item (pages)."""
        linked = {
            a["id"]: a for a in await self.attachments.of_parent(parent_of(str(proposal["id"])))
        }
        return [
            (linked[item["id"]], dict(item))
            for item in proposal.get("attachments") or []
            if item["id"] in linked
        ]

    async def edit(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change a draft (or one sent back or withdrawn): only the fields present."""
        loaded = await self.access.proposal(subject, proposal_id, "proposals.edit")
        assert subject is not None
        proposal = loaded.proposal
        if proposal.get("state") not in machine.EDITABLE:
            raise Conflict(machine._STATE_MESSAGES[machine.S(proposal["state"])])
        version = await self.forms.version(str(proposal["form_id"]), int(proposal["form_version"]))
        changes: dict[str, Any] = {}
        for name in machine.CONTENT_FIELDS:
            if name not in body or name == "values":
                continue
            changes[name] = body[name]
        if "values" in body:
            changes["values"] = self._values(version["definition"], body["values"] or {})
        if "attachments" in body:
            changes["attachments"] = check_bundle(body["attachments"] or [])
        changes = {k: v for k, v in changes.items() if proposal.get(k) != v}
        if not changes:
            return proposal
        async with self.container.uow() as uow:
            if "attachments" in changes:
                await self._relink(uow, subject, loaded, changes["attachments"])
            stored, _ = await self.store.append(
                uow,
                subject,
                proposal,
                machine.E.EDITED,
                {"set": changes},
                expected_version=int(body["version"]),
            )
        return stored

    async def _relink(
        self, uow: Any, subject: Subject, loaded: Loaded, bundle: list[dict[str, Any]]
    ) -> None:
        parent = parent_of(str(loaded.proposal["id"]))
        ids = [a["id"] for a in bundle]
        # Keep earlier files linked once the proposal was submitted: its revision history
        # lists them (4(16)); a draft never submitted lets them go.
        current = await self.attachments.of_parent(parent)
        kept_order = [a["id"] for a in current if a["id"] not in ids]
        if not loaded.proposal.get("revision"):
            for record in current:
                if record["id"] not in ids:
                    await self.attachments.release(uow, record)
            kept_order = []
        await self.attachments.link(
            uow, subject, [*ids, *kept_order], parent, work_id=str(loaded.proposal["work_id"])
        )

    async def delete(self, subject: Subject | None, proposal_id: str, version: int) -> None:
        """Delete a draft never submitted (3(6)); a submitted one keeps its history and is
        cancelled instead (取下げ)."""
        loaded = await self.access.proposal(subject, proposal_id, "proposals.delete")
        assert subject is not None
        proposal = loaded.proposal
        if proposal.get("state") != machine.S.DRAFT or proposal.get("revision"):
            raise Conflict("発議済みの発議書類は削除できません。取下げてください。")
        from api.audit.service import AuditLog

        events = await self.store.events(proposal_id)
        async with self.container.uow() as uow:
            await self.attachments.release_parent(uow, parent_of(proposal_id))
            for event in events:
                await uow.records.delete(EVENTS, str(event["id"]), None)
            await uow.records.delete(PROPOSALS, proposal_id, version)
            await AuditLog(uow.records, self.clock).record(
                subject, "proposals.deleted", f"{PROPOSALS}/{proposal_id}", before=proposal
            )
