"""Login throttling beside the per-account lockout (seed 001 別表3: unauthorised access).

Two counters live in collection ``login_throttle`` so every API process shares them:
- per client IP: after ``IP_LIMIT`` failures within ``WINDOW`` the IP gets 429 until the
  window ends, whatever login ID it tries (slows password spraying across many IDs);
- per unknown login ID: counts like a real account's lockout, so that "locked" never
  reveals whether an ID exists (same answer for unknown ID and wrong password).
Keys are SHA-256 hashes: the collection holds no addresses or typed IDs in clear.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.kit.clock import from_iso, to_iso
from storage.errors import DuplicateKey, StaleVersion
from storage.ports import RecordStore

COLLECTION = "login_throttle"
IP_LIMIT = 30
WINDOW = timedelta(minutes=15)


def _key(kind: str, value: str) -> str:
    return f"{kind}:" + hashlib.sha256(value.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Limits:
    ip_limit: int = IP_LIMIT
    window: timedelta = WINDOW


class LoginThrottle:
    def __init__(self, records: RecordStore, limits: Limits | None = None) -> None:
        self.records = records
        self.limits = limits or Limits()

    async def ip_blocked(self, ip: str | None, now: datetime) -> bool:
        if not ip:
            return False
        record = await self.records.get(COLLECTION, _key("ip", ip))
        if record is None or from_iso(record["window_end"]) <= now:
            return False
        return int(record["count"]) >= self.limits.ip_limit

    async def ip_failed(self, ip: str | None, now: datetime) -> None:
        if ip:
            await self._bump(_key("ip", ip), now, self.limits.window)

    async def unknown_locked(self, login_key: str, now: datetime) -> bool:
        record = await self.records.get(COLLECTION, _key("id", login_key))
        return bool(
            record and record.get("locked_until") and from_iso(record["locked_until"]) > now
        )

    async def unknown_failed(
        self, login_key: str, now: datetime, threshold: int, lock_for: timedelta
    ) -> bool:
        """Count a failure for an unknown ID; True when this failure locks it."""
        record = await self._bump(_key("id", login_key), now, lock_for * 4)
        if int(record["count"]) >= threshold and "version" in record:
            await self._set(record, {"count": 0, "locked_until": to_iso(now + lock_for)})
            return True
        return False

    async def _bump(self, key: str, now: datetime, window: timedelta) -> dict[str, Any]:
        for _ in range(5):
            record = await self.records.get(COLLECTION, key)
            if record is None:
                fresh = {"id": key, "count": 1, "window_end": to_iso(now + window)}
                try:
                    return await self.records.insert(COLLECTION, fresh)
                except DuplicateKey:
                    continue
            if from_iso(record["window_end"]) <= now:
                changes: dict[str, Any] = {"count": 1, "window_end": to_iso(now + window)}
            else:
                changes = {"count": int(record["count"]) + 1}
            try:
                return await self.records.update(COLLECTION, key, changes, int(record["version"]))
            except StaleVersion:
                continue
        return {"id": key, "count": 0, "window_end": to_iso(now)}

    async def _set(self, record: dict[str, Any], changes: dict[str, Any]) -> None:
        with contextlib.suppress(StaleVersion):
            await self.records.update(COLLECTION, record["id"], changes, int(record["version"]))
