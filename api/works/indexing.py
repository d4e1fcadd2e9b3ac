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
from indexer.documents import MICRO, SORT_TITLE, normalize

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


def deliverable_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Index fields from the work's latest 電子納品 package (``record["deliverable"]``, written
    by ``api.deliverables.package``; issue 8 item 9): the facets 発注年度 / 工事分野 / 工事業種,
    the package's 住所コード beside the work's municipality, and the decimal 境界座標 as
    micro-degrees for the map filter. Works and their files carry the same values."""
    package = record.get("deliverable") or {}
    out: dict[str, Any] = {
        "fiscal_year": package.get("fiscal_year"),
        "work_field": package.get("field"),
        "work_industry": package.get("industry"),
    }
    codes = [(record.get("location") or {}).get("municipality_code")]
    codes += list(package.get("address_codes") or [])
    out["municipality_code"] = list(dict.fromkeys(c for c in codes if c))
    bounds = package.get("bounds") or {}
    if all(isinstance(bounds.get(k), int | float) for k in ("west", "east", "south", "north")):
        for key in ("west", "east", "south", "north"):
            out[f"bbox_{key}"] = round(float(bounds[key]) * MICRO)
    return out


def package_texts(record: dict[str, Any]) -> list[str]:
    """The package's searchable words on the work (工事内容, 施設名称, 住所, キーワード, 名称,
    水系・路線名)."""
    package = record.get("deliverable") or {}
    values = [package.get("title"), package.get("content"), *(package.get("names") or [])]
    values += [*(package.get("facilities") or []), *(package.get("addresses") or [])]
    values += list(package.get("keywords") or [])
    return list(dict.fromkeys(str(v) for v in values if v))


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
        "names": package_texts(record) or None,
        "work_id": record["id"],
        "number": record.get("number"),
        "address": location.get("address") or None,  # stored, shown; searched through body
        "category": record.get("category"),
        "business_type": record.get("business_type"),
        "orderer": record.get("orderer_org_id"),
        "office": record.get("office_id"),
        "contractor": list(record.get("contractor_org_ids") or []),
        "work_kind": record.get("kind"),
        "status": record.get("status"),
        "acl": acl,
        "period_start": record.get("period_start"),
        "period_end": record.get("period_end"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "price": record.get("contract_price", record.get("planned_price")),
        "stamp": int(record["version"]),
        **deliverable_fields(record),
    }
    return {k: v for k, v in doc.items() if v is not None and v != []}
