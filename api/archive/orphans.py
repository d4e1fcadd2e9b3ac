"""Objects a crash left behind: written to the blob store, never committed to a record.

New content is put under a fresh key (``cas.upload_key``: ``s/<scope>/objects/xx/<id>``;
before scopes: ``objects/xx/<id>``) *before* the
unit of work that adopts it commits; a process killed in between (an import's batch, an
upload's last request) leaves an object no ``blobs`` record names, which ``kura check``
reports as ``orphaned_blob``. Beat's ``archive.sweep_orphans`` deletes such objects once
their key's id is older than ``archive.orphan_grace_hours``, which must exceed the longest
time between a put and its commit (a batch of an import is at most 256 MiB). Keys named by
an open upload (their bytes are still arriving) and keys that are not ids are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from api.archive.models import BLOBS, UPLOADS
from api.container import Container
from api.keys import scopes
from api.kit.ids import id_time, is_id
from storage.query import Eq, In, Query

log = logging.getLogger("kura.archive")

PREFIX = "objects/"  # objects written before scopes (until ``kura migrate encrypt``)
BATCH = 500


@dataclass
class OrphanReport:
    checked: int = 0
    deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def sweep_orphans(container: Container, grace: timedelta | None = None) -> OrphanReport:
    """Delete unreferenced objects older than ``grace``; streams the listing in batches."""
    grace = grace or timedelta(hours=container.settings.archive.orphan_grace_hours)
    cutoff = container.clock.now() - grace
    records = container.records
    open_keys = {
        str(u.get("key"))
        async for u in records.scan(UPLOADS, (Eq("state", "open"),))
        if u.get("key")
    }
    report = OrphanReport()
    batch: list[str] = []
    owns = scopes.in_area("objects")
    for prefix in (scopes.PREFIX, PREFIX):
        async for info in container.blobs.list(prefix):
            if prefix == scopes.PREFIX and not owns(info.key):
                continue
            report.checked += 1
            if _old(info.key, cutoff) and info.key not in open_keys:
                batch.append(info.key)
            if len(batch) >= BATCH:
                report.deleted += await _drop_unreferenced(container, batch)
                batch = []
    if batch:
        report.deleted += await _drop_unreferenced(container, batch)
    if report.deleted:
        log.warning("deleted %d orphaned objects (older than %s)", report.deleted, grace)
    return report


def _old(key: str, cutoff: datetime) -> bool:
    oid = key.rsplit("/", 1)[-1]
    return is_id(oid) and id_time(oid) < cutoff


async def _drop_unreferenced(container: Container, keys: list[str]) -> int:
    query = Query(where=(In("key", tuple(keys)),), limit=len(keys))
    named = {str(b["key"]) for b in (await container.records.find(BLOBS, query)).items}
    deleted = 0
    for key in keys:
        if key in named:
            continue
        await container.blobs.delete(key)
        log.info("orphaned object %s deleted", key)
        deleted += 1
    return deleted
