"""Proposals in the search index: the text of lists across works (title, form, number,
values) with the same ``acl`` principals as the record (``api.proposals.models``). Drafts
never submitted are not indexed (they are their proposer's alone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.kit.uow import UnitOfWork
from api.proposals.models import DOC_TYPE
from indexer.documents import SORT_TITLE, normalize


def proposal_to_doc(record: Mapping[str, Any]) -> dict[str, Any]:
    values = record.get("values") or {}
    text_values = [str(v) for v in values.values() if isinstance(v, str | int | float)]
    doc: dict[str, Any] = {
        "id": record["id"],
        "type": DOC_TYPE,
        "title": record.get("title") or "",
        SORT_TITLE: normalize(str(record.get("title") or "")),
        "body": " ".join([str(record.get("form_name") or ""), *text_values])[:20000],
        "names": str(record.get("work_title") or ""),
        "work_id": record["work_id"],
        "number": str(record["number"]) if record.get("number") else None,
        "category": record.get("form_id"),
        "status": record.get("state"),
        "acl": list(record.get("acl") or []),
        "doc_date": record.get("proposed_on"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "stamp": int(record["version"]),
    }
    return {k: v for k, v in doc.items() if v is not None and v != []}


def index_proposal(uow: UnitOfWork, record: Mapping[str, Any]) -> None:
    """Index (or unindex, for a private draft) after commit."""
    if record.get("state") == "draft" and not record.get("revision"):
        uow.unindex(str(record["id"]))
    else:
        uow.index(proposal_to_doc(record))
