"""The key-encryption key (KEK) in a keyring file outside the data folder (issue 12 §1).

Data keys (one per scope, ``api.keys.scopes``) are stored only wrapped by the KEK, apart from
the records (``api.keys.ring``). The KEK lives in this file (path in ``Settings.keys``; by
default ``<data_dir>.keyring`` beside the data folder, so a copy of the data folder, a record
dump or a backup generation of data never carries it). JSON, mode 0600::

    {"format": "kura-keyring/1",
     "keks": [{"id": "<16 hex>", "secret": "<base64 of 32 bytes>", "created": "<ISO>"}]}

The last KEK wraps new data keys; earlier ones (after a rotation) only unwrap. The file is
created on the first start when missing (``create_keyring``). A file that others may read or
write, cannot be read, or is malformed, is a ``KeyringError`` naming the path and the fix; a
process refuses to start with it (issue 12, bad input: "a keyring readable by others").
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from api.kit.secretfile import read_secret_file

FORMAT = "kura-keyring/1"
SECRET_BYTES = 32


class KeyringError(Exception):
    """The keyring is missing, exposed, unreadable, malformed or not the one the data keys
    were wrapped with: a configuration error, never a silent fallback."""


def kek_id_of(secret: bytes) -> str:
    """A KEK's public name: 16 hex characters of a SHA-256 of the secret (reveals nothing)."""
    return hashlib.sha256(b"kura-kek-id\0" + secret).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    path: Path
    keks: dict[str, bytes]
    current_id: str

    def kek(self, kek_id: str) -> bytes:
        secret = self.keks.get(kek_id)
        if secret is None:
            raise KeyringError(
                f"keyring {self.path}: has no key {kek_id} (a data key was wrapped by another "
                "keyring); point KURA_KEYS__KEYRING_FILE at the keyring of this deployment or "
                "restore it from the key backup"
            )
        return secret

    def __repr__(self) -> str:  # never print a secret
        return f"Keyring({self.path}, keks={sorted(self.keks)})"


def _fail(path: Path, problem: str, fix: str) -> KeyringError:
    return KeyringError(f"keyring {path}: {problem}; {fix}")


def read_keyring(path: Path) -> Keyring:
    """Load the keyring; ``FileNotFoundError`` when absent, ``KeyringError`` when exposed,
    unreadable or malformed."""
    raw = read_secret_file(
        path,
        setting="KURA_KEYS__KEYRING_FILE",
        name="the keyring",
        holds="the key that wraps every data key",
        fail=_fail,
    )
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        entries = data["keks"]
        if not isinstance(entries, list) or not entries:
            raise ValueError("no keys")
        keks: dict[str, bytes] = {}
        last = ""
        for entry in entries:
            secret = base64.b64decode(str(entry["secret"]), validate=True)
            if len(secret) != SECRET_BYTES:
                raise ValueError(f"a key is not {SECRET_BYTES} bytes")
            last = kek_id_of(secret)
            if entry.get("id", last) != last:
                raise ValueError(f"key id {entry.get('id')} does not belong to its secret")
            keks[last] = secret
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(path, f"malformed ({exc})", "restore it from the key backup") from exc
    return Keyring(path, keks, last)


def _entry() -> dict[str, str]:
    secret = secrets.token_bytes(SECRET_BYTES)
    return {
        "id": kek_id_of(secret),
        "secret": base64.b64encode(secret).decode(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _write(path: Path, data: dict[str, object], *, replace: bool) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(data, indent=1).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            with contextlib.suppress(FileExistsError):  # another process won: load its file
                os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def load_keyring(path: Path, *, create: bool) -> Keyring:
    """The keyring at ``path``, created (0600, one new KEK) when missing and ``create``."""
    try:
        return read_keyring(path)
    except FileNotFoundError:
        if not create:
            raise _fail(
                path,
                "does not exist",
                "restore it from the key backup (without it no stored object can be read)",
            ) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, {"format": FORMAT, "keks": [_entry()]}, replace=False)
    except OSError as exc:
        raise _fail(
            path,
            f"cannot be created ({exc.strerror or exc})",
            "set KURA_KEYS__KEYRING_FILE to a writable path outside the data folder",
        ) from exc
    return read_keyring(path)


def rotate_keyring(path: Path) -> Keyring:
    """Add a new KEK that wraps data keys made from now on; older ones keep unwrapping."""
    read_keyring(path)
    data = json.loads(path.read_bytes())
    data["keks"].append(_entry())
    _write(path, data, replace=True)
    return read_keyring(path)
