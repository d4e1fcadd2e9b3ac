"""Works in the search index, and the access principals shared by the index and the records.

Principal scheme (the ``acl`` of a work; the same list is stored on the work record so the
record store can filter with one ``In("acl", principals)``):

- ``"user:<user id>"``      a member of the work. While the work is archived only members whose
  role may read the archive (archive reader, supervisor, inspector) are listed, mirroring
  ``Policy._can_on_work``.
- ``"orgread:<org id>"``    readable by users of the orderer organization holding the grant
  ``works.read_org`` or ``works.manage`` (seed 001 別表1-1 8(3): functions granted per user).
- ``"archive:<org id>"``    only on archived works: users of the orderer organization holding
  ``archive.read_org``.

``principals_for(subject)`` returns the principals a subject holds; a document is visible
when the two lists intersect. Operators read everything: ``None`` (no filter).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.permissions.policy import Subject, WorkRole
from api.works.models import WorkStatus
from indexer.documents import SORT_TITLE, normalize

DOC_TYPE = "work"

# Roles that still read a work once it is archived (see Policy._can_on_work).
ARCHIVE_ROLES = frozenset({WorkRole.ARCHIVE_READER, WorkRole.SUPERVISOR, WorkRole.INSPECTOR})


def work_acl(work: dict[str, Any], members: Iterable[dict[str, Any]]) -> list[str]:
    """The principals that may read ``work`` given its memberships (sorted, unique)."""
    org = work.get("orderer_org_id")
    archived = work.get("status") == WorkStatus.ARCHIVED
    acl: set[str] = set()
    if org:
        acl.add(f"orgread:{org}")
        if archived:
            acl.add(f"archive:{org}")
    contractors = set(work.get("contractor_org_ids") or ())
    for member in members:
        if archived and member.get("role") not in ARCHIVE_ROLES:
            continue
        if member.get("role") == WorkRole.CONTRACTOR_MEMBER and member.get("org_id") not in (
            contractors
        ):
            continue  # their organization no longer works on it (issue 7 item 9)
        acl.add(f"user:{member['user_id']}")
    return sorted(acl)


def principals_for(subject: Subject) -> tuple[str, ...] | None:
    """The principals ``subject`` holds, for ``SearchQuery.acl`` and the records' ``acl``
    filter; ``None`` for operators (no filter)."""
    if subject.is_operator:
        return None
    out = [f"user:{subject.user_id}"]
    if subject.org_id:
        if subject.grants & {"works.read_org", "works.manage"}:
            out.append(f"orgread:{subject.org_id}")
        if "archive.read_org" in subject.grants:
            out.append(f"archive:{subject.org_id}")
    return tuple(out)


def work_to_doc(
    record: dict[str, Any], members: Iterable[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The index document of a work (``indexer.documents`` schema). ``members`` recomputes the
    acl; without it the acl stored on the record is used (reindex streams records alone)."""
    acl = work_acl(record, members) if members is not None else list(record.get("acl") or [])
    location = record.get("location") or {}
    body_parts = [
        record.get("number"),
        location.get("address"),
        location.get("municipality_code"),
        record.get("category"),
        record.get("business_type"),
    ]
    doc: dict[str, Any] = {
        "id": record["id"],
        "type": DOC_TYPE,
        "title": record["title"],
        SORT_TITLE: normalize(record["title"]),
        "body": " ".join(str(p) for p in body_parts if p),
        "work_id": record["id"],
        "number": record.get("number"),
        "category": record.get("category"),
        "business_type": record.get("business_type"),
        "orderer": record.get("orderer_org_id"),
        "office": record.get("office_id"),
        "contractor": list(record.get("contractor_org_ids") or []),
        "work_kind": record.get("kind"),
        "status": record.get("status"),
        "municipality_code": location.get("municipality_code"),
        "acl": acl,
        "period_start": record.get("period_start"),
        "period_end": record.get("period_end"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "price": record.get("contract_price", record.get("planned_price")),
        "stamp": int(record["version"]),
    }
    return {k: v for k, v in doc.items() if v is not None and v != []}
