"""The approval workflow's commands (seed 001 別表1-1 4(1)-(22), 別表1-2 4(14)-(27)).

Every command loads the proposal (404 unless readable), checks the version the client saw,
checks who may act (the rules of ``api.workflow.permissions``, the deputy's window), builds one
event and lets ``EventStore.append`` fold it through the state machine, store it and audit it
in one unit of work, with the notifications it causes (``notify``) in the same unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from api.errors import Forbidden, NotAuthenticated, StaleVersionError, ValidationFailed
from api.master.days import work_calendar
from api.permissions.policy import OrgKind, Subject
from api.proposals.access import Access, Loaded, on_route_of
from api.proposals.form_service import FormService, form_error
from api.proposals.forms import FormError, check_values
from api.proposals.models import COUNTERS, REVISIONS
from api.workflow import machine
from api.workflow.dates import business_day, jst_day, parse_day
from api.workflow.delegations import DelegationService
from api.workflow.notify import notify
from api.workflow.routes import check_route
from api.workflow.store import EventStore
from storage.errors import StaleVersion

if TYPE_CHECKING:
    from api.container import Container

E = machine.E


def side_of(subject: Subject) -> str:
    return "orderer" if subject.org_kind is OrgKind.ORDERER else "contractor"


class WorkflowService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.access = Access(container)
        self.store = EventStore(container)
        self.forms = FormService(container)
        self.delegations = DelegationService(container)

    def today(self) -> date:
        return jst_day(self.clock.now())

    # -- plumbing --------------------------------------------------------------------------

    async def _load(self, subject: Subject | None, proposal_id: str, version: int) -> Loaded:
        if subject is None:
            raise NotAuthenticated()
        loaded = await self.access.proposal(subject, proposal_id)
        await self.access.writable(loaded)  # no transition while the work's data is erased
        if int(loaded.proposal["version"]) != version:
            raise StaleVersionError(current_version=loaded.proposal["version"])
        return loaded

    async def _commit(
        self,
        subject: Subject,
        loaded: Loaded,
        kind: machine.E,
        data: Mapping[str, Any],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        before = loaded.proposal
        async with self.container.uow() as uow:
            stored, event = await self.store.append(
                uow,
                subject,
                before,
                kind,
                data,
                expected_version=int(before["version"]),
                extra=extra,
            )
            await notify(self.container, uow, subject, before, stored, event, loaded.work)
        return stored

    async def _acting(
        self, subject: Subject, loaded: Loaded, on_behalf_of: str | None
    ) -> tuple[str, str, str | None]:
        """(whose mark, via, delegation id): the subject's own, or as a deputy (4(21))."""
        if on_behalf_of and on_behalf_of != subject.user_id:
            found = await self.delegations.find(
                on_behalf_of, subject.user_id, str(loaded.proposal["work_id"])
            )
            if found is None:
                raise Forbidden(
                    "代理承認できません（代理者として登録されていないか、代理期間外です）。"
                )
            return on_behalf_of, "deputy", str(found["id"])
        return subject.user_id, "self", None

    @staticmethod
    def _step_of(proposal: Mapping[str, Any], user_id: str, kind: str | None = None) -> int:
        """The step the user acts on: the active one if they are on it, else their first
        step of ``kind``; 403 when they are not on the route at all."""
        current = proposal.get("current_step")
        route = proposal.get("route") or []
        if current is not None and user_id in route[current]["assignees"]:
            return int(current)
        for i, step in enumerate(route):
            if user_id in step["assignees"] and (kind is None or step["kind"] == kind):
                return i
        raise Forbidden("この発議書類の経路に入っていません。")

    async def _definition(self, proposal: Mapping[str, Any]) -> dict[str, Any]:
        version = await self.forms.version(str(proposal["form_id"]), int(proposal["form_version"]))
        return dict(version["definition"])

    async def _answers(
        self, subject: Subject, proposal: Mapping[str, Any], answers: Mapping[str, Any]
    ) -> dict[str, Any]:
        """処理・回答 values of the subject's side (4(13))."""
        try:
            return check_values(
                await self._definition(proposal),
                answers,
                part="answer",
                sides=(side_of(subject), "any"),
            )
        except FormError as exc:
            raise form_error(exc) from exc

    # -- the proposer ----------------------------------------------------------------------

    async def submit(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """発議 (4(8)-(10)): every required field filled (3(2), one error per field), the route
        valid for the work, 回答希望日 a business day; notifies the first step (4(10)) with the
        chosen importance (4(20))."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "proposals.edit", loaded)
        proposal = loaded.proposal
        if proposal.get("state") not in machine.EDITABLE:
            raise ValidationFailed("この発議書類は発議できる状態ではありません。")
        errors: list[dict[str, str]] = []
        if not str(proposal.get("title") or "").strip():
            errors.append({"field": "title", "message": "タイトルを入力してください。"})
        try:
            check_values(
                await self._definition(proposal), proposal.get("values") or {}, required=True
            )
        except FormError as exc:
            errors += exc.errors
        if errors:
            raise ValidationFailed(errors[0]["message"], field=errors[0]["field"], errors=errors)
        route = await check_route(
            self.records,
            str(proposal["work_id"]),
            subject.user_id,
            body.get("route") if body.get("route") is not None else proposal.get("route"),
        )
        importance = body.get("importance") or proposal.get("importance") or "normal"
        requested = body.get("requested_answer_date", proposal.get("requested_answer_date"))
        if requested:
            requested = business_day(
                await work_calendar(self.records, str(proposal["work_id"])),
                str(requested),
                "requested_answer_date",
                "回答希望日",
                not_before=self.today(),
            )
        bundle_ids = [a["id"] for a in proposal.get("attachments") or []]
        linked = await self.records.get_many("attachments", bundle_ids)
        if len(linked) != len(bundle_ids):
            raise ValidationFailed("添付ファイルが見つかりません。", field="attachments")
        async with self.container.uow() as uow:
            before = proposal
            version = int(proposal["version"])
            changes = {
                k: v
                for k, v in (("requested_answer_date", requested), ("route", route))
                if proposal.get(k) != v
            }
            if changes:
                before, _ = await self.store.append(
                    uow, subject, before, E.EDITED, {"set": changes}, expected_version=version
                )
                version = int(before["version"])
            extra = {}
            if not proposal.get("number"):
                extra["number"] = await self._next_number(uow, str(proposal["work_id"]))
            stored, event = await self.store.append(
                uow,
                subject,
                before,
                E.SUBMITTED,
                {"route": route, "importance": importance},
                expected_version=version,
                extra=extra,
            )
            await uow.records.insert(REVISIONS, self._revision(stored, linked, event))
            await notify(self.container, uow, subject, proposal, stored, event, loaded.work)
        return stored

    @staticmethod
    def _revision(
        stored: Mapping[str, Any], linked: list[dict[str, Any]], event: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What the revision was when submitted (4(16): date and what changed)."""
        by_id = {a["id"]: a for a in linked}
        return {
            "id": f"{stored['id']}:r{int(stored['revision']):04d}",
            "proposal_id": stored["id"],
            "revision": int(stored["revision"]),
            "title": stored.get("title"),
            "values": stored.get("values") or {},
            "requested_answer_date": stored.get("requested_answer_date"),
            "importance": stored.get("importance"),
            "attachments": [
                {
                    "id": a["id"],
                    "name": (by_id.get(a["id"]) or {}).get("name", ""),
                    "sha256": (by_id.get(a["id"]) or {}).get("sha256", ""),
                    "pages": a.get("pages"),
                }
                for a in stored.get("attachments") or []
            ],
            "submitted_at": event["at"],
            "submitted_by": event["actor_id"],
        }

    async def _next_number(self, uow: Any, work_id: str) -> int:
        """発議番号: 1, 2, 3 ... per work, given at the first submission."""
        counter = await uow.records.get(COUNTERS, work_id)
        if counter is None:
            await uow.records.insert(COUNTERS, {"id": work_id, "next": 2})
            return 1
        await uow.records.update(
            COUNTERS, work_id, {"next": int(counter["next"]) + 1}, counter["version"]
        )
        return int(counter["next"])

    async def withdraw(
        self, subject: Subject | None, proposal_id: str, version: int
    ) -> dict[str, Any]:
        """引戻し by the proposer before the first decision; the history stays."""
        loaded = await self._load(subject, proposal_id, version)
        assert subject is not None
        self.access.require(subject, "proposals.edit", loaded)
        return await self._commit(subject, loaded, E.WITHDRAWN, {})

    async def cancel(
        self, subject: Subject | None, proposal_id: str, version: int, reason: str
    ) -> dict[str, Any]:
        """取下げ of a proposal sent back or withdrawn; it stays listed with its history."""
        loaded = await self._load(subject, proposal_id, version)
        assert subject is not None
        self.access.require(subject, "proposals.edit", loaded)
        return await self._commit(subject, loaded, E.CANCELLED, {"reason": reason})

    # -- approvers -------------------------------------------------------------------------

    async def receive(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """受付 (4(2)): 受付日 (today by default) and optionally the 回答予定日."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "workflow.act", loaded)
        user_id, via, delegation = await self._acting(subject, loaded, body.get("on_behalf_of"))
        proposal = loaded.proposal
        received = body.get("received_on") or self.today().isoformat()
        day = parse_day(str(received), "received_on", "受付日")
        proposed = date.fromisoformat(str(proposal["proposed_on"]))
        if day > self.today() or day < proposed:
            raise ValidationFailed("受付日は発議日から今日までの日付です。", field="received_on")
        data: dict[str, Any] = {
            "step": self._step_of(proposal, user_id),
            "user_id": user_id,
            "via": via,
            "received_on": day.isoformat(),
        }
        if delegation:
            data["delegation_id"] = delegation
        if body.get("planned_answer_date"):
            data["planned_answer_date"] = await self._planned(
                str(loaded.proposal["work_id"]), str(body["planned_answer_date"]), day
            )
        return await self._commit(subject, loaded, E.RECEIVED, data)

    async def _planned(self, work_id: str, value: str, not_before: date) -> str:
        return business_day(
            await work_calendar(self.records, work_id),
            value,
            "planned_answer_date",
            "回答予定日",
            not_before=not_before,
        )

    async def plan(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """回答予定日 by the approver (4(2)), a business day."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "workflow.act", loaded)
        user_id, via, delegation = await self._acting(subject, loaded, body.get("on_behalf_of"))
        planned = await self._planned(
            str(loaded.proposal["work_id"]), str(body["planned_answer_date"]), self.today()
        )
        data = {
            "step": self._step_of(loaded.proposal, user_id),
            "user_id": user_id,
            "via": via,
            "planned_answer_date": planned,
            **({"delegation_id": delegation} if delegation else {}),
        }
        return await self._commit(subject, loaded, E.PLANNED, data)

    async def approve(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """承認 (4(11)); as a deputy (``on_behalf_of``, 4(21)); or as a superior ahead of
        absent approvers (``post_review``, 4(22)). Optional comment (4(14)) and 処理・回答
        (4(13)). The last approval decides (4(1))."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "workflow.act", loaded)
        proposal = loaded.proposal
        if body.get("post_review"):
            if not on_route_of(proposal, subject.user_id):
                raise Forbidden("この発議書類の経路に入っていません。")
            step = self._later_step(proposal, subject.user_id)
            data: dict[str, Any] = {"step": step, "user_id": subject.user_id, "via": "superior"}
        else:
            user_id, via, delegation = await self._acting(subject, loaded, body.get("on_behalf_of"))
            data = {"step": self._step_of(proposal, user_id), "user_id": user_id, "via": via}
            if delegation:
                data["delegation_id"] = delegation
        if body.get("comment"):
            data["comment"] = body["comment"]
        if body.get("answers"):
            data["answers"] = await self._answers(subject, proposal, body["answers"])
        if body.get("answered_on"):
            day = parse_day(str(body["answered_on"]), "answered_on", "回答日")
            data["answered_on"] = day.isoformat()
        return await self._commit(subject, loaded, E.APPROVED, data)

    @staticmethod
    def _later_step(proposal: Mapping[str, Any], user_id: str) -> int:
        current = proposal.get("current_step")
        for i, step in enumerate(proposal.get("route") or []):
            later = current is None or i > int(current)
            if step["kind"] == "approve" and user_id in step["assignees"] and later:
                return i
        raise machine_refusal("後閲で承認できるのは、より後の段階の承認者です。")

    async def send_back(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """差戻し with a reason (4(11)(12), ※4) to the proposer or an earlier approver."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "workflow.act", loaded)
        target = str(body.get("to") or "proposer")
        proposal = loaded.proposal
        if target != "proposer" and not on_route_of(proposal, target):
            raise ValidationFailed("差戻し先がこの発議書類の経路にいません。", field="to")
        user_id, via, delegation = await self._acting(subject, loaded, body.get("on_behalf_of"))
        data = {
            "step": self._step_of(proposal, user_id),
            "user_id": user_id,
            "via": via,
            "to": target,
            "reason": body["reason"],
            **({"delegation_id": delegation} if delegation else {}),
        }
        return await self._commit(subject, loaded, E.SENT_BACK, data)

    async def answer(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """処理・回答 (4(13)), interim or final (4(3)); the proposer is told (4(19))."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "workflow.act", loaded)
        user_id, via, delegation = await self._acting(subject, loaded, body.get("on_behalf_of"))
        when = body.get("answer_date") or self.today().isoformat()
        day = parse_day(str(when), "answer_date", "処理・回答日")
        data = {
            "step": self._step_of(loaded.proposal, user_id),
            "user_id": user_id,
            "via": via,
            "answers": await self._answers(subject, loaded.proposal, body.get("answers") or {}),
            "interim": bool(body.get("interim")),
            "date": day.isoformat(),
            **({"delegation_id": delegation} if delegation else {}),
        }
        return await self._commit(subject, loaded, E.ANSWERED, data)

    async def view(self, subject: Subject | None, proposal_id: str, version: int) -> dict[str, Any]:
        """閲覧 by a viewer of the route (4(8) ※2)."""
        loaded = await self._load(subject, proposal_id, version)
        assert subject is not None
        self.access.require(subject, "workflow.view", loaded)
        step = self._step_of(loaded.proposal, subject.user_id, "view")
        return await self._commit(
            subject, loaded, E.VIEWED, {"step": step, "user_id": subject.user_id}
        )

    async def post_review(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """後閲: the absent approver reviews what a superior approved ahead (4(22))."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "workflow.post_review", loaded)
        proposal = loaded.proposal
        step = next(
            (
                i
                for i, p in enumerate(proposal.get("progress") or [])
                for m in p["marks"]
                if m["user_id"] == subject.user_id and m["status"] == machine.POST_REVIEW
            ),
            None,
        )
        if step is None:
            raise machine_refusal("後閲の対象ではありません。", done=True)
        data = {"step": step, "user_id": subject.user_id}
        if body.get("comment"):
            data["comment"] = body["comment"]
        return await self._commit(subject, loaded, E.POST_REVIEWED, data)

    async def comment(self, subject: Subject | None, proposal_id: str, text: str) -> dict[str, Any]:
        """A comment by the proposer or anyone on the route, seen by all of them (4(9)(14))."""
        for _ in range(5):
            if subject is None:
                raise NotAuthenticated()
            loaded = await self.access.proposal(subject, proposal_id)
            self.access.require(subject, "workflow.comment", loaded)
            await self.access.writable(loaded)
            try:
                return await self._commit(subject, loaded, E.COMMENTED, {"text": text})
            except StaleVersion:
                continue  # a comment never conflicts with a decision: read again
        raise StaleVersionError()

    async def correct(
        self, subject: Subject | None, proposal_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """訂正 of 発議日, 受付日, 決裁完了日 or 最終処理・回答日 of a decided proposal (4(17)),
        recorded with who, when, which field, old and new."""
        loaded = await self._load(subject, proposal_id, int(body["version"]))
        assert subject is not None
        self.access.require(subject, "proposals.correct", loaded)
        field = str(body["field"])
        if field not in machine.CORRECTABLE:
            raise ValidationFailed(
                "訂正できるのは発議日・受付日・決裁完了日・最終処理・回答日です。", field="field"
            )
        new = parse_day(str(body["new"]), "new", machine.CORRECTABLE[field]).isoformat()
        data = {
            "field": field,
            "old": loaded.proposal.get(field),
            "new": new,
            "reason": body.get("reason") or "",
        }
        return await self._commit(subject, loaded, E.CORRECTED, data)


def machine_refusal(message: str, *, done: bool = False) -> Exception:
    from api.workflow.errors import AlreadyDone, NotYourTurn

    return AlreadyDone(message) if done else NotYourTurn(message)
