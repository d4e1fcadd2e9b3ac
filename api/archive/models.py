"""The archive's records: a folder tree of nodes per work, and content-addressed blobs.

Collections
- ``nodes``: one record per folder or file of a work. Top-level nodes have ``parent_id`` equal
  to the work id (the work is the root folder). ``path`` is ``/A/B/name`` and unique per work.
  Files point at content by ``sha256`` (a ``blobs`` record), so identical content is stored once.
- ``blobs``: one record per (scope, SHA-256): ``id`` = ``<scope>:<sha256>`` (``blob_id``),
  ``scope``, ``sha256``; ``key`` = where the object lives in the blob store (under
  ``s/<scope>/objects/``); ``refs`` = how many records point at it. At zero the object is
  deleted after commit. Content is deduplicated within a scope, never across scopes.
- A file node names its scope (``scope``; ``wa-<work>`` unless it is a collaboration document,
  ``node_scope``). Derived artefacts of a content (extracted text, thumbnail) live under the
  scope too (``s/<scope>/derived/<xx>/<sha256>/...``), so identical files of a scope are
  extracted once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from api.errors import ValidationFailed
from api.kit.text import has_bidi_controls, strip_bidi
from indexer.documents import normalize
from storage.ports import IndexSpec

NODES = "nodes"
BLOBS = "blobs"
UPLOADS = "uploads"


class NodeKind(StrEnum):
    FOLDER = "folder"
    FILE = "file"


class IngestState(StrEnum):
    """A file's way through the ingest pipeline, visible through the API."""

    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


NODE_INDEXES = [
    IndexSpec((("work_id", 1), ("path", 1)), unique=True),
    # Folder listings: folders first (kind desc), then by name / date / size / type.
    IndexSpec((("parent_id", 1), ("kind", -1), ("sort_name", 1), ("id", 1))),
    IndexSpec((("parent_id", 1), ("kind", -1), ("updated_at", 1), ("id", 1))),
    IndexSpec((("parent_id", 1), ("kind", -1), ("size", 1), ("id", 1))),
    IndexSpec((("parent_id", 1), ("kind", -1), ("content_type", 1), ("id", 1))),
    # Descending listings keep folders first, so they cannot walk the ones above backwards
    # (that would put files first): each sort has its own descending index.
    IndexSpec((("parent_id", 1), ("kind", -1), ("sort_name", -1), ("id", -1))),
    IndexSpec((("parent_id", 1), ("kind", -1), ("updated_at", -1), ("id", -1))),
    IndexSpec((("parent_id", 1), ("kind", -1), ("size", -1), ("id", -1))),
    IndexSpec((("parent_id", 1), ("kind", -1), ("content_type", -1), ("id", -1))),
    IndexSpec((("sha256", 1),)),
    # Metadata tree "by document class": one group's files by name.
    IndexSpec((("work_id", 1), ("kind", 1), ("meta.doc_class", 1), ("sort_name", 1), ("id", 1))),
    IndexSpec((("work_id", 1), ("ingest.state", 1))),
    # Recovery of files left processing / queued by a crash (api.archive.recovery).
    IndexSpec((("ingest.state", 1), ("ingest.started_at", 1))),
    IndexSpec((("ingest.state", 1), ("updated_at", 1))),
]
# Content records are read by id (``<scope>:<sha256>``); no index on ``scope`` or ``sha256``:
# each one costs every insert of the bulk import (bench.bench_import).
BLOB_INDEXES = [IndexSpec((("refs", 1),)), IndexSpec((("key", 1),))]

MAX_NAME = 255
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f/\\]")


def clean_name(name: str) -> str:
    """A file or folder name as stored: NFC, no slash, backslash, NUL or control characters,
    no bidirectional formatting characters, not ``.``/``..``, at most 255 characters.
    Errors are Japanese: the UI shows them."""
    value = unicodedata.normalize("NFC", name).strip()
    if not value or value in (".", ".."):
        raise ValidationFailed(f"ファイル名またはフォルダ名が正しくありません: {name!r}")
    if _FORBIDDEN.search(value):
        raise ValidationFailed(
            "ファイル名に使えない文字（/ \\ や制御文字）が含まれています。", name=value[:80]
        )
    if has_bidi_controls(value):
        # "請求書\u202Efdp.exe" displays as "請求書exe.pdf" (issue 7 item 12).
        raise ValidationFailed(
            "ファイル名に文字の表示方向を変える制御文字（U+202E など）は使えません。",
            name=strip_bidi(value)[:80],
        )
    if len(value) > MAX_NAME:
        raise ValidationFailed(
            f"ファイル名が長すぎます（{len(value)}文字、上限{MAX_NAME}文字）。", name=value[:80]
        )
    return value


def split_path(path: str) -> list[str]:
    """``"A/B/c.pdf"`` or ``"/A/B"`` into cleaned parts; empty for the root."""
    return [clean_name(part) for part in path.replace("\\", "/").split("/") if part not in ("",)]


def join_path(parts: list[str]) -> str:
    return "/" + "/".join(parts)


def sort_name(name: str) -> str:
    """The key for "sort by name": normalised (width, case, kana) so listings read naturally."""
    return normalize(name)


def blob_id(scope: str, sha256: str) -> str:
    """The ``blobs`` record of content ``sha256`` in ``scope``."""
    return f"{scope}:{sha256}"


def derived_key(scope: str, sha256: str, name: str) -> str:
    """Where a derived file (``text.json``, ``thumb.jpg``, ``as.pdf``) of content ``sha256`` of
    ``scope`` lives: under the scope, sealed and erased with it."""
    return f"s/{scope}/derived/{sha256[:2]}/{sha256}/{name}"


def content_scope(record: Mapping[str, Any]) -> str:
    """The scope of the content a file node or an attachment points at: recorded on it
    (``scope``). Records written before scopes existed (until ``kura migrate encrypt``): a
    node is its work's archive deliverable (``wa-``), an attachment its work's collaboration
    data (``wc-``) or its organization's own file (``o-``)."""
    if record.get("scope"):
        return str(record["scope"])
    if record.get("work_id"):
        kind = "wa" if "path" in record else "wc"
        return f"{kind}-{record['work_id']}"
    return f"o-{record.get('org_id') or ''}"


node_scope = content_scope
