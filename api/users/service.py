"""User administration (issue 2 item 4; seed 001 別表1-1 8(1)(2)).

Operators manage every user; a user holding the ``users.manage`` grant manages the users of
their own organization. Every decision goes through ``Policy.require``; every change is
audited in the same unit of work. New users and admin resets get a one-time password that
must be changed at the next login.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.auth import passwords
from api.auth.sessions import CredentialStore
from api.config import AuthSettings
from api.errors import Conflict, DuplicateError, Forbidden, NotFoundError, ValidationFailed
from api.grants.service import authority_of
from api.kit.clock import Clock, to_iso
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import OrgContext, Policy, Subject
from api.users.models import User, UserStatus
from api.users.repository import UserRepository
from api.users.schemas import UserCreate, UserUpdate
from storage.ports import RecordStore
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container

Actor = Subject | str


class UserService:
    def __init__(
        self,
        records: RecordStore,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        policy: Policy,
        settings: AuthSettings,
    ) -> None:
        self.records = records
        self.uow = uow
        self.clock = clock
        self.policy = policy
        self.settings = settings
        self.repo = UserRepository(records)
        self.credentials = CredentialStore(records)
        self.audit = AuditLog(records, clock)
        self.hasher = passwords.hasher_for(settings)

    @classmethod
    def of(cls, container: Container) -> UserService:
        return cls(
            container.records,
            container.uow,
            container.clock,
            container.policy,
            container.settings.auth,
        )

    # -- create ------------------------------------------------------------------------------

    async def create(self, subject: Subject | None, data: UserCreate) -> tuple[User, str]:
        """Create a user with a one-time password (returned once, never stored in clear)."""
        self.policy.require(subject, "users.manage", OrgContext(data.org_id))
        assert subject is not None
        return await self.create_as(subject, data)

    async def create_as(self, actor: Actor, data: UserCreate) -> tuple[User, str]:
        """Create without a policy check: the CLI and the first-run bootstrap."""
        if await self.records.get("organizations", data.org_id) is None:
            raise ValidationFailed("指定された組織が見つかりません。", field="org_id")
        if await self.repo.get_by_login_id(data.login_id) is not None:
            raise DuplicateError("このログインIDはすでに使われています。", fields=["login_id"])
        if data.position:
            await self._check_position(data.position)
        password = passwords.generate(self.settings, data.login_id)
        password_hash = await self.hasher.hash(password)
        now = self.clock.now()
        user = User(
            id=new_id(),
            login_id=data.login_id,
            login_key=data.login_id.lower(),
            name=data.name,
            name_kana=data.name_kana or None,
            email=data.email,
            org_id=data.org_id,
            position=data.position or None,
            status=UserStatus.ACTIVE,
            password_hash=password_hash,
            password_changed_at=now,
            must_change_password=True,
            created_at=now,
            updated_at=now,
        )
        async with self.uow():
            user = await self.repo.insert(user)
            await self.audit.record(actor, "users.created", f"users/{user.id}", after=user.public())
        return user, password

    # -- read --------------------------------------------------------------------------------

    async def get(self, subject: Subject | None, user_id: str) -> User:
        """A user: oneself always; otherwise 401 anonymous, 403 without ``users.manage``, and
        the same 404 for an unknown id and for a user of another organization (issue 7 item
        10: the answer must not tell whether the id exists elsewhere)."""
        user = await self.repo.get(user_id)
        if subject is not None and user is not None and subject.user_id == user.id:
            return user
        self.policy.require(subject, "users.read", OrgContext(subject.org_id if subject else None))
        if user is None or not self.policy.can(subject, "users.read", OrgContext(user.org_id)):
            raise NotFoundError("利用者が見つかりません。")
        return user

    async def list(
        self,
        subject: Subject | None,
        *,
        org_id: str | None = None,
        status: UserStatus | None = None,
        login_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[User], str | None]:
        """Operators see every organization; others only their own (filter forced)."""
        if subject is not None and not subject.is_operator and org_id is None:
            org_id = subject.org_id
        self.policy.require(subject, "users.read", OrgContext(org_id))
        return await self.repo.find(
            org_id=org_id,
            status=status.value if status else None,
            login_id=login_id,
            limit=limit,
            cursor=cursor,
        )

    # -- change ------------------------------------------------------------------------------

    async def _managed(self, subject: Subject | None, user_id: str) -> tuple[Subject, User]:
        """The user ``subject`` may change: of their organization (``users.manage``) and not
        holding grants or an operator role the subject lacks (issue 7 item 2)."""
        user = await self.get(subject, user_id)
        self.policy.require(subject, "users.manage", OrgContext(user.org_id))
        assert subject is not None
        if user.id != subject.user_id:
            held, operator = await authority_of(self.records, user.model_dump(mode="json"))
            self.policy.require_authority_over(subject, held, target_operator=operator)
        return subject, user

    async def update(self, subject: Subject | None, user_id: str, data: UserUpdate) -> User:
        actor, user = await self._managed(subject, user_id)
        fields = data.model_dump(exclude_unset=True, exclude={"version"})
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if name in ("name", "status") and value is None:
                raise ValidationFailed("この項目は空にできません。", field=name)
            changes[name] = value.value if isinstance(value, UserStatus) else (value or None)
        if "org_id" in changes:
            if changes["org_id"] is None:
                raise ValidationFailed("所属機関は空にできません。", field="org_id")
            if changes["org_id"] == user.org_id:
                del changes["org_id"]
            else:
                await self._check_move(actor, user, str(changes["org_id"]))
        if changes.get("position"):
            await self._check_position(str(changes["position"]))
        disabling = (
            changes.get("status") == UserStatus.DISABLED and user.status is UserStatus.ACTIVE
        )
        if disabling and actor.user_id == user.id:
            raise ValidationFailed("自分自身の利用を停止することはできません。")
        if not changes:
            return user
        changes["updated_at"] = to_iso(self.clock.now())
        before = user.public()
        user = user.model_copy(update={"version": data.version})
        async with self.uow():
            user = await self.repo.update(user, changes)
            await self.audit.record(
                actor,
                "users.updated",
                f"users/{user.id}",
                before=before,
                after=user.public(),
                detail={"fields": sorted(fields)},
            )
            if disabling:
                revoked = await self.credentials.revoke_user(user.id)
                await self.audit.record(
                    actor, "users.disabled", f"users/{user.id}", detail={"revoked": revoked}
                )
        return user

    async def _check_move(self, actor: Subject, user: User, org_id: str) -> None:
        """Another organization: operators only (an organization's administrators manage their
        own users); the new organization exists; the user holds no grants or memberships,
        which were given within the old one."""
        if not actor.is_operator:
            raise Forbidden("所属機関の変更は運用管理者が行います。")
        if await self.records.get("organizations", org_id) is None:
            raise ValidationFailed("指定された組織が見つかりません。", field="org_id")
        grants = await self.records.count("grants", (Eq("user_id", user.id),))
        members = await self.records.count("work_members", (Eq("user_id", user.id),))
        if grants or members:
            raise Conflict(
                "機能権限または案件のメンバーがある利用者は、所属機関を変更できません。"
                f"先に機能権限（{grants}件）と案件のメンバー（{members}件）を外してください。",
                field="org_id",
            )

    async def _check_position(self, name: str) -> None:
        """役職 comes from the positions master (seed 001 別表1-1 8(4)), once it has any."""
        master = await self.records.find("positions", Query(limit=1000))
        names = {str(p.get("name")) for p in master.items}
        if names and name not in names:
            raise ValidationFailed("役職は役職マスタから選んでください。", field="position")

    async def disable(self, subject: Subject | None, user_id: str, version: int | None) -> User:
        _, user = await self._managed(subject, user_id)
        if user.status is UserStatus.DISABLED:
            return user
        data = UserUpdate(version=version or user.version, status=UserStatus.DISABLED)
        return await self.update(subject, user_id, data)

    async def reset_password(self, subject: Subject | None, user_id: str) -> tuple[User, str]:
        """Admin reset: a new one-time password, a forced change at the next login, the
        lockout cleared and every session and token of the user revoked."""
        actor, user = await self._managed(subject, user_id)
        return await self.reset_password_as(actor, user)

    async def reset_password_as(self, actor: Actor, user: User) -> tuple[User, str]:
        password = passwords.generate(self.settings, user.login_id)
        password_hash = await self.hasher.hash(password)
        now = to_iso(self.clock.now())
        async with self.uow():
            user = await self.repo.update(
                user,
                {
                    "password_hash": password_hash,
                    # the password replaced by the reset may not come back (issue 7 item 12)
                    "password_history": passwords.remembered(
                        self.settings, user.password_hash, user.password_history
                    ),
                    "password_changed_at": now,
                    "must_change_password": True,
                    "failed_attempts": 0,
                    "locked_until": None,
                    "updated_at": now,
                },
            )
            revoked = await self.credentials.revoke_user(user.id)
            await self.audit.record(
                actor, "users.password_reset", f"users/{user.id}", detail={"revoked": revoked}
            )
        return user, password
