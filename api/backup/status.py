"""What the operators' page shows of the backups (issue 12 §3; seed 001 別表3 8, 10): the
complete generations of the data and of the keys, each with its date, kind (the first one
full, then incremental), objects and bytes, the age of the newest one, the retention policy,
and the key-encryption key (where it lives, since when, how many older ones still unwrap).

Read-only: backups run from cron or by hand with ``kura backup`` (docs/operations.md). The
target is listed without being opened (as ``api.ops.watch`` does: a look must not create the
folder or the bucket it watches). A generation's counts come from its ``summary.json``
(written by ``kura backup`` since this page exists); for an older generation they are read
from its manifest once per process (generations never change once complete).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api.backup.generations import (
    GEN_FORMAT,
    SUMMARY,
    BackupError,
    Target,
    generations,
    read_manifest,
)
from api.backup.stores import BackupStore
from api.keys.ring import KEY_SCOPES
from api.kit.clock import to_iso
from storage.errors import StorageError

if TYPE_CHECKING:
    from api.container import Container

log = logging.getLogger("kura.backup")

# (store, generation) → its figures; a complete generation never changes.
_SEEN: dict[tuple[str, str], dict[str, Any]] = {}
_SEEN_MAX = 512


def created_of(gen: str) -> datetime | None:
    try:
        return datetime.strptime(gen[:16], GEN_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


async def _figures(store: BackupStore, gen: str) -> dict[str, Any]:
    key = (store.describe(), gen)
    if key in _SEEN:
        return _SEEN[key]
    try:
        summary: dict[str, Any] = json.loads(await store.read_bytes(f"generations/{gen}/{SUMMARY}"))
        figures = {
            "kind": summary.get("kind"),
            "objects": summary.get("objects"),
            "bytes": summary.get("bytes"),
            "copied_bytes": summary.get("copied_bytes"),
            "records": summary.get("records"),
            "damaged": False,
        }
    except (FileNotFoundError, ValueError):
        try:
            manifest = await read_manifest(store, gen)
        except BackupError:
            return {"damaged": True}  # not cached: a repaired target shows it again
        objects = manifest.get("objects") or []
        figures = {
            "kind": "incremental" if manifest.get("previous") else "full",
            "objects": len(objects),
            "bytes": sum(int(e.get("size") or 0) for e in objects),
            "copied_bytes": None,
            "records": bool((manifest.get("records") or {}).get("file")),
            "damaged": False,
        }
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
    _SEEN[key] = figures
    return figures


async def backups(container: Container) -> dict[str, Any]:
    """The backups as the page shows them (see the module docstring)."""
    settings = container.settings
    b = settings.backup
    now = container.clock.now()
    out: dict[str, Any] = {
        "configured": b.target is not None or bool(b.s3_bucket),
        "target": None,
        "keys_target": None,
        "records_backend": settings.records.backend,
        "policy": {
            "keep_last": b.keep_last,
            "keep_daily": b.keep_daily,
            "keep_weekly": b.keep_weekly,
            "keep_monthly": b.keep_monthly,
            "keep_keys": b.keep_keys,
        },
        "generations": [],
        "key_generations": [],
        "newest_at": None,
        "newest_age_s": None,
        "error": None,
        "keys": await keys(container),
    }
    if not out["configured"]:
        return out
    try:
        target = Target.of(settings)
    except BackupError as exc:
        out["error"] = str(exc)
        return out
    out["target"] = target.data.describe()
    out["keys_target"] = target.keys.describe()
    try:
        data = await generations(target.data)
        key_gens = await generations(target.keys)
        rows = []
        for gen in reversed(data):
            created = created_of(gen)
            rows.append(
                {
                    "name": gen,
                    "created_at": to_iso(created) if created else None,
                    **await _figures(target.data, gen),
                }
            )
    except (OSError, StorageError) as exc:
        log.warning("backup generations not listed: %s", exc)
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return out
    finally:
        await target.close()
    out["generations"] = rows
    out["key_generations"] = [
        {"name": g, "created_at": to_iso(c) if (c := created_of(g)) else None}
        for g in reversed(key_gens)
    ]
    newest = created_of(data[-1]) if data else None
    if newest is not None:
        out["newest_at"] = to_iso(newest)
        out["newest_age_s"] = max(0.0, (now - newest).total_seconds())
    return out


async def keys(container: Container) -> dict[str, Any]:
    """The key-encryption key (adapter, where, current id, since when) and the data keys'
    scopes (active, destroyed)."""
    settings = container.settings
    port = container.keys.port
    try:
        created = port.created()
        ids = port.ids()
        current = port.current_id()
    except Exception as exc:  # an HSM that stopped answering: the page says so
        log.warning("the KEK could not be read: %s", exc)
        created, ids, current = None, [], None
    active = destroyed = 0
    async for record in container.keys.store.scan(KEY_SCOPES):
        if record.get("destroyed_at"):
            destroyed += 1
        else:
            active += 1
    return {
        "kek": port.name,
        "where": port.where(),
        "current_id": current,
        "count": len(ids),
        "created_at": to_iso(created) if created else None,
        "age_s": (container.clock.now() - created).total_seconds() if created else None,
        "encryption": settings.keys.encryption,
        "scopes_active": active,
        "scopes_destroyed": destroyed,
    }
