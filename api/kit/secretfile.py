"""Reading and writing a file that holds a secret (the audit key file, the keyring): it must
be a regular file that neither group nor others may access, readable by the service user.
Each caller raises its own error type through ``fail(path, problem, fix)``."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any


def read_secret_file(
    path: Path,
    *,
    setting: str,
    name: str,
    holds: str,
    fail: Callable[[Path, str, str], Exception],
) -> bytes:
    """The file's bytes; ``FileNotFoundError`` when absent (the caller may create it), else
    ``fail(...)`` when it is not a regular file, is exposed (mode & 077) or cannot be read.
    ``setting`` names the variable that points at it, ``name`` the file, ``holds`` what it
    holds (the messages name them)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise fail(path, "not a regular file", f"point {setting} at {name}")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise fail(
            path,
            f"group or others may access it (mode {mode:04o})",
            f"run `chmod 600 {path}` (it holds {holds})",
        )
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise fail(path, "cannot be read by this user", "make the service user its owner") from exc


def write_secret_temp(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as JSON to a fresh 0600 file beside ``path`` (fsynced) and return its
    name; the caller links or renames it into place, then calls ``sync_parent``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(data, indent=1).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def sync_parent(path: Path) -> None:
    """Make a rename or link to ``path`` durable: fsync its folder (best effort: a filesystem
    that cannot fsync a folder is left as it is)."""
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
