"""Key guesses rate-limited per user and per bond (issue 11 §2).

Every failed presentation appends one record to ``bond_attempts`` per counter it counts
against (the user's, and the bond's), shared by every API process: ``{id, key, at}``. A
counter is blocked while it holds ``limit`` attempts within the window
(``KURA_BONDS__ATTEMPT_WINDOW_MINUTES``); then the user (or every user, for that bond) gets
429 until the oldest attempt leaves the window. Keys are SHA-256 hashes, as in
``api.auth.throttle``.

Append-only on purpose: a guess at an unknown bond id and a guess at a known bond's secret
cost the same write (an insert), where a counter record would be inserted for the one and
updated for the other, a difference in time that says whether the bond exists
(bench/bench_bonds.py measures the two). ``bonds.sweep_attempts`` (beat, hourly) deletes
attempts older than the window.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from api.bonds.models import ATTEMPTS
from api.kit.clock import to_iso
from api.kit.ids import new_id
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query, Range

INDEXES = (IndexSpec((("key", 1), ("at", 1))), IndexSpec((("at", 1),)))


def _key(kind: str, value: str) -> str:
    return f"{kind}:" + hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()[:40]


class KeyThrottle:
    def __init__(
        self, records: RecordStore, per_user: int, per_bond: int, window: timedelta
    ) -> None:
        self.records = records
        self.limits = {"user": per_user, "bond": per_bond}
        self.window = window

    async def blocked(self, kind: str, value: str, now: datetime) -> bool:
        recent = await self.records.count(
            ATTEMPTS,
            (Eq("key", _key(kind, value)), Range("at", gt=to_iso(now - self.window))),
        )
        return recent >= self.limits[kind]

    async def failed(self, kind: str, value: str, now: datetime) -> None:
        await self.records.insert(
            ATTEMPTS, {"id": new_id(), "key": _key(kind, value), "at": to_iso(now)}
        )

    async def sweep(self, now: datetime) -> int:
        """Delete the attempts that left the window; returns how many."""
        gone = 0
        while True:
            page = await self.records.find(
                ATTEMPTS,
                Query(where=(Range("at", lte=to_iso(now - self.window)),), limit=500),
            )
            for item in page.items:
                await self.records.delete(ATTEMPTS, item["id"], None)
            gone += len(page.items)
            if len(page.items) < 500:
                return gone
