"""Expiry sweep for tus uploads (tus 1.0.0 expiration extension).

An open upload past ``expires_at`` loses its received bytes and is marked ``expired`` (the
upload URL then answers 410 Gone); finished, failed and expired records are purged after
``KEEP_DAYS``; append targets with no open upload (left by a crash between steps) are
discarded. Run by the ``uploads.expire`` task; idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from api.archive.models import UPLOADS
from api.container import Container
from api.kit.clock import to_iso
from api.uploads.schemas import UploadState
from api.uploads.service import target_of_record, upload_id_of
from storage.errors import NotFound, StaleVersion
from storage.query import Eq, In, Range

log = logging.getLogger("kura.uploads")

KEEP_DAYS = 30


@dataclass
class SweepReport:
    expired: int = 0
    purged: int = 0
    orphans: int = 0


async def sweep(container: Container, keep_days: float = KEEP_DAYS) -> SweepReport:
    records, blobs = container.records, container.blobs
    now = container.clock.now()
    report = SweepReport()
    overdue = [
        r
        async for r in records.scan(
            UPLOADS, (Eq("state", UploadState.OPEN.value), Range("expires_at", lte=to_iso(now)))
        )
    ]
    for record in overdue:
        upload_id = str(record["id"])
        await blobs.append_abort(target_of_record(record)[1])
        try:
            await records.update(
                UPLOADS, upload_id, {"state": UploadState.EXPIRED.value}, int(record["version"])
            )
        except (StaleVersion, NotFound):
            continue  # touched meanwhile (a PATCH refreshed it, or it was terminated)
        report.expired += 1
    horizon = to_iso(now - timedelta(days=keep_days))
    closed = (UploadState.DONE.value, UploadState.FAILED.value, UploadState.EXPIRED.value)
    old = [
        r
        async for r in records.scan(
            UPLOADS, (In("state", closed), Range("expires_at", lte=horizon))
        )
    ]
    for record in old:
        try:
            await records.delete(UPLOADS, str(record["id"]), int(record["version"]))
        except (StaleVersion, NotFound):
            continue
        report.purged += 1
    handles = [h async for h in blobs.append_handles()]
    for handle in handles:
        owner = await records.get(UPLOADS, upload_id_of(handle))
        if owner is None or owner["state"] != UploadState.OPEN:
            await blobs.append_abort(handle)
            report.orphans += 1
    if report.expired or report.purged or report.orphans:
        log.info("upload sweep: %s", report)
    return report
