"""Proposals in the search index: the text of lists across works (title, form, number,
values, work title) with the same ``acl`` principals as the record (``api.proposals.models``).

The index follows a small record per proposal, ``proposal_texts`` (``{id, title, body, names,
number, form_id, form_name, work_id, acl, proposed_on}``), written only when that text changes
(creation, edits, the first submission's number, the acl): an approval, a view or a comment never
touches the index, so a transition costs one record transaction, not an index commit. The documents'
stamps are that record's version, so ``kura check`` / ``kura reindex`` keep them true
(``api.consistency``). Drafts never submitted are not indexed (their proposer's alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.kit.uow import UnitOfWork
from api.proposals.models import DOC_TYPE
from indexer.documents import SORT_TITLE, normalize

TEXTS = "proposal_texts"


def text_of(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the index holds of a proposal, or None while it is a private draft."""
    if not record or (record.get("state") == "draft" and not record.get("revision")):
        return None
    values = record.get("values") or {}
    parts = [str(v) for v in values.values() if isinstance(v, str | int | float)]
    return {
        "title": str(record.get("title") or ""),
        "body": " ".join([str(record.get("form_name") or ""), *parts])[:20000],
        "names": str(record.get("work_title") or ""),
        "number": str(record["number"]) if record.get("number") else None,
        "form_id": record.get("form_id"),
        "form_name": record.get("form_name"),
        "work_id": record["work_id"],
        "acl": list(record.get("acl") or []),
        "proposed_on": record.get("proposed_on"),
    }


def text_to_doc(text: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": text["id"],
        "type": DOC_TYPE,
        "title": text.get("title") or "",
        SORT_TITLE: normalize(str(text.get("title") or "")),
        "body": text.get("body") or "",
        "names": text.get("names") or "",
        "work_id": text["work_id"],
        "number": text.get("number"),
        # The search page's 分類 facet shows this value as is: the form's name, never its id
        # (texts stored before it carried the name fall back to the id until they change).
        "category": text.get("form_name") or text.get("form_id"),
        "acl": list(text.get("acl") or []),
        "doc_date": text.get("proposed_on"),
        "stamp": int(text["version"]),
    }
    return {k: v for k, v in doc.items() if v is not None and v != []}


async def index_proposal(
    uow: UnitOfWork, before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> None:
    """Keep ``proposal_texts`` and the index in step with ``after`` (after commit)."""
    new, old = text_of(after), text_of(before)
    if new == old:
        return
    pid = str(after["id"])
    existing = await uow.records.get(TEXTS, pid)
    if new is None:
        if existing is not None:
            await uow.records.delete(TEXTS, pid, existing["version"])
        uow.unindex(pid)
        return
    if existing is None:
        stored = await uow.records.insert(TEXTS, {"id": pid, **new})
    else:
        stored = await uow.records.replace(TEXTS, {"id": pid, **new}, existing["version"])
    uow.index(text_to_doc(stored))


def register() -> None:
    from api.consistency import register_indexable

    register_indexable(TEXTS, DOC_TYPE, text_to_doc)
