"""Upload records and the target an upload lands at, parsed from tus ``Upload-Metadata``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from api.archive.models import clean_name, join_path, split_path
from api.errors import ValidationFailed
from storage.ports import IndexSpec

OnConflict = Literal["error", "rename", "replace"]
ON_CONFLICT: tuple[OnConflict, ...] = ("rename", "replace", "error")
MAX_TYPE = 255

UPLOAD_INDEXES = [
    IndexSpec((("state", 1), ("expires_at", 1))),
    IndexSpec((("work_id", 1), ("state", 1))),
]


class UploadState(StrEnum):
    OPEN = "open"  # receiving bytes
    DONE = "done"  # the file node exists
    EXPIRED = "expired"  # swept; answers 410 until purged
    FAILED = "failed"  # the bytes arrived but the file could not be placed


@dataclass(frozen=True)
class Target:
    """Where an upload lands: folder path (``""`` for the work root), name, options."""

    folder: str
    name: str
    filetype: str
    on_conflict: OnConflict
    unpack: bool

    @property
    def path(self) -> str:
        return join_path([*split_path(self.folder), self.name])


def parse_on_conflict(value: str | None) -> OnConflict:
    cleaned = (value or "rename").strip().lower()
    for choice in ON_CONFLICT:
        if cleaned == choice:
            return choice
    raise ValidationFailed(
        f"on_conflict は rename, replace, error のいずれかです: {cleaned[:20]!r}"
    )


def folder_of(folder: str | None, relative_path: str | None = None) -> str:
    """The cleaned folder path from ``folder`` plus the directories of a dropped folder's
    ``relativePath`` (``"現場写真/2024/P001.JPG"`` adds ``現場写真/2024``)."""
    parts = split_path(folder or "")
    if relative_path:
        parts += split_path(relative_path)[:-1]
    return join_path(parts) if parts else ""


def target_of(metadata: dict[str, str]) -> Target:
    """The landing place from tus metadata: ``filename`` (required), ``filetype``, ``folder``,
    ``relativePath`` (or ``relative_path``), ``on_conflict``, ``unpack``."""
    if "filename" not in metadata:
        raise ValidationFailed("Upload-Metadata に filename がありません。")
    name = clean_name(metadata["filename"])
    filetype = metadata.get("filetype", "").strip()
    if len(filetype) > MAX_TYPE or not filetype.isprintable():
        raise ValidationFailed("filetype が正しくありません。")
    relative = metadata.get("relativePath") or metadata.get("relative_path")
    return Target(
        folder=folder_of(metadata.get("folder"), relative),
        name=name,
        filetype=filetype,
        on_conflict=parse_on_conflict(metadata.get("on_conflict")),
        unpack=metadata.get("unpack", "").strip().lower() in ("1", "true", "yes"),
    )


class FileRead(BaseModel):
    """A file node as the multipart upload answers it."""

    id: str
    work_id: str
    name: str
    path: str
    size: int
    sha256: str
    content_type: str
    version: int


class UploadRead(BaseModel):
    """An upload's state (``GET /uploads/{id}`` for UIs; tus clients use HEAD)."""

    id: str
    work_id: str
    name: str
    folder: str
    length: int
    offset: int
    state: UploadState
    expires_at: str | None = None
    created_at: str
    node_id: str | None = None
