"""Kura's own bond keys, in a key file outside the data folder (like the audit key).

Two secrets, neither of them an issuer's:

- the **status key** (Ed25519): Kura signs the published status lists with it (which keys are
  still current is Kura's knowledge, not the issuers'); its public half is published at
  ``GET /bonds/trust`` and pinned by offline verifiers;
- the **wrap key** (AES-256-GCM): encrypts what must not sit in the database in clear: the
  prepared key payloads and signed key files (they carry the secret), and the private keys
  of issuers who opted for a Kura-held key (issue 11 §2: an issuer without a card).

The file is JSON, 0600, created on the first start (``<data_dir>.bonds-key`` by default)::

    {"format": "kura-bond-keys/1", "status_key": "<base64 PKCS#8>", "wrap_key": "<base64 32>",
     "created": "<ISO>"}

A file others may read is refused, as for the audit key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jws
from joserfc.jwk import OKPKey

from api.bonds.envelope import STATUS_TYP, b64u, canonical

FORMAT = "kura-bond-keys/1"


class BondKeyError(Exception):
    """The bond key file is exposed, unreadable or malformed: a configuration error."""


@dataclass(frozen=True)
class KuraKeys:
    status_key: ed25519.Ed25519PrivateKey
    wrap_key: bytes

    @property
    def status_public(self) -> ed25519.Ed25519PublicKey:
        return self.status_key.public_key()

    def status_jwk(self) -> dict[str, Any]:
        """The public status key as a JWK with its RFC 7638 thumbprint as ``kid``."""
        key = OKPKey.import_key(self.status_public)
        data = dict(key.as_dict(private=False))
        data["kid"] = key.thumbprint()
        data["alg"] = "Ed25519"
        data["use"] = "sig"
        return data

    def sign_status(self, claims: dict[str, Any]) -> str:
        key = OKPKey.import_key(self.status_key)
        header = {"alg": "Ed25519", "typ": STATUS_TYP, "kid": key.thumbprint()}
        return jws.serialize_compact(header, canonical(claims), key, algorithms=["Ed25519"])

    def seal(self, data: bytes, purpose: str) -> str:
        """AES-256-GCM with a random nonce; ``purpose`` is bound as associated data."""
        nonce = secrets.token_bytes(12)
        box = AESGCM(self.wrap_key).encrypt(nonce, data, purpose.encode())
        return "v1." + b64u(nonce + box)

    def open(self, sealed: str, purpose: str) -> bytes:
        if not sealed.startswith("v1."):
            raise BondKeyError("sealed value of an unknown format")
        raw = base64.urlsafe_b64decode(sealed[3:] + "=" * (-len(sealed[3:]) % 4))
        try:
            return AESGCM(self.wrap_key).decrypt(raw[:12], raw[12:], purpose.encode())
        except InvalidTag as exc:
            raise BondKeyError("sealed value does not open with this key file") from exc


_lock = threading.Lock()
_cache: dict[Path, tuple[float, KuraKeys]] = {}


def load(path: Path, *, create: bool = True) -> KuraKeys:
    """The keys of ``path`` (created when missing and ``create``); cached by mtime."""
    with _lock:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if not create:
                raise BondKeyError(f"bond key file {path} is missing") from None
            _create(path)
            st = os.stat(path)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise BondKeyError(f"bond key file {path} may be read by others; run: chmod 600 {path}")
        cached = _cache.get(path)
        if cached and cached[0] == st.st_mtime:
            return cached[1]
        try:
            doc = json.loads(path.read_text())
            if doc.get("format") != FORMAT:
                raise ValueError("format")
            status = serialization.load_der_private_key(base64.b64decode(doc["status_key"]), None)
            wrap = base64.b64decode(doc["wrap_key"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BondKeyError(f"bond key file {path} is malformed: {exc}") from exc
        if not isinstance(status, ed25519.Ed25519PrivateKey) or len(wrap) != 32:
            raise BondKeyError(f"bond key file {path} is malformed")
        keys = KuraKeys(status, wrap)
        _cache[path] = (st.st_mtime, keys)
        return keys


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    status = ed25519.Ed25519PrivateKey.generate()
    doc = {
        "format": FORMAT,
        "status_key": base64.b64encode(
            status.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ).decode(),
        "wrap_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "created": datetime.now(UTC).isoformat(),
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(doc, out)
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(tmp, path)  # never replace a key file another process just made
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
