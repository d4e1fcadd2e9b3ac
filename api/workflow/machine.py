"""The one state machine of a proposal, and its replay.

No BPMN engine (design against the complaints of module-anchors §1: no chains, the same step
approved N times, sequence misfires, delegation without windows). A route is data, the
decision log is append-only (``workflow_events``), and the proposal record is nothing but the
fold of its events through ``apply``: the live service and ``replay`` run the very same code,
so a decided proposal rebuilds from its history (tested).

``TRANSITIONS`` is the table of allowed (state, event) pairs and the states each may lead to;
every rule about the order of approvals lives in ``apply`` below. Who may act (the proposer,
an approver, a deputy inside their window, a superior) is checked by the service before it
builds the event; ``apply`` checks what the route itself says (the step is the active one,
the mark is still pending, the send-back target approved an earlier step), so an event that
would break the route is refused even if a caller got past the service.

Rules and where they come from (seed 001 別表1-1 4 = 別表1-2 4 in its own numbering):
- 4(1) 電子決裁: ``approved`` on the last approval step decides (``decided_on``).
- 4(2)(3) 回答予定日, 中間/最終処理・回答日: ``received``/``planned``/``answered``.
- 4(8) approvers and viewers in a chosen order; parallel steps (合議: every assignee of a step
  approves before the route moves on). Viewer steps do not hold the route: viewers are asked
  to view (閲覧) when the route reaches them.
- 4(11)(12) approve or send back, to the proposer or to an earlier approver, with a reason.
- 4(13) the approver fills the form's 処理・回答 fields (``answered``).
- 4(16) every revision after a send-back is a new submission (``revision``).
- 4(17) dates of a finished decision are corrected and the correction kept (``corrected``).
- 4(21) 代理承認: a deputy approves an absent approver's mark (``via = "deputy"``).
- 4(22) 後閲: a superior (an approver of a later step) approves first; the skipped approvers'
  marks become ``post_review`` and they review afterwards (``post_reviewed``).
- 引戻し (``withdrawn``) by the proposer before the first decision, keeping the history.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

State = dict[str, Any]
Event = Mapping[str, Any]


class S(StrEnum):
    """Proposal states."""

    DRAFT = "draft"  # 作成中 (一時保存, 3(5))
    IN_REVIEW = "in_review"  # 決裁中
    SENT_BACK = "sent_back"  # 差戻し (to the proposer)
    WITHDRAWN = "withdrawn"  # 引戻し
    DECIDED = "decided"  # 決裁済み
    CANCELLED = "cancelled"  # 取下げ


class E(StrEnum):
    """Event kinds (past tense; the audit action is ``proposals.<kind>``)."""

    CREATED = "created"
    EDITED = "edited"
    SUBMITTED = "submitted"
    RECEIVED = "received"
    PLANNED = "planned"
    APPROVED = "approved"
    SENT_BACK = "sent_back"
    WITHDRAWN = "withdrawn"
    ANSWERED = "answered"
    VIEWED = "viewed"
    POST_REVIEWED = "post_reviewed"
    COMMENTED = "commented"
    CORRECTED = "corrected"
    CANCELLED = "cancelled"


EDITABLE = frozenset({S.DRAFT, S.SENT_BACK, S.WITHDRAWN})
_ACTIVE = frozenset({S.IN_REVIEW, S.SENT_BACK, S.WITHDRAWN, S.DECIDED})

# (state, event) -> the states it may lead to. Nothing else is allowed.
TRANSITIONS: dict[tuple[S | None, E], frozenset[S]] = {
    (None, E.CREATED): frozenset({S.DRAFT}),
    **{(s, E.EDITED): frozenset({s}) for s in EDITABLE},
    **{(s, E.SUBMITTED): frozenset({S.IN_REVIEW}) for s in EDITABLE},
    (S.IN_REVIEW, E.RECEIVED): frozenset({S.IN_REVIEW}),
    (S.IN_REVIEW, E.PLANNED): frozenset({S.IN_REVIEW}),
    (S.IN_REVIEW, E.APPROVED): frozenset({S.IN_REVIEW, S.DECIDED}),
    (S.IN_REVIEW, E.SENT_BACK): frozenset({S.IN_REVIEW, S.SENT_BACK}),
    (S.IN_REVIEW, E.WITHDRAWN): frozenset({S.WITHDRAWN}),
    (S.IN_REVIEW, E.ANSWERED): frozenset({S.IN_REVIEW}),
    (S.IN_REVIEW, E.VIEWED): frozenset({S.IN_REVIEW}),
    (S.DECIDED, E.VIEWED): frozenset({S.DECIDED}),
    (S.IN_REVIEW, E.POST_REVIEWED): frozenset({S.IN_REVIEW}),
    (S.DECIDED, E.POST_REVIEWED): frozenset({S.DECIDED}),
    **{(s, E.COMMENTED): frozenset({s}) for s in _ACTIVE},
    (S.DECIDED, E.CORRECTED): frozenset({S.DECIDED}),
    (S.SENT_BACK, E.CANCELLED): frozenset({S.CANCELLED}),
    (S.WITHDRAWN, E.CANCELLED): frozenset({S.CANCELLED}),
}

# Content a proposal's ``created``/``edited`` events carry (the proposer's part).
CONTENT_FIELDS = (
    "title",
    "values",
    "importance",
    "requested_answer_date",
    "attachments",
    "route",
)
# Dates of a finished decision that an authorised user may correct (4(17)).
CORRECTABLE = {
    "proposed_on": "発議日",
    "received_on": "受付日",
    "decided_on": "決裁完了日",
    "answered_on": "最終処理・回答日",
}
# Mark statuses of an assignee on a step.
PENDING, APPROVED, POST_REVIEW, REVIEWED, VIEWED = (
    "pending",
    "approved",
    "post_review",
    "reviewed",
    "viewed",
)
_DONE = frozenset({APPROVED, POST_REVIEW, REVIEWED})


class TransitionRefused(Exception):
    """The event does not fit the proposal's state or route. ``code``: ``state`` (not in
    this state), ``turn`` (not this step's turn), ``done`` (already decided by this
    assignee), ``target`` (a send-back target not on the route), ``actor`` (not theirs)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def allowed(state: S | None, kind: E) -> frozenset[S]:
    """The states ``kind`` may lead to from ``state`` (empty: not allowed)."""
    return TRANSITIONS.get((state, kind), frozenset())


def state_of(proposal: Mapping[str, Any]) -> S | None:
    raw = proposal.get("state")
    return S(raw) if raw else None


# -- route progress -----------------------------------------------------------------------------


def fresh_progress(route: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every step unreached, every assignee's mark pending."""
    return [
        {
            "reached": False,
            "marks": [
                {"user_id": uid, "status": PENDING, "at": None, "by": None, "via": None}
                for uid in step["assignees"]
            ],
        }
        for step in route
    ]


def _mark(state: State, step: int, user_id: str) -> dict[str, Any]:
    progress = state.get("progress") or []
    if not 0 <= step < len(progress):
        raise TransitionRefused("turn", "その段階は経路にありません。")
    for mark in progress[step]["marks"]:
        if mark["user_id"] == user_id:
            return dict(mark)
    raise TransitionRefused("actor", "この段階の承認者・閲覧者ではありません。")


def _set_mark(state: State, step: int, mark: dict[str, Any]) -> None:
    marks = state["progress"][step]["marks"]
    for i, old in enumerate(marks):
        if old["user_id"] == mark["user_id"]:
            marks[i] = mark
            return


def _advance(state: State) -> None:
    """Move to the first approval step with a pending mark, reaching the viewer steps on the
    way; none left: decided."""
    steps = state["route"]
    state["current_step"] = None
    for i, step in enumerate(steps):
        progress = state["progress"][i]
        progress["reached"] = True
        if step["kind"] == "view":
            continue
        if any(m["status"] == PENDING for m in progress["marks"]):
            state["current_step"] = i
            return


def waiting_of(state: Mapping[str, Any]) -> list[str]:
    """Who the proposal waits for now (the inbox): the active step's pending approvers,
    viewers reached and not yet viewed, absent approvers owing a post-review, and the
    proposer of a proposal sent back to them."""
    status = state.get("state")
    if status == S.SENT_BACK:
        return [str(state["proposer_id"])]
    if status not in (S.IN_REVIEW, S.DECIDED):
        return []
    out: list[str] = []
    current = state.get("current_step")
    for i, step in enumerate(state.get("route") or []):
        progress = state["progress"][i]
        for mark in progress["marks"]:
            s = mark["status"]
            if (
                s == POST_REVIEW
                or (step["kind"] == "view" and progress["reached"] and s == PENDING)
                or (step["kind"] == "approve" and i == current and s == PENDING)
            ):
                out.append(str(mark["user_id"]))
    return sorted(set(out))


def action_for(state: Mapping[str, Any], user_id: str) -> str | None:
    """What the proposal waits for from ``user_id``: ``approve``, ``view``, ``post_review``,
    ``revise`` (sent back to them), or None."""
    if state.get("state") == S.SENT_BACK:
        return "revise" if state.get("proposer_id") == user_id else None
    current = state.get("current_step")
    found: str | None = None
    for i, step in enumerate(state.get("route") or []):
        progress = (state.get("progress") or [])[i]
        for mark in progress["marks"]:
            if mark["user_id"] != user_id:
                continue
            if mark["status"] == POST_REVIEW:
                found = found or "post_review"
            elif step["kind"] == "approve" and i == current and mark["status"] == PENDING:
                if state.get("state") == S.IN_REVIEW:
                    return "approve"
            elif step["kind"] == "view" and progress["reached"] and mark["status"] == PENDING:
                found = found or "view"
    return found


def summary_of(state: Mapping[str, Any]) -> dict[str, int]:
    """承認・閲覧状況 counts (4(6)): approvals done of all, views done of all, post-reviews
    still owed."""
    out = {"approved": 0, "approvers": 0, "viewed": 0, "viewers": 0, "post_review": 0}
    for i, step in enumerate(state.get("route") or []):
        progress = (state.get("progress") or [])[i] if state.get("progress") else None
        marks = progress["marks"] if progress else []
        if step["kind"] == "approve":
            out["approvers"] += len(step["assignees"])
            out["approved"] += sum(1 for m in marks if m["status"] in _DONE)
            out["post_review"] += sum(1 for m in marks if m["status"] == POST_REVIEW)
        else:
            out["viewers"] += len(step["assignees"])
            out["viewed"] += sum(1 for m in marks if m["status"] == VIEWED)
    return out


def _has_decision(state: State) -> bool:
    for i, step in enumerate(state.get("route") or []):
        if step["kind"] == "approve" and any(
            m["status"] in _DONE for m in state["progress"][i]["marks"]
        ):
            return True
    return False


def _acting_mark(state: State, data: Mapping[str, Any]) -> dict[str, Any]:
    """The pending mark of the active step the event acts on (self or deputy)."""
    step = int(data["step"])
    current = state.get("current_step")
    mark = _mark(state, step, str(data["user_id"]))
    if state["route"][step]["kind"] != "approve":
        raise TransitionRefused("actor", "閲覧者は承認・差戻しできません。")
    if mark["status"] != PENDING:
        raise TransitionRefused("done", "この段階はすでに処理済みです。")
    if step != current:
        raise TransitionRefused("turn", "まだ承認の順番ではありません。")
    return mark


# -- apply ------------------------------------------------------------------------------------


def apply(before: Mapping[str, Any], event: Event) -> State:
    """The proposal after ``event`` (a new dict; ``before`` is not changed). Raises
    ``TransitionRefused`` when the event is not allowed."""
    kind = E(event["kind"])
    current = state_of(before)
    targets = allowed(current, kind)
    if not targets:
        raise TransitionRefused("state", _STATE_MESSAGES.get(current, "この操作はできません。"))
    state: State = copy.deepcopy(dict(before))
    data: Mapping[str, Any] = event.get("data") or {}
    actor = str(event.get("actor_id") or "")
    on = str(event["on"])  # the JST date of the event
    at = str(event["at"])
    handler = _HANDLERS[kind]
    handler(state, data, actor, on, at)
    state["waiting"] = waiting_of(state)
    state["summary"] = summary_of(state)
    state["last_event"] = int(event["seq"])
    state["updated_at"] = at
    if S(state["state"]) not in targets:  # pragma: no cover - a handler bug, never data
        raise AssertionError(f"{kind} led from {current} to {state['state']}")
    return state


def replay(events: Iterable[Event]) -> State:
    """The proposal rebuilt from its events, oldest first."""
    state: State = {}
    for event in events:
        state = apply(state, event)
    return state


def _created(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    state.update(copy.deepcopy(dict(data)))
    state.update(
        state=S.DRAFT.value,
        proposer_id=actor,
        revision=0,
        progress=[],
        current_step=None,
        answers={},
        corrections=[],
        comments=0,
        created_at=at,
    )
    for name in ("proposed_on", "received_on", "planned_answer_date", "interim_answer_date"):
        state[name] = None
    state["answered_on"] = state["decided_on"] = None


def _require_proposer(state: State, actor: str, what: str) -> None:
    if actor != state.get("proposer_id"):
        raise TransitionRefused("actor", f"{what}できるのは発議者だけです。")


def _edited(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _require_proposer(state, actor, "編集")
    for name, value in (data.get("set") or {}).items():
        if name not in CONTENT_FIELDS:
            raise TransitionRefused("state", f"{name} は編集できません。")
        state[name] = copy.deepcopy(value)


def _submitted(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _require_proposer(state, actor, "発議")
    route = copy.deepcopy(list(data["route"]))
    if not any(step["kind"] == "approve" for step in route):
        raise TransitionRefused("target", "承認者を1人以上指定してください。")
    state.update(
        state=S.IN_REVIEW.value,
        revision=int(state.get("revision") or 0) + 1,
        route=route,
        progress=fresh_progress(route),
        importance=data.get("importance", state.get("importance", "normal")),
        answers={},
        received_on=None,
        planned_answer_date=None,
        interim_answer_date=None,
        answered_on=None,
        decided_on=None,
        sent_back=None,
        submitted_at=at,
    )
    if not state.get("proposed_on"):
        state["proposed_on"] = data.get("proposed_on") or on
    _advance(state)


def _received(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _acting_mark(state, data)
    state["received_on"] = data.get("received_on") or on
    if data.get("planned_answer_date"):
        state["planned_answer_date"] = data["planned_answer_date"]


def _planned(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _acting_mark(state, data)
    state["planned_answer_date"] = data["planned_answer_date"]


def _approved(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    step = int(data["step"])
    user_id = str(data["user_id"])
    via = str(data.get("via") or "self")
    current = state.get("current_step")
    if via == "superior":
        # 後閲 (4(22)): a later approver approves first; every pending approval before their
        # step is owed as a post-review by its absent approver.
        mark = _mark(state, step, user_id)
        if state["route"][step]["kind"] != "approve":
            raise TransitionRefused("actor", "閲覧者は承認できません。")
        if mark["status"] != PENDING:
            raise TransitionRefused("done", "この段階はすでに処理済みです。")
        if current is None or step <= current:
            raise TransitionRefused("turn", "後閲で承認できるのは、より後の段階の承認者です。")
        for i in range(current, step):
            if state["route"][i]["kind"] != "approve":
                continue
            for skipped in state["progress"][i]["marks"]:
                if skipped["status"] == PENDING:
                    skipped.update(status=POST_REVIEW, at=at, by=actor, via="superior")
            state["progress"][i]["reached"] = True
    else:
        mark = _acting_mark(state, data)
    mark.update(status=APPROVED, at=at, by=actor, via=via)
    if data.get("delegation_id"):
        mark["delegation_id"] = data["delegation_id"]
    _set_mark(state, step, mark)
    if not state.get("received_on"):
        state["received_on"] = on
    if data.get("answers"):
        state["answers"] = {**(state.get("answers") or {}), **dict(data["answers"])}
    _advance(state)
    if state["current_step"] is None:
        state["state"] = S.DECIDED.value
        state["decided_on"] = on
        state["answered_on"] = data.get("answered_on") or state.get("answered_on") or on
        for progress in state["progress"]:
            progress["reached"] = True


def _sent_back(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _acting_mark(state, data)
    target = str(data["to"])
    current = int(state["current_step"])
    info = {"by": actor, "at": at, "reason": data.get("reason", ""), "to": target}
    if target == "proposer":
        state["state"] = S.SENT_BACK.value
        state["current_step"] = None
        state["sent_back"] = info
        return
    # 4(12): to an earlier approver who approved; the route reopens from their step.
    back: int | None = None
    for i in range(current):
        if state["route"][i]["kind"] != "approve":
            continue
        for mark in state["progress"][i]["marks"]:
            if mark["user_id"] == target and mark["status"] in _DONE:
                back = i
    if back is None:
        raise TransitionRefused("target", "差戻し先は発議者か、この経路で先に承認した人です。")
    for i in range(back, len(state["route"])):
        if state["route"][i]["kind"] != "approve":
            continue
        for mark in state["progress"][i]["marks"]:
            mark.update(status=PENDING, at=None, by=None, via=None)
            mark.pop("delegation_id", None)
    state["sent_back"] = info
    _advance(state)


def _withdrawn(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _require_proposer(state, actor, "引戻し")
    if _has_decision(state):
        raise TransitionRefused("state", "承認が始まった発議書類は引戻しできません。")
    state["state"] = S.WITHDRAWN.value
    state["current_step"] = None


def _answered(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _acting_mark(state, data)
    state["answers"] = {**(state.get("answers") or {}), **dict(data.get("answers") or {})}
    when = data.get("date") or on
    if data.get("interim"):
        state["interim_answer_date"] = when
    else:
        state["answered_on"] = when


def _viewed(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    step = int(data["step"])
    mark = _mark(state, step, str(data["user_id"]))
    if state["route"][step]["kind"] != "view" or not state["progress"][step]["reached"]:
        raise TransitionRefused("turn", "閲覧の順番ではありません。")
    if mark["status"] != PENDING:
        raise TransitionRefused("done", "閲覧済みです。")
    mark.update(status=VIEWED, at=at, by=actor, via=data.get("via") or "self")
    _set_mark(state, step, mark)


def _post_reviewed(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    step = int(data["step"])
    mark = _mark(state, step, str(data["user_id"]))
    if mark["status"] != POST_REVIEW:
        raise TransitionRefused("done", "後閲の対象ではありません。")
    mark.update(status=REVIEWED, reviewed_at=at, reviewed_by=actor)
    _set_mark(state, step, mark)


def _commented(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    state["comments"] = int(state.get("comments") or 0) + 1


def _corrected(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    name = str(data["field"])
    if name not in CORRECTABLE:
        raise TransitionRefused("target", "訂正できるのは発議日・受付日・決裁完了日・回答日です。")
    if state.get(name) != data.get("old"):
        raise TransitionRefused("state", "訂正前の日付が現在の値と一致しません。")
    state[name] = data["new"]
    state["corrections"] = [
        *(state.get("corrections") or []),
        {
            "field": name,
            "old": data.get("old"),
            "new": data["new"],
            "by": actor,
            "at": at,
            "reason": data.get("reason", ""),
        },
    ]


def _cancelled(state: State, data: Mapping[str, Any], actor: str, on: str, at: str) -> None:
    _require_proposer(state, actor, "取下げ")
    state["state"] = S.CANCELLED.value


_HANDLERS = {
    E.CREATED: _created,
    E.EDITED: _edited,
    E.SUBMITTED: _submitted,
    E.RECEIVED: _received,
    E.PLANNED: _planned,
    E.APPROVED: _approved,
    E.SENT_BACK: _sent_back,
    E.WITHDRAWN: _withdrawn,
    E.ANSWERED: _answered,
    E.VIEWED: _viewed,
    E.POST_REVIEWED: _post_reviewed,
    E.COMMENTED: _commented,
    E.CORRECTED: _corrected,
    E.CANCELLED: _cancelled,
}

_STATE_MESSAGES: dict[S | None, str] = {
    None: "発議書類がありません。",
    S.DRAFT: "まだ発議されていません。",
    S.IN_REVIEW: (
        "決裁中の発議書類にはこの操作はできません。引戻しまたは差戻しの後に行ってください。"
    ),
    S.SENT_BACK: "差し戻された発議書類です。修正して再発議してください。",
    S.WITHDRAWN: "引き戻された発議書類です。",
    S.DECIDED: "決裁済みの発議書類は変更できません（日付の訂正のみできます）。",
    S.CANCELLED: "取り下げられた発議書類です。",
}

STATE_LABELS = {
    S.DRAFT: "作成中",
    S.IN_REVIEW: "決裁中",
    S.SENT_BACK: "差戻し",
    S.WITHDRAWN: "引戻し",
    S.DECIDED: "決裁済み",
    S.CANCELLED: "取下げ",
}
