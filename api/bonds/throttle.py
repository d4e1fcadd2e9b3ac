"""Key guesses rate-limited per user and per bond (issue 11 §2).

Failed presentations are counted in ``bond_attempts`` (shared by every API process), one
counter per user and one per bond, each within a window (``KURA_BONDS__ATTEMPT_WINDOW_
MINUTES``). Past the limit the user (or every user, for that bond) gets 429 until the window
ends. Keys are SHA-256 hashes, as in ``api.auth.throttle``; a bond id that does not exist
is counted the same way as one that does, so the counters are no oracle either.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from api.bonds.models import ATTEMPTS
from api.kit.clock import from_iso, to_iso
from storage.errors import DuplicateKey, StaleVersion
from storage.ports import RecordStore


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
        record = await self.records.get(ATTEMPTS, _key(kind, value))
        if record is None or from_iso(record["window_end"]) <= now:
            return False
        return int(record["count"]) >= self.limits[kind]

    async def failed(self, kind: str, value: str, now: datetime) -> None:
        key = _key(kind, value)
        for _ in range(5):
            record = await self.records.get(ATTEMPTS, key)
            try:
                if record is None:
                    await self.records.insert(
                        ATTEMPTS, {"id": key, "count": 1, "window_end": to_iso(now + self.window)}
                    )
                elif from_iso(record["window_end"]) <= now:
                    await self.records.update(
                        ATTEMPTS,
                        key,
                        {"count": 1, "window_end": to_iso(now + self.window)},
                        record["version"],
                    )
                else:
                    await self.records.update(
                        ATTEMPTS, key, {"count": int(record["count"]) + 1}, record["version"]
                    )
                return
            except (DuplicateKey, StaleVersion):
                continue
