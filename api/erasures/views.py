"""What the operators' erasure page reads of a scope (house style: people see names, never
ids): the owner's name and the part of it the scope holds, the orderer for a work, the key's
state, the plan or the erasure with its counts, and who planned or erased it by name.

The name a person calls a scope (``label``) is also what the operator types to confirm an
erasure by hand (``confirms``): the scope's displayed name, compared after NFKC and without
spaces, so full-width and half-width parentheses count alike and spacing does not matter.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

from api.erasures.service import AGREEMENT, MANUAL, RETENTION, label
from api.keys import scopes
from api.keys.erasure import DONE, UNFINISHED, ensure_erasable
from api.keys.ring import KEY_SCOPES
from api.works.lifecycle import LegalHoldActive
from api.works.models import WORKS
from storage.query import Record

if TYPE_CHECKING:
    from api.container import Container

PARTS = {scopes.COLLAB: "collab", scopes.ARCHIVE: "archive", scopes.ORG: "org"}
SOURCES = (AGREEMENT, RETENTION, MANUAL)
_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def confirms(typed: str, scope: str, shown: str) -> bool:
    """Whether ``typed`` repeats the scope's displayed name (or, for scripts, the scope)."""
    value = _fold(typed)
    return bool(value) and value in (_fold(shown), scope)


async def _actor(container: Container, by: object) -> dict[str, str] | None:
    """``user:<id>`` → the user's name; ``operator:<name>`` (the CLI's ``--by``) → the name;
    ``system:*`` → the scheduled job."""
    text = str(by or "")
    if not text:
        return None
    kind, _, rest = text.partition(":")
    if kind == "user":
        user = await container.records.get("users", rest)
        return {"kind": "user", "name": str((user or {}).get("name") or "")}
    if kind == "operator":
        return {"kind": "operator", "name": rest}
    return {"kind": "system", "name": ""}


async def _owner(container: Container, scope: str) -> dict[str, Any]:
    kind, owner = scopes.parse(scope)
    if kind == scopes.ORG:
        org = await container.records.get("organizations", owner)
        return {"org_id": owner, "org_name": (org or {}).get("name"), "work": None}
    work = await container.records.get(WORKS, owner)
    orderer = None
    if work is not None and work.get("orderer_org_id"):
        orderer = await container.records.get("organizations", str(work["orderer_org_id"]))
    return {
        "org_id": (work or {}).get("orderer_org_id"),
        "org_name": (orderer or {}).get("name"),
        "work": None
        if work is None
        else {
            "id": work["id"],
            "title": work.get("title"),
            "number": work.get("number"),
            "kind": work.get("kind"),
            "status": work.get("status"),
            "legal_hold": bool(work.get("legal_hold")),
        },
    }


async def view(
    container: Container, scope: str, record: Record | None, *, detail: bool = False
) -> dict[str, Any]:
    """One scope as the page shows it; ``detail`` adds the key's record and the legal hold
    that would refuse an erasure now (checked, not assumed)."""
    destroyed = await container.keys.destroyed(scope)
    erasure = dict(record) if record is not None else None
    state = (record or {}).get("state") or ("done" if destroyed else "none")
    kind, _ = scopes.parse(scope)
    out: dict[str, Any] = {
        "scope": scope,
        "label": await label(container, scope),
        "part": PARTS[kind],
        **await _owner(container, scope),
        "state": state,
        "key_destroyed_at": (destroyed or {}).get("destroyed_at"),
        "erasure": erasure,
    }
    if erasure is not None:
        counts = {str(k): int(v) for k, v in (erasure.get("records") or {}).items()}
        erasure["records_total"] = sum(counts.values())
        erasure["by_actor"] = await _actor(container, erasure.get("by"))
        erasure["scheduled_by_actor"] = await _actor(container, erasure.get("scheduled_by"))
    if detail:
        key = await container.keys.store.get(KEY_SCOPES, scope)
        out["key"] = {
            "state": "destroyed" if destroyed else ("active" if key else "none"),
            "created_at": (key or {}).get("created_at"),
            "destroyed_at": (destroyed or {}).get("destroyed_at"),
            "destroyed_by": await _actor(container, (destroyed or {}).get("destroyed_by")),
            "keys": len((destroyed or {}).get("destroyed_keys") or ()),
        }
        hold = None
        if state not in (DONE, *UNFINISHED):
            try:
                await ensure_erasable(container, scope)
            except LegalHoldActive as held:
                hold = held.detail
        out["legal_hold"] = hold
        out["job"] = await _job(container, record)
    return out


async def _job(container: Container, record: Record | None) -> dict[str, Any] | None:
    """The job running an erasure's last steps (``erasures.finish``: an erasure by hand
    through the API), with its state and restarts: the erasure's progress besides its state."""
    job_id = (record or {}).get("job_id")
    if not job_id:
        return None
    from api.jobs.models import JOBS

    job = await container.records.get(JOBS, str(job_id))
    if job is None:  # finished jobs are purged after their retention
        done = record is not None and record.get("state") == DONE
        return {"id": job_id, "state": "done" if done else None, "restarts": 0, "error": None}
    return {
        "id": job_id,
        "state": job.get("state"),
        "restarts": int(job.get("restarts") or 0),
        "error": job.get("last_error"),
    }
