"""What each reader sees of a filing (seed 004 第1 10: each municipality on its own).

The applicant and the operator read the whole filing. A target municipality reads it with
itself as the only target (its own documents, its own tax box): another municipality's
targets never reach it. The host (the prefecture, receiver of the common papers of every
filing, 第1 8) reads every target, since the papers it checks include every target's tax
certificate (第1 8 no. 3).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from api.permissions.policy import Subject
from api.qualifications import catalog
from api.qualifications.access import host_org, targets_of
from api.qualifications.windows import jst_date

HIDDEN = ("readers", "target_org_ids", "draft_version", "draft_version_after", "listing")


def viewer_code(
    subject: Subject, application: Mapping[str, Any], round_: Mapping[str, Any]
) -> str | None:
    """The municipality code a non-host municipality reads as (None: reads everything)."""
    if subject.is_operator or application.get("org_id") == subject.org_id:
        return None
    if subject.org_id is not None and subject.org_id == host_org(round_):
        return None
    for code, target in targets_of(round_).items():
        if target.get("org_id") == subject.org_id:
            return code
    return None


def filing_view(
    subject: Subject,
    application: Mapping[str, Any],
    round_: Mapping[str, Any],
    desks: Sequence[Mapping[str, Any]],
    now: Any,
) -> dict[str, Any]:
    only = viewer_code(subject, application, round_)
    out = {k: copy.deepcopy(v) for k, v in application.items() if k not in HIDDEN}
    places = catalog.municipalities()
    if only is not None:
        out["targets"] = [t for t in out["targets"] if t == only]
        out["no_tax"] = [t for t in out.get("no_tax") or [] if t == only]
        out["values"]["targets"] = list(out["targets"])
        out["values"]["no_tax"] = list(out["no_tax"])
        out["own_papers"] = [o for o in out.get("own_papers") or [] if o["code"] == only]
        out["additions"] = [
            {**a, "targets": [t for t in a.get("targets") or [] if t == only]}
            for a in out.get("additions") or []
        ]
    out["target_names"] = [
        {"code": t, "name": places[t].name if t in places else t} for t in out["targets"]
    ]
    host = host_org(round_)
    host_desk = next((d for d in desks if d.get("org_id") == host), None)
    mine = next((d for d in desks if d.get("org_id") == subject.org_id), None)
    out["status"] = paper_status(application, round_, host_desk, now)
    out["desk"] = desk_view(mine) if mine is not None else None
    out["common_received"] = list((host_desk or {}).get("papers_received") or [])
    out["viewer"] = {
        "as": "applicant"
        if application.get("org_id") == subject.org_id
        else (
            "operator" if subject.is_operator else ("host" if subject.org_id == host else "target")
        ),
        "only": only,
    }
    return out


def required_common(application: Mapping[str, Any]) -> list[int]:
    """The common papers to receive, except the receipt itself (it is the cover)."""
    return [int(p["no"]) for p in application.get("papers") or []]


def paper_status(
    application: Mapping[str, Any],
    round_: Mapping[str, Any],
    host_desk: Mapping[str, Any] | None,
    now: Any,
) -> str:
    """受付済 / 書類受領済 / 無効（書類未着）: after the paper deadline a filing whose common
    papers have not all arrived is void (第1 2(2))."""
    received = set((host_desk or {}).get("papers_received") or [])
    complete = set(required_common(application)) <= received
    if complete:
        return "papers_complete"
    deadline = round_.get("paper_deadline")
    if deadline and jst_date(now) > date.fromisoformat(str(deadline)):
        return "void"
    return "received"


STATUS_LABELS = {
    "received": "受付済（書類未着）",
    "papers_complete": "書類受領済",
    "void": "無効（書類未着）",
}


def desk_view(desk: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": desk["id"],
        "version": desk["version"],
        "papers_received": list(desk.get("papers_received") or []),
        "own_received": bool(desk.get("own_received")),
        "received_on": desk.get("received_on"),
        "notes": list(desk.get("notes") or []),
        "updated_at": desk.get("updated_at"),
    }
