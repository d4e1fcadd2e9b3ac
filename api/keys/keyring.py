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

from api.keys.kek import KekError, KekMissing
from api.kit.secretfile import read_secret_file, sync_parent, write_secret_temp
from storage.ports import Health

FORMAT = "kura-keyring/1"
SECRET_BYTES = 32


class KeyringError(KekError):
    """The keyring is missing, exposed, unreadable, malformed or not the one the data keys
    were wrapped with: a configuration error, never a silent fallback."""


class KeyringMissing(KeyringError, KekMissing):
    """No keyring file where the settings point."""


def kek_id_of(secret: bytes) -> str:
    """A KEK's public name: 16 hex characters of a SHA-256 of the secret (reveals nothing)."""
    return hashlib.sha256(b"kura-kek-id\0" + secret).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    path: Path
    keks: dict[str, bytes]
    current_id: str
    created: datetime | None = None

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
        created: datetime | None = None
        for entry in entries:
            secret = base64.b64decode(str(entry["secret"]), validate=True)
            if len(secret) != SECRET_BYTES:
                raise ValueError(f"a key is not {SECRET_BYTES} bytes")
            last = kek_id_of(secret)
            if entry.get("id", last) != last:
                raise ValueError(f"key id {entry.get('id')} does not belong to its secret")
            keks[last] = secret
            created = None
            if entry.get("created"):
                created = datetime.fromisoformat(str(entry["created"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(path, f"malformed ({exc})", "restore it from the key backup") from exc
    return Keyring(path, keks, last, created)


def _entry() -> dict[str, str]:
    secret = secrets.token_bytes(SECRET_BYTES)
    return {
        "id": kek_id_of(secret),
        "secret": base64.b64encode(secret).decode(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _write(path: Path, data: dict[str, object], *, replace: bool) -> None:
    tmp = write_secret_temp(path, data)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            with contextlib.suppress(FileExistsError):  # another process won: load its file
                os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    sync_parent(path)


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


class KeyringKek:
    """The ``Kek`` port on a keyring file (the embedded default): the process wraps data keys
    with AES-256-GCM in memory."""

    name = "keyring"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ring: Keyring | None = None

    def where(self) -> str:
        return f"keyring {self.path}"

    def keyring(self) -> Keyring:
        if self._ring is None:
            self._ring = load_keyring(self.path, create=False)
        return self._ring

    async def open(self, *, create: bool) -> None:
        if not create and not self.path.exists():
            raise KeyringMissing(
                f"keyring {self.path}: does not exist; restore it from the key backup (or "
                "point KURA_KEYS__KEYRING_FILE at it)"
            )
        self._ring = load_keyring(self.path, create=create)

    async def close(self) -> None:
        self._ring = None

    def current_id(self) -> str:
        return self.keyring().current_id

    def ids(self) -> list[str]:
        return list(self.keyring().keks)

    def created(self) -> datetime | None:
        return self.keyring().created

    async def wrap(self, secret: bytes, aad: bytes) -> tuple[str, bytes]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        ring = self.keyring()
        nonce = os.urandom(12)
        return ring.current_id, nonce + AESGCM(ring.kek(ring.current_id)).encrypt(
            nonce, secret, aad
        )

    async def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if kek_id not in self.keyring().keks:
            self._ring = None  # rotated by another process since this one loaded it
        kek = self.keyring().kek(kek_id)
        try:
            return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], aad)
        except InvalidTag:
            raise KeyringError(
                f"keyring {self.path}: a data key does not unwrap with it (wrong keyring, or "
                "the key store was altered)"
            ) from None

    async def rotate(self) -> str:
        self._ring = rotate_keyring(self.path)
        return self._ring.current_id

    async def health(self) -> Health:
        try:
            self.keyring()
        except KekError as exc:
            return Health(ok=False, backend="keyring", detail=str(exc))
        return Health(ok=True, backend="keyring")
