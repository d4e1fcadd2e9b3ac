"""The records of a scope, deleted when the scope is erased (issue 12 §1 last bullet, §2; seed 001
§3-6: 契約終了後、情報共有システム上の全てのデータを消去; 別表3 12(1)(2): 削除したデータは再現
できない; seed 003 受託者向け情報セキュリティ遵守事項 3(3): 引渡し後はデータの消去又は暗号鍵を
削除する等の対応により、保存した機密データが復元困難となる措置).

Destroying a scope's data key makes its *objects* unreadable; its *records* (post bodies,
proposal fields, bond contents, …) are plain records and go by deletion, in one unit of work
per scope, so a reader sees them all or none. Every function here is idempotent: run again
after an interruption it finds less (or nothing) and deletes the rest.

- ``wc-<work>`` (collaboration): everything ``api.handovers.erasure.erase_collaboration``
  erases (document nodes outside the archived package, proposals with revisions, workflow
  events, texts, counters, route templates, pre-meetings and comments, attachments, privacy
  checks, folder state, delivery settings, generated packages, the bulletin board, schedule
  entries with their owners' month buckets, notifications), plus the work's open file
  uploads (``uploads``), pending index marks and the mails queued or kept about the work
  (their bodies quote post titles and reply excerpts). The hand-over's own notices stay
  (they say what happened); the ``handovers`` record is marked erased so the hand-over page
  and its beat agree.
- ``wa-<work>`` (archive deliverables): the delivered package's nodes (the subtree the
  hand-over imported; every node of the work when it was archived without a hand-over; of a
  work not archived yet, the files whose content is in ``wa-`` and the folders left empty by
  them) and the archive's per-work records (``deliverables``, ``imports``).
- ``o-<org>`` (an organization's own data): the bonds it issued (with revisions, keys,
  openings, balances, certificates), its billing records (agreements, requests,
  applications, invoices, payments, printed documents, rosters), its qualification drafts,
  applications and desks, the attachments of all those, and the personal data of its users
  (name, mail address, phone: the account stays, anonymised and disabled, so the audit
  chain's actor ids still resolve). Audit events stay: they are the proof of the erasure, and
  hold digests of states, never the states (``api.audit.service``).

Search documents: each deleted record's document is removed after commit; then
``sweep_index`` asks the index (tantivy or Elasticsearch, the same port) for every document
of the work and removes those whose record is gone, so nothing the index kept outlives the
records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from api.attachments.service import ATTACHMENTS, AttachmentService
from api.keys import scopes
from api.kit.clock import to_iso
from api.kit.uow import UnitOfWork
from indexer.query import SearchQuery
from storage.query import Eq, In, Record

if TYPE_CHECKING:
    from api.container import Container

CHUNK = 200
ERASED_USER = "（消去済み）"


async def _drop(
    container: Container, uow: UnitOfWork, collection: str, items: Sequence[Record], index: bool
) -> int:
    for item in items:
        await container.records.delete(collection, str(item["id"]), None)
        if index:
            uow.unindex(str(item["id"]))
    return len(items)


async def _scan(container: Container, collection: str, *where: Any) -> list[Record]:
    return [r async for r in container.records.scan(collection, tuple(where))]


async def _in(container: Container, collection: str, field: str, values: list[str]) -> list[Record]:
    found: list[Record] = []
    for start in range(0, len(values), CHUNK):
        chunk = tuple(values[start : start + CHUNK])
        found += await _scan(container, collection, In(field, chunk))
    return found


async def _release_attachments(container: Container, uow: UnitOfWork, parents: list[str]) -> int:
    files = await _in(container, ATTACHMENTS, "parent", parents)
    service = AttachmentService(container)
    for attachment in files:
        await service.release(uow, attachment)
    return len(files)


# -- wc-<work> -------------------------------------------------------------------------------


async def _handover_keep(container: Container, work_id: str) -> str | None:
    from api.handovers.service import HANDOVERS

    record = await container.records.get(HANDOVERS, work_id)
    if record is not None and record.get("state") == "transferred":
        return str(record.get("root_path") or "") or None
    return None


async def erase_collab(container: Container, uow: UnitOfWork, work_id: str) -> dict[str, int]:
    from api.archive.indexing import PENDING
    from api.archive.models import UPLOADS
    from api.handovers.erasure import erase_collaboration
    from api.handovers.notices import KEPT_KINDS
    from api.handovers.service import HANDOVERS
    from api.mail.outbox import MAILS

    keep = await _handover_keep(container, work_id)
    counts = await erase_collaboration(container, uow, work_id, keep)
    uploads = await _scan(container, UPLOADS, Eq("work_id", work_id))
    counts[UPLOADS] = await _drop(container, uow, UPLOADS, uploads, False)
    pending = await _scan(container, PENDING, Eq("work_id", work_id))
    counts[PENDING] = await _drop(container, uow, PENDING, pending, False)
    mails = [
        m
        for m in await _scan(container, MAILS, Eq("work_id", work_id))
        if not str(m.get("kind") or "").startswith(KEPT_KINDS)
    ]
    counts[MAILS] = await _drop(container, uow, MAILS, mails, False)
    handover = await container.records.get(HANDOVERS, work_id)
    exists = await container.records.get("works", work_id) is not None
    if exists and (handover is None or not handover.get("erased_at")):
        marks = {"erased_at": to_iso(container.clock.now()), "erased": counts}
        if handover is None:
            await container.records.insert(HANDOVERS, {"id": work_id, "work_id": work_id, **marks})
        else:
            await container.records.update(HANDOVERS, work_id, marks, int(handover["version"]))
    return {k: v for k, v in counts.items() if v}


# -- wa-<work> -------------------------------------------------------------------------------


async def erase_archive(container: Container, uow: UnitOfWork, work_id: str) -> dict[str, int]:
    from api.archive.models import NODES
    from api.deliverables.imports import IMPORTS
    from api.deliverables.package import DELIVERABLES
    from api.handovers.erasure import erase_nodes
    from api.works.models import WORKS, WorkStatus

    counts: dict[str, int] = {}
    root = await _handover_keep(container, work_id)
    work = await container.records.get(WORKS, work_id)
    if root is not None:
        counts[NODES] = await erase_nodes(container, uow, work_id, only=root)
    elif work is None or work.get("status") == WorkStatus.ARCHIVED:
        # archived without a hand-over (an archive-only work), or the work is gone: every
        # node left is archive data
        counts[NODES] = await erase_nodes(container, uow, work_id)
    else:
        # a work not archived yet: its tree mixes both scopes; the files of this one go,
        # with the folders left empty by them
        counts[NODES] = await erase_nodes(container, uow, work_id, scope=scopes.archive(work_id))
    from api.archive.cas import ContentStore

    cas = ContentStore(container.records, container.blobs, container.clock)
    for collection in (DELIVERABLES, IMPORTS):
        items = await _scan(container, collection, Eq("work_id", work_id))
        for item in items:
            kept = item.get("source_file")
            if isinstance(kept, dict) and kept.get("sha256"):
                scope = str(kept.get("scope") or f"wa-{work_id}")
                await cas.release(scope, str(kept["sha256"]), uow)
        counts[collection] = await _drop(container, uow, collection, items, False)
    return {k: v for k, v in counts.items() if v}


# -- o-<org> ---------------------------------------------------------------------------------

# (collection, field naming the owning organization); every record whose field is the org goes
BILLING_OWNED = (
    "billing_agreements",
    "billing_requests",
    "billing_applications",
    "billing_invoices",
    "billing_payments",
    "billing_documents",
    "billing_rosters",
)


async def erase_org(container: Container, uow: UnitOfWork, org_id: str) -> dict[str, int]:
    from api.bonds import models as B
    from api.qualifications import models as Q

    counts: dict[str, int] = {}

    async def drop(collection: str, items: Sequence[Record]) -> None:
        n = await _drop(container, uow, collection, items, True)
        if n:
            counts[collection] = counts.get(collection, 0) + n

    # bonds the organization issued (seed 002: the original and every copy it printed)
    bonds = await _scan(container, B.BONDS, Eq("issuer_org_id", org_id))
    bond_ids = [str(b["id"]) for b in bonds]
    revisions = await _in(container, B.REVISIONS, "bond_id", bond_ids)
    parents = [f"{B.BONDS}/{i}" for i in bond_ids] + [f"{B.REVISIONS}/{r['id']}" for r in revisions]
    # billing and qualification records of the organization
    owned: dict[str, list[Record]] = {}
    for collection in BILLING_OWNED:
        owned[collection] = await _scan(container, collection, Eq("org_id", org_id))
    for collection in (Q.DRAFTS, Q.APPLICATIONS):
        owned[collection] = await _scan(container, collection, Eq("org_id", org_id))
    for collection, items in owned.items():
        parents += [f"{collection}/{r['id']}" for r in items]
    files = await _release_attachments(container, uow, parents)
    if files:
        counts[ATTACHMENTS] = files
    blob_keys = [
        str(r["blob_key"])
        for items in owned.values()
        for r in items
        if isinstance(r.get("blob_key"), str) and r.get("blob_key")
    ]
    for key in blob_keys:
        uow.after_commit(_deleter(container, key))
    await drop(B.KEYS, await _in(container, B.KEYS, "bond_id", bond_ids))
    await drop(B.OPENINGS, await _in(container, B.OPENINGS, "bond_id", bond_ids))
    await drop(B.OPENINGS, await _scan(container, B.OPENINGS, Eq("org_id", org_id)))
    await drop(B.REVISIONS, revisions)
    await drop(B.BONDS, bonds)
    await drop(B.BALANCES, await _scan(container, B.BALANCES, Eq("issuer_org_id", org_id)))
    await drop(B.CERTIFICATES, await _scan(container, B.CERTIFICATES, Eq("issuer_org_id", org_id)))
    application_ids = [str(a["id"]) for a in owned[Q.APPLICATIONS]]
    await drop(Q.DESKS, await _in(container, Q.DESKS, "application_id", application_ids))
    for collection, items in owned.items():
        await drop(collection, items)
    # the personal data of its users (the accounts stay, anonymised: audit actors resolve)
    users = await _scan(container, "users", Eq("org_id", org_id))
    anonymised = 0
    for user in users:
        if user.get("erased_at"):
            continue
        await container.records.update(
            "users",
            str(user["id"]),
            {
                "name": ERASED_USER,
                "name_kana": None,
                "email": None,
                "phone": None,
                "status": "disabled",
                "erased_at": to_iso(container.clock.now()),
            },
            int(user["version"]),
        )
        anonymised += 1
    if anonymised:
        counts["users.anonymised"] = anonymised
    return counts


def _deleter(container: Container, key: str) -> Callable[[], Awaitable[None]]:
    async def delete() -> None:
        await container.blobs.delete(key)

    return delete


async def erase_scope_records(container: Container, scope: str) -> dict[str, int]:
    """Delete every record of ``scope`` in one unit of work; returns counts per collection."""
    kind, owner = scopes.parse(scope)
    async with container.uow() as uow:
        if kind == scopes.COLLAB:
            return await erase_collab(container, uow, owner)
        if kind == scopes.ARCHIVE:
            return await erase_archive(container, uow, owner)
        return await erase_org(container, uow, owner)


# -- the search index ------------------------------------------------------------------------

# Document types that survive their work's erasure as long as their record does
WORK_DOC = "work"


async def sweep_index(container: Container, scope: str) -> int:
    """Remove every search document of the scope whose record is gone (both backends: the
    query goes through the index port). Returns how many were removed."""
    from api.archive.models import NODES
    from api.consistency import INDEXABLE

    kind, owner = scopes.parse(scope)
    if kind == scopes.ORG:
        return 0  # no search document belongs to an organization (bonds, billing: records)
    filters: dict[str, tuple[str, ...]] = {"work_id": (owner,)}
    collection_of = {spec.doc_type: spec.collection for spec in INDEXABLE.values()}
    collection_of.setdefault("file", NODES)
    doomed: list[str] = []
    cursor: str | None = None
    while True:
        result = await container.index.search(
            SearchQuery(filters=filters, acl=None, limit=500, cursor=cursor, sort="date")
        )
        by_type: dict[str, list[str]] = {}
        for hit in result.hits:
            doc_type = str(hit.doc.get("type") or "")
            if doc_type == WORK_DOC:
                continue
            by_type.setdefault(doc_type, []).append(hit.id)
        for doc_type, ids in by_type.items():
            collection = collection_of.get(doc_type)
            alive = (
                {str(r["id"]) for r in await container.records.get_many(collection, ids)}
                if collection is not None
                else set()
            )
            doomed += [i for i in ids if i not in alive]
        cursor = result.next_cursor
        if not cursor or not result.hits:
            break
    # deleted after the walk, so a cursor never skips documents of a shrinking result
    for start in range(0, len(doomed), 500):
        await container.index.delete(doomed[start : start + 500])
    if doomed:
        await container.index.refresh()
    return len(doomed)
