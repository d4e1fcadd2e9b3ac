"""Login, logout, password change and the subject behind a credential (issue 2 item 4).

Rules from seed 001 別表1-1 8(5) and 別表3: the same answer for an unknown ID and a wrong
password (and the same time: an unknown ID and a locked account each still cost one argon2
verify, issue 7 item 10); lockout after
``lockout_threshold`` failures for ``lockout_minutes``; a per-IP throttle; every success,
failure and lockout in the audit trail; an expired or reset password lets the user in only
to change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, NoReturn

from api.audit.service import AuditLog
from api.auth import passwords
from api.auth.sessions import Credential, CredentialKind, CredentialStore, Issued, TokenScope
from api.auth.throttle import LoginThrottle
from api.config import AuthSettings
from api.errors import (
    AccountLocked,
    InvalidCredentials,
    NotAuthenticated,
    NotFoundError,
    TooManyRequests,
    ValidationFailed,
)
from api.kit.clock import Clock, to_iso
from api.kit.uow import UnitOfWork
from api.permissions.policy import OrgKind, Subject
from api.users.models import User, UserStatus
from api.users.repository import UserRepository
from storage.errors import StaleVersion
from storage.ports import RecordStore
from storage.query import Eq, Query

UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class TokenRequest:
    """What a token login asks for (issue 7 item 12): scope, a name to tell tokens apart in
    the list, and a lifetime up to ``token_ttl_days`` (None: the maximum)."""

    scope: TokenScope = TokenScope.FULL
    name: str | None = None
    ttl_days: int | None = None


@dataclass(frozen=True)
class LoginResult:
    user: User
    issued: Issued
    password_change_required: bool


def locked_detail(settings: AuthSettings) -> str:
    return f"しばらく（最大{settings.lockout_minutes}分）待ってから、もう一度ログインしてください。"


class AuthService:
    def __init__(
        self,
        records: RecordStore,
        uow: UowFactory,
        clock: Clock,
        settings: AuthSettings,
        *,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.records = records
        self.uow = uow
        self.clock = clock
        self.settings = settings
        self.users = UserRepository(records)
        self.credentials = CredentialStore(records)
        self.throttle = throttle or LoginThrottle(records)
        self.audit = AuditLog(records, clock)
        self.hasher = passwords.hasher_for(settings)

    # -- login -------------------------------------------------------------------------------

    async def login(
        self,
        login_id: str,
        password: str,
        mode: Literal["session", "token"],
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        token: TokenRequest | None = None,
    ) -> LoginResult:
        now = self.clock.now()
        key = login_id.strip().lower()
        detail: dict[str, Any] = {"login_id": login_id[:64], "ip": ip, "mode": mode}
        token = self._token_request(mode, token)
        if mode == "token":
            detail["scope"] = token.scope.value
        if await self.throttle.ip_blocked(ip, now):
            await self._audit_failure(None, detail | {"reason": "ip_throttled"})
            raise TooManyRequests(
                "ログインの失敗が多すぎます。しばらく待ってからやり直してください。"
            )
        user = await self.users.get_by_login_id(key)
        if user is None:
            await self._unknown_id(key, password, detail)
        if user.is_locked(now):
            # Spend the verify an unknown ID spends (issue 7 item 10): answering a locked
            # account without hashing took 5 ms against 250 ms, telling real IDs apart.
            await self.hasher.verify_dummy(password)
            await self._audit_failure(user, detail | {"reason": "locked"})
            raise AccountLocked(locked_detail(self.settings))
        ok = await self.hasher.verify(user.password_hash, password)
        if not ok or user.status is not UserStatus.ACTIVE:
            await self._failed(user, detail | {"reason": "disabled" if ok else "wrong_password"})
        return await self._succeeded(user, password, mode, ip, user_agent, detail, token)

    async def _unknown_id(self, key: str, password: str, detail: dict[str, Any]) -> NoReturn:
        now = self.clock.now()
        await self.hasher.verify_dummy(password)
        if await self.throttle.unknown_locked(key, now):
            await self._audit_failure(None, detail | {"reason": "locked"})
            raise AccountLocked(locked_detail(self.settings))
        async with self.uow():
            await self.throttle.ip_failed(detail["ip"], now)
            locked = await self.throttle.unknown_failed(
                key, now, self.settings.lockout_threshold, self._lock_for
            )
            await self.audit.record(
                None,
                "auth.login_failed",
                "users/unknown",
                detail=detail | {"reason": "unknown_id"},
            )
            if locked:
                await self.audit.record(None, "auth.locked_out", "users/unknown", detail=detail)
        if locked:
            raise AccountLocked(locked_detail(self.settings))
        raise InvalidCredentials()

    def _token_request(
        self, mode: Literal["session", "token"], token: TokenRequest | None
    ) -> TokenRequest:
        """The token's scope, name and lifetime; refused before any password is checked."""
        if token is None:
            return TokenRequest()
        if mode != "token":
            if token != TokenRequest():
                raise ValidationFailed(
                    "scope・token_name・ttl_days は"
                    "アクセストークン（mode=token）でのみ指定できます。"
                )
            return token
        if token.ttl_days is not None and token.ttl_days > self.settings.token_ttl_days:
            raise ValidationFailed(
                f"アクセストークンの有効期間は{self.settings.token_ttl_days}日以内で指定してください。",
                field="ttl_days",
            )
        return token

    @property
    def _lock_for(self) -> timedelta:
        return timedelta(minutes=self.settings.lockout_minutes)

    async def _failed(self, user: User, detail: dict[str, Any]) -> NoReturn:
        now = self.clock.now()
        counts = detail["reason"] == "wrong_password"
        locked = False
        for _ in range(5):
            changes: dict[str, Any] = {}
            if counts:
                attempts = user.failed_attempts + 1
                locked = attempts >= self.settings.lockout_threshold
                changes = (
                    {"failed_attempts": 0, "locked_until": to_iso(now + self._lock_for)}
                    if locked
                    else {"failed_attempts": attempts}
                )
            try:
                async with self.uow():
                    await self.throttle.ip_failed(detail["ip"], now)
                    if changes:
                        await self.users.update(user, changes)
                    await self.audit.record(
                        None, "auth.login_failed", f"users/{user.id}", detail=detail
                    )
                    if locked:
                        await self.audit.record(
                            None,
                            "auth.locked_out",
                            f"users/{user.id}",
                            detail=detail | {"until": changes["locked_until"]},
                        )
                break
            except StaleVersion:
                fresh = await self.users.get(user.id)
                if fresh is None:
                    break
                user = fresh
        if locked:
            raise AccountLocked(locked_detail(self.settings))
        raise InvalidCredentials()

    async def _succeeded(
        self,
        user: User,
        password: str,
        mode: Literal["session", "token"],
        ip: str | None,
        user_agent: str | None,
        detail: dict[str, Any],
        token: TokenRequest,
    ) -> LoginResult:
        now = self.clock.now()
        changes: dict[str, Any] = {"last_login_at": to_iso(now)}
        if user.failed_attempts:
            changes["failed_attempts"] = 0
        if user.locked_until is not None:
            changes["locked_until"] = None
        if self.hasher.needs_rehash(user.password_hash):
            # Parameters changed since this hash was made: upgrade it now that we know the
            # password (RFC 9106 §4: parameters are tuned over time).
            changes["password_hash"] = await self.hasher.hash(password)
        kind = CredentialKind(mode)
        ttl = (
            timedelta(minutes=self.settings.session_ttl_minutes)
            if kind is CredentialKind.SESSION
            else timedelta(days=token.ttl_days or self.settings.token_ttl_days)
        )
        async with self.uow():
            user = await self.users.update(user, changes)
            issued = await self.credentials.issue(
                kind,
                user.id,
                now,
                ttl,
                ip=ip,
                user_agent=user_agent,
                scope=token.scope if kind is CredentialKind.TOKEN else None,
                name=token.name,
            )
            subject = await self.subject_for(user)
            await self.audit.record(subject, "auth.logged_in", f"users/{user.id}", detail=detail)
        return LoginResult(user, issued, self.password_change_required(user))

    async def _audit_failure(self, user: User | None, detail: dict[str, Any]) -> None:
        target = f"users/{user.id}" if user else "users/unknown"
        async with self.uow():
            await self.audit.record(None, "auth.login_failed", target, detail=detail)

    # -- the subject behind a credential ------------------------------------------------------

    def password_change_required(self, user: User) -> bool:
        return user.must_change_password or passwords.is_expired(
            self.settings, user.password_changed_at, self.clock.now()
        )

    async def authenticate(
        self, kind: CredentialKind, secret: str
    ) -> tuple[Credential, User] | None:
        """The live credential and its active user, or None."""
        cred = await self.credentials.lookup(kind, secret, self.clock.now())
        if cred is None:
            return None
        user = await self.users.get(cred.user_id)
        if user is None or user.status is not UserStatus.ACTIVE:
            return None
        return cred, user

    async def subject_for(self, user: User) -> Subject:
        """Build the policy subject: org kind and the user's function grants (seed 001
        別表1-1 8(3)); grants recorded for another organization are ignored."""
        org = await self.records.get("organizations", user.org_id)
        kind: OrgKind | None = None
        if org is not None:
            try:
                kind = OrgKind(str(org.get("kind")))
            except ValueError:
                kind = None
        page = await self.records.find("grants", Query(where=(Eq("user_id", user.id),), limit=1000))
        grants = frozenset(
            str(g["grant"])
            for g in page.items
            if "grant" in g and g.get("org_id") in (None, user.org_id)
        )
        return Subject(user.id, user.login_id, user.org_id, kind, grants)

    # -- API tokens (issue 7 item 12) ---------------------------------------------------------

    async def tokens(self, subject: Subject) -> list[tuple[Credential, dict[str, Any]]]:
        """The subject's live API tokens, newest first (expired ones are removed)."""
        now = self.clock.now()
        live: list[tuple[Credential, dict[str, Any]]] = []
        for record in await self.credentials.list_user(CredentialKind.TOKEN, subject.user_id):
            cred = CredentialStore.credential(CredentialKind.TOKEN, record)
            if cred.expires_at <= now:
                await self.credentials.revoke(cred)
                continue
            live.append((cred, record))
        live.sort(key=lambda item: (str(item[1].get("created_at")), item[0].id), reverse=True)
        return live

    async def revoke_token(self, subject: Subject, token_id: str) -> None:
        """Revoke one of the subject's tokens by its public id; 404 for any other id (another
        user's tokens are indistinguishable from unknown ones)."""
        for cred, record in await self.tokens(subject):
            if cred.public_id == token_id:
                async with self.uow():
                    await self.credentials.revoke(cred)
                    await self.audit.record(
                        subject,
                        "auth.token_revoked",
                        f"users/{subject.user_id}",
                        detail={"token_id": token_id, "name": record.get("name")},
                    )
                return
        raise NotFoundError("アクセストークンが見つかりません。")

    # -- logout and password change -----------------------------------------------------------

    async def logout(self, subject: Subject, cred: Credential) -> None:
        async with self.uow():
            await self.credentials.revoke(cred)
            await self.audit.record(
                subject, "auth.logged_out", f"users/{subject.user_id}", detail={"kind": cred.kind}
            )

    async def change_password(
        self, subject: Subject, cred: Credential | None, current: str, new: str
    ) -> User:
        """Self-service change: the current password, the policy, and not the same password
        (seed 001 別表1-1 8(5)); every other session and token of the user is revoked."""
        user = await self.users.get(subject.user_id)
        if user is None:
            raise NotAuthenticated()
        if not await self.hasher.verify(user.password_hash, current):
            async with self.uow():
                await self.audit.record(subject, "auth.password_change_failed", f"users/{user.id}")
            raise ValidationFailed("現在のパスワードが正しくありません。")
        failed = passwords.check(self.settings, new, user.login_id)
        if failed:
            raise ValidationFailed(
                "新しいパスワードが条件を満たしていません。",
                failed=[{"code": r.code, "description": r.description} for r in failed],
            )
        if passwords.normalize(new) == passwords.normalize(current):
            raise ValidationFailed(
                "新しいパスワードは現在のパスワードと異なるものにしてください。",
                failed=[{"code": "not_same", "description": "現在のパスワードと異なること"}],
            )
        await self._check_reuse(user, new)
        new_hash = await self.hasher.hash(new)
        now = self.clock.now()
        async with self.uow():
            user = await self.users.update(
                user,
                {
                    "password_hash": new_hash,
                    "password_history": passwords.remembered(
                        self.settings, user.password_hash, user.password_history
                    ),
                    "password_changed_at": to_iso(now),
                    "must_change_password": False,
                    "updated_at": to_iso(now),
                },
            )
            revoked = await self.credentials.revoke_user(user.id, keep=cred)
            await self.audit.record(
                subject,
                "auth.password_changed",
                f"users/{user.id}",
                detail={"revoked_credentials": revoked},
            )
        return user

    async def _check_reuse(self, user: User, new: str) -> None:
        """Refuse one of the last ``password_history`` passwords (issue 7 item 12; NIST SP
        800-63B 5.1.1.2). One argon2 verify per remembered hash, newest first."""
        for old_hash in user.password_history[: self.settings.password_history]:
            if await self.hasher.verify(old_hash, new):
                rule = next(r for r in passwords.rules(self.settings) if r.code == "not_reused")
                raise ValidationFailed(
                    "以前に使ったパスワードは使えません。別のパスワードを設定してください。",
                    failed=[{"code": rule.code, "description": rule.description}],
                )
