"""Scopes: the units that own a data key and are erased as one (issue 12 §1).

    wc-<work id>   a work's collaboration data (its documents during the work, attachments of
                   posts and proposals, generated packages): erased after the hand-over
                   (seed 001 §3-6; seed 003 遵守事項 (3): 引渡し後はデータの消去又は暗号鍵を削除)
    wa-<work id>   a work's archive deliverables (the delivered package in the archive): erased
                   on disposal after retention
    o-<org id>     an organization's own files (bond copies, invoices, qualification papers,
                   attachments that belong to no work): erased when its agreement ends

A scope's name is part of every object key it owns (``s/<scope>/...``) and of every append
handle (``<scope>_<upload id>``), so the blob adapters know the key to seal with from the name
alone and erasure finds every object by prefix. Identical content is stored once per scope and
never shared across scopes, so erasing one scope cannot break another's files.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from api.errors import ValidationFailed

COLLAB = "wc"
ARCHIVE = "wa"
ORG = "o"
KINDS = (COLLAB, ARCHIVE, ORG)
_SCOPE = re.compile(r"(wc|wa|o)-([A-Za-z0-9]{1,40})")
PREFIX = "s/"


def collab(work_id: str) -> str:
    return _make(COLLAB, work_id)


def archive(work_id: str) -> str:
    return _make(ARCHIVE, work_id)


def org(org_id: str) -> str:
    return _make(ORG, org_id)


def _make(kind: str, owner: str) -> str:
    scope = f"{kind}-{owner}"
    if not _SCOPE.fullmatch(scope):
        raise ValidationFailed(f"スコープを作れない識別子です: {owner!r}")
    return scope


def is_scope(value: str) -> bool:
    return bool(_SCOPE.fullmatch(value))


def parse(scope: str) -> tuple[str, str]:
    """(kind, owner id) of a scope name; ``ValueError`` for anything else."""
    match = _SCOPE.fullmatch(scope)
    if match is None:
        raise ValueError(f"not a scope: {scope!r}")
    return match.group(1), match.group(2)


def work_of(scope: str) -> str | None:
    kind, owner = parse(scope)
    return owner if kind in (COLLAB, ARCHIVE) else None


def prefix(scope: str) -> str:
    """Where the scope's objects live in the blob store."""
    return f"{PREFIX}{scope}/"


def scope_of_key(key: str) -> str | None:
    """The scope an object key belongs to, or None (objects outside every scope: audit
    checkpoints, and objects stored before scopes existed until ``kura migrate encrypt``)."""
    if not key.startswith(PREFIX):
        return None
    head = key[len(PREFIX) :].split("/", 1)[0]
    return head if _SCOPE.fullmatch(head) else None


def area_of_key(key: str) -> str | None:
    """What a scoped object is, by the first path segment after its scope (``objects``,
    ``derived``, ``handover``, ...); None outside every scope."""
    scope = scope_of_key(key)
    if scope is None:
        return None
    return key[len(PREFIX) + len(scope) + 1 :].split("/", 1)[0] or None


def in_area(area: str) -> Callable[[str], bool]:
    """A predicate: is a key a scoped object of ``area`` (``kura check``'s ownership)."""

    def owns(key: str) -> bool:
        return area_of_key(key) == area

    return owns


def handle(scope: str, upload_id: str) -> str:
    """The append handle of an upload into ``scope``."""
    return f"{scope}_{upload_id}"


def scope_of_handle(value: str) -> str | None:
    head, sep, _ = value.rpartition("_")
    return head if sep and _SCOPE.fullmatch(head) else None
