"""Browser sessions and API tokens, stored hashed (seed 001 別表3 access control).

A credential is 256 random bits; only its SHA-256 is stored (the record id), so a copy of
the database does not yield working sessions. API tokens carry a scope (``read`` or ``full``),
an optional name and their own lifetime; users list and revoke their tokens by a public id
(issue 7 item 12). Browser sessions (collection ``sessions``)
also carry the hash of their CSRF token; API tokens (``api_tokens``) need no CSRF token
because a browser never attaches them by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from api.kit.clock import from_iso, to_iso
from storage.errors import NotFound
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query

TOKEN_PREFIX = "kura_"  # noqa: S105 (a marker for secret scanners, not a secret)


class CredentialKind(StrEnum):
    SESSION = "session"
    TOKEN = "token"  # noqa: S105


class TokenScope(StrEnum):
    """What an API token may do (issue 7 item 12). Browser sessions always have full rights."""

    READ = "read"  # safe methods only (GET, HEAD), plus revoking itself and logging out
    FULL = "full"


COLLECTIONS = {CredentialKind.SESSION: "sessions", CredentialKind.TOKEN: "api_tokens"}


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def public_id(record_id: str) -> str:
    """The id a token is listed and revoked by. The record id (the secret's SHA-256) is never
    shown: this is a hash of it, so it names the token without being a lookup key for it."""
    return hashlib.sha256(f"public:{record_id}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Credential:
    """A stored session or token (``id`` is the hash of the secret the client holds)."""

    kind: CredentialKind
    id: str
    user_id: str
    expires_at: datetime
    csrf_hash: str | None = None
    scope: TokenScope = TokenScope.FULL

    @property
    def public_id(self) -> str:
        return public_id(self.id)

    def csrf_ok(self, presented: str | None) -> bool:
        if self.csrf_hash is None or not presented:
            return False
        return hmac.compare_digest(self.csrf_hash, digest(presented))


@dataclass(frozen=True)
class Issued:
    credential: Credential
    secret: str
    csrf_token: str | None


async def ensure_indexes(records: RecordStore) -> None:
    """Index credentials by user (revocation on password change/reset); run at start by
    ``api.schema.ensure_schema``."""
    for collection in COLLECTIONS.values():
        await records.ensure_indexes(collection, [IndexSpec((("user_id", 1),))])


class CredentialStore:
    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def issue(
        self,
        kind: CredentialKind,
        user_id: str,
        now: datetime,
        ttl: timedelta,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        scope: TokenScope | None = None,
        name: str | None = None,
    ) -> Issued:
        secret = secrets.token_urlsafe(32)
        if kind is CredentialKind.TOKEN:
            secret = TOKEN_PREFIX + secret
        csrf = secrets.token_urlsafe(32) if kind is CredentialKind.SESSION else None
        record: dict[str, Any] = {
            "id": digest(secret),
            "user_id": user_id,
            "created_at": to_iso(now),
            "expires_at": to_iso(now + ttl),
        }
        if csrf is not None:
            record["csrf_hash"] = digest(csrf)
        if kind is CredentialKind.TOKEN:
            record["scope"] = (scope or TokenScope.FULL).value
            if name:
                record["name"] = name
        if ip:
            record["ip"] = ip[:64]
        if user_agent:
            record["user_agent"] = user_agent[:256]
        await self.records.insert(COLLECTIONS[kind], record)
        return Issued(self.credential(kind, record), secret, csrf)

    async def lookup(self, kind: CredentialKind, secret: str, now: datetime) -> Credential | None:
        """The live credential for ``secret``; an expired one is removed and None returned."""
        if not secret or len(secret) > 200:
            return None
        record = await self.records.get(COLLECTIONS[kind], digest(secret))
        if record is None:
            return None
        cred = self.credential(kind, record)
        if cred.expires_at <= now:
            await self.revoke(cred)
            return None
        return cred

    async def revoke(self, cred: Credential) -> None:
        with contextlib.suppress(NotFound):
            await self.records.delete(COLLECTIONS[cred.kind], cred.id, None)

    async def revoke_user(self, user_id: str, *, keep: Credential | None = None) -> int:
        """Remove every session and token of a user except ``keep``; returns the count."""
        removed = 0
        for kind, collection in COLLECTIONS.items():
            ids = [
                str(r["id"])
                async for r in self.records.scan(collection, (Eq("user_id", user_id),))
                if not (keep is not None and keep.kind is kind and keep.id == r["id"])
            ]
            for rid in ids:
                try:
                    await self.records.delete(collection, rid, None)
                    removed += 1
                except NotFound:
                    pass
        return removed

    async def count_user(self, user_id: str) -> int:
        total = 0
        for collection in COLLECTIONS.values():
            total += await self.records.count(collection, (Eq("user_id", user_id),))
        return total

    async def list_user(self, kind: CredentialKind, user_id: str) -> list[dict[str, Any]]:
        page = await self.records.find(
            COLLECTIONS[kind], Query(where=(Eq("user_id", user_id),), limit=1000)
        )
        return page.items

    @staticmethod
    def credential(kind: CredentialKind, record: dict[str, Any]) -> Credential:
        return Credential(
            kind=kind,
            id=str(record["id"]),
            user_id=str(record["user_id"]),
            expires_at=from_iso(str(record["expires_at"])),
            csrf_hash=record.get("csrf_hash"),
            scope=_scope(record.get("scope")),
        )


def _scope(value: Any) -> TokenScope:
    """A stored scope: tokens issued before scopes existed had full rights; anything else
    unknown reads only (least privilege, never a 500)."""
    if value is None:
        return TokenScope.FULL
    try:
        return TokenScope(str(value))
    except ValueError:
        return TokenScope.READ
