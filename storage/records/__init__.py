"""Record store adapters: ``sqlite`` (embedded default) and ``mongo`` (PyMongo async API).

Import the adapter module you need; ``api.container`` loads them lazily by path so the
embedded default never imports pymongo. The helpers here are shared by both adapters.
"""

from __future__ import annotations

import hashlib
import json
import re

from storage.ports import IndexSpec
from storage.query import Direction, Page, Record, encode_cursor

COLLECTION_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_RESERVED_PREFIXES = ("sqlite_", "_kura", "system")


def check_collection(name: str) -> str:
    """Collection names become table names, so only ``[a-z_][a-z0-9_]*`` is accepted
    (and not the engines' reserved prefixes ``sqlite_``, ``system``, nor ``_kura``)."""
    if not COLLECTION_RE.match(name) or name.startswith(_RESERVED_PREFIXES):
        raise ValueError(f"invalid collection name: {name!r}")
    return name


def index_name(collection: str, spec: IndexSpec) -> str:
    """A stable index name: readable slug plus a digest of the exact spec."""
    raw = json.dumps([list(spec.fields), spec.unique])
    digest = hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:8]
    slug = "_".join(f.replace(".", "_") for f, _ in spec.fields)[:40]
    return f"ix_{collection}__{slug}_{digest}"


def page_of(items: list[Record], limit: int, sort: tuple[tuple[str, Direction], ...]) -> Page:
    """A keyset page from up to ``limit + 1`` records read in ``sort`` order: the extra one,
    when present, only tells that more follow (the cursor points after the page's last)."""
    if len(items) <= limit:
        return Page(items=items)
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1], sort))
