"""The audit chain's HMAC keys, kept in a key file outside the data folder (issue 7 item 6).

Whoever can write the records store could otherwise rebuild a plain SHA-256 chain after an
edit. Each event's hash is therefore an HMAC-SHA256 under a secret that lives only in the key
file (path in ``Settings.audit``; by default ``<data_dir>.audit-key`` beside the data folder,
so a copy of the data folder or a database dump never carries it). The file is JSON, 0600::

    {"format": "kura-audit-keys/1",
     "keys": [{"id": "<16 hex>", "secret": "<base64 of 32 bytes>", "created": "<ISO>"}],
     "legacy": {"until": 0, "hash": "<hash of event `until`, or 64 zeros>"}}

The last key signs; earlier ones (after a rotation) only verify. ``legacy`` pins the chain as
it was when the file was created: events up to ``until`` were written before keyed hashing
(plain SHA-256) and are accepted unkeyed; event ``until`` must still have the recorded hash,
and every later event must be keyed.

The file is created on the first start when missing (``create_key``). A file that others may
read or write, or that cannot be read, or that is malformed, is a ``AuditKeyError`` naming
the path and the fix; a process refuses to start with it.

The ``Container`` binds its key file to its record store (``bind_key_file``), so every
``AuditLog(records, clock)`` in the code base signs with the deployment's key without each
service carrying the key around.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.kit.secretfile import read_secret_file, sync_parent, write_secret_temp

FORMAT = "kura-audit-keys/1"
SECRET_BYTES = 32
GENESIS = "0" * 64


class AuditKeyError(Exception):
    """The key file is missing, exposed, unreadable or malformed: a configuration error."""


def key_id_of(secret: bytes) -> str:
    """A key's public name: 16 hex characters of a SHA-256 of the secret (reveals nothing)."""
    return hashlib.sha256(b"kura-audit-key-id\0" + secret).hexdigest()[:16]


def canonical(body: Mapping[str, Any]) -> bytes:
    """The bytes an event or checkpoint is hashed over: sorted keys, no white space."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class AuditKeys:
    """The loaded key file: secrets by key id, the signing key, the legacy boundary."""

    path: Path
    secrets: Mapping[str, bytes]
    signing_id: str
    legacy_until: int
    legacy_hash: str

    def mac(self, key_id: str, domain: str, body: Mapping[str, Any]) -> str | None:
        """HMAC-SHA256 of ``body`` under key ``key_id`` (None when the file lacks it). The
        domain (``"event"``, ``"checkpoint"``) keeps one kind of signature from passing as
        the other."""
        secret = self.secrets.get(key_id)
        if secret is None:
            return None
        message = f"kura-audit-{domain}\n".encode() + canonical(body)
        return hmac.new(secret, message, hashlib.sha256).hexdigest()

    def sign(self, domain: str, body: Mapping[str, Any]) -> str:
        """HMAC-SHA256 of ``body`` under the signing key."""
        message = f"kura-audit-{domain}\n".encode() + canonical(body)
        return hmac.new(self.secrets[self.signing_id], message, hashlib.sha256).hexdigest()


def _fail(path: Path, problem: str, fix: str) -> AuditKeyError:
    return AuditKeyError(f"audit key file {path}: {problem}; {fix}")


def _parse(path: Path, raw: bytes) -> AuditKeys:
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        entries = data["keys"]
        if not isinstance(entries, list) or not entries:
            raise ValueError("no keys")
        found: dict[str, bytes] = {}
        last = ""
        for entry in entries:
            secret = base64.b64decode(str(entry["secret"]), validate=True)
            if len(secret) < SECRET_BYTES:
                raise ValueError(f"a secret is shorter than {SECRET_BYTES} bytes")
            last = key_id_of(secret)
            if entry.get("id", last) != last:
                raise ValueError(f"key id {entry.get('id')} does not belong to its secret")
            found[last] = secret
        legacy = data["legacy"]
        until, legacy_hash = int(legacy["until"]), str(legacy["hash"])
        if until < 0 or len(legacy_hash) != 64:
            raise ValueError("legacy boundary is invalid")
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(path, f"malformed ({exc})", "restore it from the key backup") from exc
    return AuditKeys(path, found, last, until, legacy_hash)


def read_keys(path: Path) -> AuditKeys:
    """Load the key file; ``FileNotFoundError`` when absent, ``AuditKeyError`` when exposed,
    unreadable or malformed."""
    raw = read_secret_file(  # FileNotFoundError propagates: the caller may create the file
        path,
        setting="KURA_AUDIT__KEY_FILE",
        name="the key file",
        holds="the secret that seals the audit trail",
        fail=_fail,
    )
    return _parse(path, raw)


def _new_entry() -> dict[str, str]:
    secret = secrets.token_bytes(SECRET_BYTES)
    return {
        "id": key_id_of(secret),
        "secret": base64.b64encode(secret).decode(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def create_keys(path: Path, legacy_until: int, legacy_hash: str) -> AuditKeys:
    """Create the key file with one new key, atomically and 0600. When another process won
    the race its file is loaded instead (both then sign with the same key)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "format": FORMAT,
            "keys": [_new_entry()],
            "legacy": {"until": legacy_until, "hash": legacy_hash},
        }
        tmp = write_secret_temp(path, data)
        try:
            os.link(tmp, path)  # fails if the file appeared meanwhile: never overwrite a key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        sync_parent(path)
    except OSError as exc:
        raise _fail(
            path,
            f"cannot be created ({exc.strerror or exc})",
            "set KURA_AUDIT__KEY_FILE to a writable path outside the data folder",
        ) from exc
    return read_keys(path)


def rotate_keys(path: Path) -> AuditKeys:
    """Add a new signing key; the earlier keys stay to verify the events they signed.
    Running processes keep signing with the key they loaded until they restart."""
    read_keys(path)  # refuse to rotate an exposed or malformed file
    data = json.loads(path.read_bytes())
    data["keys"].append(_new_entry())
    tmp = write_secret_temp(path, data)
    os.replace(tmp, path)
    sync_parent(path)
    return read_keys(path)


class KeyFile:
    """One deployment's key file, read once per process on first use."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        self.create = create
        self._keys: AuditKeys | None = None

    async def load(self, legacy_head: Callable[[], Awaitable[tuple[int, str]]]) -> AuditKeys:
        """The keys; on the first start (no file) a new key whose legacy boundary is the
        chain's current head (``legacy_head()``: seq and hash of the newest event)."""
        if self._keys is None:
            try:
                self._keys = await asyncio.to_thread(read_keys, self.path)
            except FileNotFoundError:
                if not self.create:
                    raise _fail(
                        self.path,
                        "missing and KURA_AUDIT__CREATE_KEY is false",
                        "install the deployment's key file there",
                    ) from None
                seq, hash_ = await legacy_head()
                self._keys = await asyncio.to_thread(create_keys, self.path, seq, hash_)
        return self._keys

    def forget(self) -> None:
        """Read the file again on next use (after a rotation in this process)."""
        self._keys = None


# The key file of each record store, bound by the Container that built the store.
_BOUND: weakref.WeakKeyDictionary[object, KeyFile] = weakref.WeakKeyDictionary()


def bind_key_file(records: object, key_file: KeyFile) -> None:
    """Make ``key_file`` the audit key of every ``AuditLog`` over ``records``."""
    _BOUND[records] = key_file


def bound_key_file(records: object) -> KeyFile | None:
    """The key file bound to ``records``, if any."""
    return _BOUND.get(records)
