"""The display names of a work's parties, for everyone who reads the work (issue 8 §3 item 1:
people see names, never ids; house style "People see names, never ids").

A contractor's member may not read the orderer's organization record, another organization's
users or the office master (``organizations.read`` is one's own organization), yet the work
page must show 「広島県 東部建設事務所」 and 「検査 花子」 to them. This answer gives exactly the
names the work's own record points at, to the readers of the work: its orderer, office and
contractors, its members with their organizations and positions, and the label of its 業種
(seed 004). Nothing else about those records is disclosed.
"""

from __future__ import annotations

from typing import Any

from api.master.business_types import BUSINESS_TYPES as BUSINESS_TYPES_SEED
from api.permissions.policy import Subject
from api.works.service import WorkService
from storage.ports import RecordStore
from storage.query import Record

ORGS = "organizations"
USERS = "users"
BUSINESS_TYPES = "business_types"


async def business_type_name(records: RecordStore, code: str) -> str:
    """The 業種's name in the master (operators may rename), else seed 004's, else the code
    (the master is seeded on its first read)."""
    found = await records.get(BUSINESS_TYPES, code)
    if found is not None and found.get("name"):
        return str(found["name"])
    return dict(BUSINESS_TYPES_SEED).get(code, code)


def _org(record: Record | None, org_id: str) -> dict[str, Any]:
    return {
        "id": org_id,
        "name": str((record or {}).get("name") or ""),
        "kind": (record or {}).get("kind"),
    }


async def parties(service: WorkService, subject: Subject | None, work_id: str) -> dict[str, Any]:
    work = await service.load(subject, work_id, "works.read")
    records = service.repo.records
    members = sorted(
        await service.repo.members(work_id), key=lambda m: (m["added_at"], m["user_id"])
    )
    org_ids = {str(work.get("orderer_org_id") or "")}
    org_ids.update(str(o) for o in work.get("contractor_org_ids") or ())
    org_ids.update(str(m.get("org_id")) for m in members if m.get("org_id"))
    org_ids.discard("")
    orgs = {str(o["id"]): o for o in await records.get_many(ORGS, sorted(org_ids))}
    users = {
        str(u["id"]): u
        for u in await records.get_many(USERS, sorted({str(m["user_id"]) for m in members}))
    }
    office = await service.repo.office(str(work["office_id"])) if work.get("office_id") else None
    business_type = None
    if work.get("business_type"):
        code = str(work["business_type"])
        business_type = {"code": code, "name": await business_type_name(records, code)}
    orderer_id = str(work.get("orderer_org_id") or "")
    return {
        "work_id": work_id,
        "orderer": _org(orgs.get(orderer_id), orderer_id) if orderer_id else None,
        "office": (
            {"id": str(office["id"]), "name": str(office.get("name") or "")} if office else None
        ),
        "contractors": [
            _org(orgs.get(str(o)), str(o)) for o in work.get("contractor_org_ids") or ()
        ],
        "members": [
            {
                "user_id": str(m["user_id"]),
                "name": str((users.get(str(m["user_id"])) or {}).get("name") or ""),
                "position": (users.get(str(m["user_id"])) or {}).get("position") or None,
                "org_id": m.get("org_id"),
                "org_name": str((orgs.get(str(m.get("org_id"))) or {}).get("name") or ""),
                "role": m["role"],
                "added_at": m.get("added_at"),
            }
            for m in members
        ],
        "business_type": business_type,
    }
