"""What the pages of a proposal show: the proposal with its form, names and files, what the
reader may do now, and its history (every event, every revision with a diff of the fields and
the changed attachments, 4(16); corrections, 4(17)), also as CSV and PDF (4(18))."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from api.attachments.service import AttachmentService
from api.master.days import work_calendar
from api.permissions.policy import Subject
from api.proposals.access import Access, Loaded, on_route_of
from api.proposals.form_service import FormService
from api.proposals.forms import display
from api.proposals.models import REVISIONS
from api.workflow import machine
from api.workflow.dates import business_days_left, jst_day
from api.workflow.delegations import DelegationService
from api.workflow.store import EventStore
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container

EVENT_LABELS = {
    "created": "作成",
    "edited": "編集",
    "submitted": "発議",
    "received": "受付",
    "planned": "回答予定日の設定",
    "approved": "承認",
    "sent_back": "差戻し",
    "withdrawn": "引戻し",
    "answered": "処理・回答",
    "viewed": "閲覧",
    "post_reviewed": "後閲",
    "commented": "コメント",
    "corrected": "日付の訂正",
    "cancelled": "取下げ",
}
VIA_LABELS = {"self": "", "deputy": "代理承認", "superior": "後閲扱いで先に承認"}


async def user_names(container: Container, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    users = await container.records.get_many("users", sorted({i for i in ids if i}))
    orgs = {
        o["id"]: o
        for o in await container.records.get_many(
            "organizations", sorted({str(u.get("org_id")) for u in users})
        )
    }
    return {
        u["id"]: {
            "name": str(u.get("name") or ""),
            "org_name": str((orgs.get(str(u.get("org_id"))) or {}).get("name") or ""),
        }
        for u in users
    }


def people_of(proposal: Mapping[str, Any]) -> list[str]:
    ids = [str(proposal.get("proposer_id"))]
    for step in proposal.get("route") or []:
        ids += step["assignees"]
    for progress in proposal.get("progress") or []:
        for mark in progress["marks"]:
            ids += [str(mark.get("by") or ""), str(mark.get("reviewed_by") or "")]
    ids += [str(c.get("by")) for c in proposal.get("corrections") or []]
    if proposal.get("sent_back"):
        ids.append(str(proposal["sent_back"].get("by")))
    return ids


async def actions(container: Container, subject: Subject, loaded: Loaded) -> dict[str, Any]:
    """What ``subject`` may do on the proposal now (the page shows only these buttons; the
    service decides again on every request)."""
    p = loaded.proposal
    policy = container.policy
    res = loaded.resource(subject)
    state = p.get("state")
    proposer = p.get("proposer_id") == subject.user_id
    editable = state in machine.EDITABLE and policy.can(subject, "proposals.edit", res)
    act = policy.can(subject, "workflow.act", res)
    mine = machine.action_for(p, subject.user_id)
    deputy_for: list[str] = []
    if act and state == machine.S.IN_REVIEW:
        for d in await DelegationService(container).active_for_deputy(
            subject.user_id, str(p["work_id"])
        ):
            if machine.action_for(p, str(d["principal_id"])) == "approve":
                deputy_for.append(str(d["principal_id"]))
    later = False
    current = p.get("current_step")
    if act and state == machine.S.IN_REVIEW and current is not None:
        later = any(
            step["kind"] == "approve" and i > current and subject.user_id in step["assignees"]
            for i, step in enumerate(p.get("route") or [])
        )
    targets = ["proposer"]
    if current is not None:
        for i in range(int(current)):
            if p["route"][i]["kind"] == "approve":
                targets += [
                    m["user_id"]
                    for m in p["progress"][i]["marks"]
                    if m["status"] in (machine.APPROVED, machine.POST_REVIEW, machine.REVIEWED)
                ]
    approver_now = act and (mine == "approve" or bool(deputy_for))
    return {
        "waiting_for_me": mine,
        "edit": editable,
        "submit": editable,
        "delete": editable and state == machine.S.DRAFT and not p.get("revision"),
        "withdraw": proposer
        and state == machine.S.IN_REVIEW
        and not any(
            m["status"] != machine.PENDING
            for i, step in enumerate(p.get("route") or [])
            if step["kind"] == "approve"
            for m in p["progress"][i]["marks"]
        ),
        "cancel": proposer and state in (machine.S.SENT_BACK, machine.S.WITHDRAWN),
        "approve": approver_now,
        "send_back": approver_now,
        "send_back_targets": targets if approver_now else [],
        "receive": approver_now and not p.get("received_on"),
        "answer": approver_now,
        "approve_ahead": later and mine != "approve",
        "deputy_for": deputy_for,
        "view": mine == "view",
        "post_review": mine == "post_review",
        "comment": policy.can(subject, "workflow.comment", res) and state != machine.S.DRAFT,
        "correct": state == machine.S.DECIDED and policy.can(subject, "proposals.correct", res),
        "copy": policy.can(subject, "proposals.create", res),
    }


async def detail(container: Container, subject: Subject, loaded: Loaded) -> dict[str, Any]:
    p = loaded.proposal
    version = await FormService(container).version(str(p["form_id"]), int(p["form_version"]))
    files = {
        a["id"]: a for a in await AttachmentService(container).of_parent(f"proposals/{p['id']}")
    }
    bundle = []
    for item in p.get("attachments") or []:
        record = files.get(item["id"]) or {}
        bundle.append(
            {
                "id": item["id"],
                "pages": item.get("pages"),
                "name": record.get("name", ""),
                "size": record.get("size"),
                "content_type": record.get("content_type") or record.get("declared_type"),
                "page_count": (record.get("extract") or {}).get("page_count"),
                "ingest": (record.get("ingest") or {}).get("state"),
            }
        )
    names = await user_names(container, people_of(p))
    today = jst_day(container.clock.now())
    calendar = await work_calendar(container.records, str(p["work_id"]))
    return {
        "proposal": p,
        "state_label": machine.STATE_LABELS[machine.S(p["state"])],
        "form": {
            "id": p["form_id"],
            "version": p["form_version"],
            "current_version": version["form"]["current_version"],
            "definition": version["definition"],
        },
        "work": {
            "id": loaded.work["id"],
            "title": loaded.work.get("title"),
            "number": loaded.work.get("number"),
            "kind": loaded.work.get("kind"),
            "status": loaded.work.get("status"),
        },
        "bundle": bundle,
        "users": names,
        "days_left": business_days_left(calendar, today, p.get("requested_answer_date"))
        if p["state"] == machine.S.IN_REVIEW
        else None,
        "actions": await actions(container, subject, loaded),
        "on_route": on_route_of(p, subject.user_id),
    }


def diff_values(
    definition: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Changed fields with label, old and new as printed (4(16))."""
    out = []
    for field in definition["fields"]:
        key = field["key"]
        if old.get(key) != new.get(key):
            out.append(
                {
                    "field": key,
                    "label": field["label"],
                    "old": display(field, old.get(key)),
                    "new": display(field, new.get(key)),
                }
            )
    return out


def diff_files(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Attachments added, removed, replaced (same name, other content) or reordered."""
    before = {a["name"]: a for a in old}
    after = {a["name"]: a for a in new}
    out = []
    for name, a in after.items():
        b = before.get(name)
        if b is None:
            out.append({"name": name, "change": "added", "label": "追加"})
        elif b.get("sha256") != a.get("sha256"):
            out.append({"name": name, "change": "replaced", "label": "差替え"})
        elif b.get("pages") != a.get("pages"):
            out.append({"name": name, "change": "pages", "label": "ページ指定の変更"})
    for name in before:
        if name not in after:
            out.append({"name": name, "change": "removed", "label": "削除"})
    if not out and [a["name"] for a in old] != [a["name"] for a in new]:
        out.append({"name": "", "change": "reordered", "label": "順序の変更"})
    return out


async def history(
    container: Container, subject: Subject | None, proposal_id: str
) -> dict[str, Any]:
    loaded = await Access(container).proposal(subject, proposal_id)
    p = loaded.proposal
    events = await EventStore(container).events(proposal_id)
    page = await container.records.find(
        REVISIONS,
        Query(where=(Eq("proposal_id", proposal_id),), sort=(("revision", 1),), limit=1000),
    )
    definition = (await FormService(container).version(str(p["form_id"]), int(p["form_version"])))[
        "definition"
    ]
    revisions = []
    previous: Mapping[str, Any] | None = None
    for rev in page.items:
        entry = {
            "revision": rev["revision"],
            "submitted_at": rev["submitted_at"],
            "submitted_by": rev["submitted_by"],
            "title": rev.get("title"),
            "changes": [],
            "files": [],
        }
        if previous is not None:
            changes = diff_values(definition, previous.get("values") or {}, rev.get("values") or {})
            if previous.get("title") != rev.get("title"):
                changes.insert(
                    0,
                    {
                        "field": "title",
                        "label": "タイトル",
                        "old": previous.get("title"),
                        "new": rev.get("title"),
                    },
                )
            entry["changes"] = changes
            entry["files"] = diff_files(
                previous.get("attachments") or [], rev.get("attachments") or []
            )
        revisions.append(entry)
        previous = rev
    ids = [str(e.get("actor_id")) for e in events]
    ids += [str((e.get("data") or {}).get("user_id") or "") for e in events]
    ids += [str((e.get("data") or {}).get("to") or "") for e in events]
    names = await user_names(container, ids + people_of(p))
    rows = [history_row(e, names, p) for e in events]
    return {
        "events": rows,
        "revisions": revisions,
        "corrections": p.get("corrections") or [],
        "users": names,
    }


def history_row(
    event: Mapping[str, Any], names: Mapping[str, Mapping[str, str]], p: Mapping[str, Any]
) -> dict[str, Any]:
    data = event.get("data") or {}
    kind = str(event["kind"])
    actor = str(event.get("actor_id") or "")
    label = EVENT_LABELS.get(kind, kind)
    via = str(data.get("via") or "self")
    if kind == "approved" and via in ("deputy", "superior"):
        label = f"{label}（{VIA_LABELS[via]}）"
    detail = ""
    if via == "deputy" and data.get("user_id"):
        detail = f"{(names.get(str(data['user_id'])) or {}).get('name', '')} さんの代理"
    if kind == "sent_back":
        to = str(data.get("to"))
        who = "発議者" if to == "proposer" else (names.get(to) or {}).get("name", "")
        detail = f"差戻し先: {who} / 理由: {data.get('reason', '')}"
    elif kind == "commented":
        detail = str(data.get("text", ""))
    elif kind == "corrected":
        detail = (
            f"{machine.CORRECTABLE.get(str(data.get('field')), '')}: "
            f"{data.get('old') or '-'} → {data.get('new')}"
            + (f"（{data['reason']}）" if data.get("reason") else "")
        )
    elif kind == "received":
        detail = f"受付日 {data.get('received_on')}" + (
            f" / 回答予定日 {data['planned_answer_date']}"
            if data.get("planned_answer_date")
            else ""
        )
    elif kind == "planned":
        detail = f"回答予定日 {data.get('planned_answer_date')}"
    elif kind == "answered":
        detail = ("中間" if data.get("interim") else "最終") + f"処理・回答日 {data.get('date')}"
    elif kind == "submitted":
        detail = "重要" if data.get("importance") == "important" else "通常"
    if data.get("comment"):
        detail = (detail + " / " if detail else "") + f"所見: {data['comment']}"
    return {
        "seq": event["seq"],
        "kind": kind,
        "label": label,
        "at": event["at"],
        "on": event["on"],
        "actor_id": actor,
        "actor_name": (names.get(actor) or {}).get("name", ""),
        "actor_org": (names.get(actor) or {}).get("org_name", ""),
        "via": via if kind in ("approved", "sent_back", "received", "answered") else None,
        "detail": detail,
        "step": data.get("step"),
    }


HISTORY_COLUMNS = ["No.", "日時", "操作", "操作者", "所属", "内容"]


def history_csv(p: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """承認履歴 as CSV (4(18)): UTF-8 with BOM so Excel opens it in Japanese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["発議番号", p.get("number") or "", "タイトル", p.get("title") or ""])
    writer.writerow(HISTORY_COLUMNS)
    for r in rows:
        writer.writerow(
            [r["seq"], _jst(str(r["at"])), r["label"], r["actor_name"], r["actor_org"], r["detail"]]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _jst(at: str) -> str:
    from api.kit.clock import from_iso
    from api.workflow.dates import JST

    return from_iso(at).astimezone(JST).strftime("%Y/%m/%d %H:%M")


def history_document(
    p: Mapping[str, Any], work: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The data of the printed approval history (``api.pdf.DOCUMENT``)."""
    return {
        "title": "承認履歴",
        "number": f"発議番号 {p.get('number') or '-'}",
        "parties": [
            ["工事名", str(work.get("title") or "")],
            ["タイトル", str(p.get("title") or "")],
            ["様式", str(p.get("form_name") or "")],
            ["状態", machine.STATE_LABELS[machine.S(p["state"])]],
            ["発議日", str(p.get("proposed_on") or "")],
            ["決裁完了日", str(p.get("decided_on") or "")],
        ],
        "sections": [
            {
                "heading": "履歴",
                "table": {
                    "columns": HISTORY_COLUMNS,
                    "rows": [
                        [
                            str(r["seq"]),
                            _jst(str(r["at"])),
                            r["label"],
                            r["actor_name"],
                            r["actor_org"],
                            r["detail"],
                        ]
                        for r in rows
                    ],
                },
            }
        ],
        "footer": "Kura 承認履歴",
    }
