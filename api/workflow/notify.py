"""Who hears of a transition (seed 001 別表1-1 4(10)(15)(19)(20), 別表1-2 4(16)(17)(22)).

Run inside the transition's unit of work, so the notifications and their mails commit with it.
Everyone the proposal newly waits for is told what it waits for: an approval (発議の通知,
4(10)), a view (閲覧依頼), a post-review (後閲依頼, 4(22)), or a revision (差戻し, 4(15));
the proposer hears of each approval, the decision, a send-back and an answer (4(15)(19)); a
comment reaches everyone on the route and the proposer (4(9)(14)). The proposer's choice of
通常/重要 goes with every mail of the proposal (4(20)); each user's preferences decide the
mail (``api.notifications``). The source names the event, so a retried request never
notifies twice and a later event notifies again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from api.kit.uow import UnitOfWork
from api.master.mail import TEMPLATE_KINDS
from api.permissions.policy import Subject
from api.workflow import machine

if TYPE_CHECKING:
    from api.container import Container

_BY_ACTION = {
    "approve": "proposal.submitted",
    "view": "proposal.view_requested",
    "post_review": "proposal.post_review",
    "revise": "proposal.sent_back",
}


def ui_path(proposal_id: str) -> str:
    return f"/proposals/{proposal_id}"


async def notify(
    container: Container,
    uow: UnitOfWork,
    actor: Subject,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    event: Mapping[str, Any],
    work: Mapping[str, Any] | None = None,
) -> int:
    """Notify for one stored event; returns how many notifications were made. ``work``: the
    proposal's work when the caller has loaded it already (saves a read per transition)."""
    kind = machine.E(event["kind"])
    recipients: dict[str, set[str]] = {}

    def add(notification: str, *users: str) -> None:
        for uid in users:
            if uid and uid != actor.user_id:
                recipients.setdefault(notification, set()).add(uid)

    was = set((before or {}).get("waiting") or ())
    proposer = str(after["proposer_id"])
    data = event.get("data") or {}
    for uid in sorted(set(after.get("waiting") or ())):
        action = machine.action_for(after, uid)
        if uid in was and before is not None and machine.action_for(before, uid) == action:
            continue  # still waiting for the same thing: told already
        if kind is machine.E.SENT_BACK and uid == data.get("to"):
            add("proposal.sent_back", uid)
        elif action in _BY_ACTION:
            add(_BY_ACTION[action], uid)
    if kind is machine.E.APPROVED:
        add(
            "proposal.decided" if after["state"] == machine.S.DECIDED else "proposal.approved",
            proposer,
        )
    if kind is machine.E.ANSWERED or (kind is machine.E.APPROVED and data.get("answers")):
        add("proposal.answered", proposer)
    if kind is machine.E.COMMENTED:
        add(
            "proposal.commented",
            proposer,
            *(a for step in after.get("route") or () for a in step["assignees"]),
        )
    if not recipients:
        return 0
    if work is None or work.get("id") != after["work_id"]:
        work = await uow.records.get("works", str(after["work_id"])) or {}
    names = {
        u["id"]: u for u in await uow.records.get_many("users", sorted({actor.user_id, proposer}))
    }
    context = {
        "work_title": work.get("title", ""),
        "work_number": work.get("number", ""),
        "proposal_title": after.get("title", ""),
        "proposer_name": (names.get(proposer) or {}).get("name", ""),
        "approver_name": (names.get(actor.user_id) or {}).get("name", ""),
        "actor_name": (names.get(actor.user_id) or {}).get("name", ""),
        "reason": data.get("reason", ""),
        "comment": data.get("text") or data.get("comment") or "",
    }
    importance = str(after.get("importance") or "normal")
    made = 0
    notifier = container.notifier()
    for notification, users in sorted(recipients.items()):
        label = TEMPLATE_KINDS[notification].label
        made += await notifier.notify(
            uow,
            kind=notification,
            recipients=sorted(users),
            source=f"proposals/{after['id']}#e{event['seq']}",
            title=f"{label}: {after.get('title', '')}",
            url=ui_path(str(after["id"])),
            importance=importance,
            context=context,
            work_id=str(after["work_id"]),
        )
    return made
