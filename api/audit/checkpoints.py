"""Signed checkpoints of the audit chain, kept outside the records store (issue 7 item 6).

A keyed chain cannot be rebuilt without the key, but events can still be cut from its end
(the head record then set back to an earlier, genuine event) or the whole database rolled
back to an older copy. A checkpoint pins the chain's head as it was at some time:
``{"format", "seq", "hash", "at", "key_id", "mac"}``, the mac an HMAC-SHA256 under the audit
key. Beat writes one every hour when the head has moved (``audit.checkpoint``) as an object
``audit/checkpoints/<seq>.json`` of the blob store, which is backed up with the files; ``kura
audit checkpoint -o FILE`` also writes one to a file the operator keeps elsewhere. ``kura audit
verify`` checks every checkpoint: signed by a known key, and the event at its ``seq`` still
there with the same hash.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from api.audit.keys import AuditKeys
from storage.ports import BlobStore

PREFIX = "audit/checkpoints/"
FORMAT = "kura-audit-checkpoint/1"
_FIELDS = ("format", "seq", "hash", "at", "key_id")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    mac: str

    def document(self) -> dict[str, Any]:
        return {"format": FORMAT, **vars(self)}

    def body(self) -> dict[str, Any]:
        """What the mac covers: every field but the mac."""
        return {k: v for k, v in self.document().items() if k != "mac"}


def seal(keys: AuditKeys, seq: int, hash_: str, at: str) -> Checkpoint:
    """A checkpoint of event ``seq`` signed with the signing key."""
    body = {"format": FORMAT, "seq": seq, "hash": hash_, "at": at, "key_id": keys.signing_id}
    return Checkpoint(seq, hash_, at, keys.signing_id, keys.sign("checkpoint", body))


def parse(raw: bytes) -> Checkpoint:
    """A checkpoint from its JSON; ``ValueError`` naming what is wrong."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"format is not {FORMAT}")
    try:
        seq = data["seq"]
        if not isinstance(seq, int) or seq < 1:
            raise ValueError("seq is not a positive integer")
        return Checkpoint(
            seq, str(data["hash"]), str(data["at"]), str(data["key_id"]), str(data["mac"])
        )
    except KeyError as exc:
        raise ValueError(f"field {exc} missing") from exc


def signature_problem(keys: AuditKeys, cp: Checkpoint) -> str | None:
    """Why the checkpoint's signature does not hold, or None when it does."""
    expected = keys.mac(cp.key_id, "checkpoint", cp.body())
    if expected is None:
        return f"signed with unknown key id {cp.key_id} (not in {keys.path})"
    if expected != cp.mac:
        return "forged: its mac does not match its content"
    return None


def object_key(seq: int) -> str:
    return f"{PREFIX}{seq:016d}.json"


def encode(cp: Checkpoint) -> bytes:
    return json.dumps(cp.document(), sort_keys=True).encode() + b"\n"


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def write(blobs: BlobStore, cp: Checkpoint) -> str:
    """Store the checkpoint as its object (atomic put); returns the key."""
    key = object_key(cp.seq)
    await blobs.put(key, _one(encode(cp)), content_type="application/json")
    return key


async def read(blobs: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in blobs.get(key)])


async def stored(blobs: BlobStore) -> AsyncIterator[tuple[str, bytes]]:
    """Every checkpoint object (key, bytes), oldest first."""
    async for info in blobs.list(PREFIX):
        yield info.key, await read(blobs, info.key)


async def newest_key(blobs: BlobStore) -> str | None:
    """The key of the checkpoint with the highest seq (keys sort by seq)."""
    last = None
    async for info in blobs.list(PREFIX):
        last = info.key
    return last
