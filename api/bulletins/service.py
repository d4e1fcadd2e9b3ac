"""What every board service shares: access to a work's board and to one post, the author's
names, scope resolution, mail recipients, attachments, revisions and notifications.

Access (``api.bulletins.permissions``): a work's board answers 401 anonymous, 404 when the work
is not readable, 403 for a reader of the work who is no member (or may not post); a post outside
the subject's scope answers 404 (its existence is not revealed), for the post, its replies and
its attachments alike (seed 001 別表1-1 2(5)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api.attachments.service import ATTACHMENTS, AttachmentService
from api.audit.service import AuditLog
from api.bulletins.models import (
    GROUPS,
    REVISIONS,
    ScopeKind,
    State,
)
from api.bulletins.repository import BoardRepository
from api.bulletins.schemas import NotifyIn, RevisionRead, ScopeIn
from api.bulletins.scope import principals_on, reads_board, sees, writes_board
from api.bulletins.unread import UnreadTracker
from api.bulletins.views import briefs, file_brief
from api.errors import Forbidden, NotFoundError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import is_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject, WorkContext, WorkRole
from api.works.service import WorkService
from storage.query import Record

if TYPE_CHECKING:
    from api.container import Container

# Files nobody should receive through a board (programs and scripts): refused when attached,
# by name and by the type the content really has (issue 9 "Bad input": a forbidden type).
FORBIDDEN_EXTENSIONS = frozenset(
    [
        "exe",
        "com",
        "bat",
        "cmd",
        "scr",
        "pif",
        "msi",
        "msp",
        "msc",
        "dll",
        "cpl",
        "sys",
        "jar",
        "js",
        "jse",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "ws",
        "ps1",
        "psm1",
        "hta",
        "lnk",
        "reg",
        "sh",
        "bash",
        "csh",
        "app",
        "apk",
        "appx",
        "msix",
        "scf",
        "url",
        "inf",
    ]
)
FORBIDDEN_TYPES = frozenset(
    {
        "application/x-dosexec",
        "application/x-msdownload",
        "application/vnd.microsoft.portable-executable",
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-pie-executable",
        "application/x-mach-binary",
        "application/x-msi",
        "application/x-ms-shortcut",
        "application/java-archive",
        "application/x-sh",
        "text/x-shellscript",
        "application/javascript",
        "text/javascript",
        "application/x-bat",
        "text/x-msdos-batch",
    }
)


@dataclass(frozen=True)
class Board:
    """A work's board as one subject sees it."""

    work: Record
    subject: Subject
    role: WorkRole | None

    @property
    def work_id(self) -> str:
        return str(self.work["id"])

    @property
    def status(self) -> str:
        return str(self.work.get("status"))

    @property
    def principals(self) -> tuple[str, ...]:
        if self.role is None or not reads_board(self.role, self.status):
            return ()
        return principals_on(self.work_id, self.subject.user_id, self.role)

    @property
    def can_post(self) -> bool:
        return writes_board(self.role, self.status)

    def sees(self, record: Record) -> bool:
        return sees(
            record.get("acl") or (), self.work_id, self.subject.user_id, self.role, self.status
        )


class BoardService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.repo = BoardRepository(container.records)
        self.works = WorkService.of(container)
        self.audit = AuditLog(container.records, container.clock)
        self.tracker = UnreadTracker(container.records)
        self.files = AttachmentService(container)

    def now(self) -> str:
        return to_iso(self.clock.now())

    # -- access ------------------------------------------------------------------------------
    async def board(self, subject: Subject | None, work_id: str, action: str) -> Board:
        """The work's board if ``subject`` may do ``action`` there (401 / 404 / 409 / 403)."""
        work = await self.works.load(subject, work_id, action)
        assert subject is not None
        ctx = await self.works.context(subject, work)
        return Board(work, subject, next(iter(ctx.roles), None))

    async def visible(
        self, subject: Subject | None, collection: str, record_id: str
    ) -> tuple[Record, Board]:
        """An active post or reply ``subject`` may read, with its board; 404 otherwise (also
        for a reader of the work outside the board: the record's existence stays hidden)."""
        self.policy.require(subject, "bulletins.use")
        record = await self.records.get(collection, record_id) if is_id(record_id) else None
        if record is None or record.get("state") != State.ACTIVE:
            raise NotFoundError()
        try:
            board = await self.board(subject, str(record["work_id"]), "bulletins.read")
        except Forbidden as exc:
            raise NotFoundError() from exc
        if not board.sees(record):
            raise NotFoundError()
        return record, board

    async def writable(self, board: Board) -> None:
        """410 ``erased`` while the work's collaboration data is being erased or after
        (``api.keys.fence``): the board takes no new or changed posts then."""
        from api.keys import scopes
        from api.keys.fence import ensure_open

        await ensure_open(self.container, scopes.collab(board.work_id))

    def require_author(self, board: Board, record: Record, what: str) -> None:
        """Edits and deletions are the author's (seed 001 別表1-1 2(1)), while they may post."""
        if record.get("author_id") != board.subject.user_id:
            raise Forbidden(f"{what}を変更・削除できるのは登録者のみです。")
        if not board.can_post:
            self.policy.require(board.subject, "bulletins.post", self._ctx(board))

    def _ctx(self, board: Board) -> WorkContext:
        return WorkContext(
            work_id=board.work_id,
            orderer_org_id=board.work.get("orderer_org_id"),
            contractor_org_ids=tuple(board.work.get("contractor_org_ids") or ()),
            status=board.status,
            roles=frozenset({board.role}) if board.role else frozenset(),
        )

    # -- people ------------------------------------------------------------------------------
    async def author(self, subject: Subject) -> dict[str, str]:
        """The author fields of a new record: names as they are now (登録者名, 2(2))."""
        user = await self.records.get("users", subject.user_id) or {}
        org = await self.records.get("organizations", str(subject.org_id)) or {}
        return {
            "author_id": subject.user_id,
            "author_name": str(user.get("name") or subject.login_id),
            "author_org_id": str(subject.org_id or ""),
            "author_org_name": str(org.get("name") or ""),
        }

    async def people(self, ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """id → {id, name, org_name} for display."""
        users = await self.repo.users(ids)
        orgs = await self.repo.orgs([str(u.get("org_id")) for u in users.values()])
        return {
            uid: {
                "id": uid,
                "name": str(u.get("name") or u.get("login_id") or uid),
                "org_name": str((orgs.get(str(u.get("org_id"))) or {}).get("name") or ""),
            }
            for uid, u in users.items()
        }

    # -- scope and recipients ----------------------------------------------------------------
    async def resolve_scope(
        self, board: Board, data: ScopeIn, members: Mapping[str, str]
    ) -> dict[str, Any]:
        """The stored scope, checked against the work's members (issue 9 "Bad input": a scope
        naming users who are not members of the work is refused, whoever they are)."""
        kind = data.kind
        if kind is ScopeKind.MEMBERS:
            return {"kind": kind.value}
        if kind is ScopeKind.ROLES:
            if not data.roles:
                raise ValidationFailed("公開する役割を1つ以上選んでください。", field="scope")
            return {"kind": kind.value, "roles": sorted({r.value for r in data.roles})}
        if kind is ScopeKind.USERS:
            chosen = set(data.user_ids) - {board.subject.user_id}
            if not chosen:
                raise ValidationFailed("公開する相手を1人以上選んでください。", field="scope")
            if chosen - set(members):
                raise ValidationFailed(
                    "公開範囲に指定できるのは、この案件のメンバーのみです。", field="scope"
                )
            return {"kind": kind.value, "user_ids": sorted(chosen)}
        group = await self.records.get(GROUPS, data.group_id) if data.group_id else None
        if group is None or group.get("owner_id") != board.subject.user_id:
            raise ValidationFailed("グループが見つかりません。", field="scope")
        resolved = (set(group.get("member_ids") or ()) & set(members)) - {board.subject.user_id}
        if not resolved:
            raise ValidationFailed(
                "このグループには、この案件のメンバーがいません。", field="scope"
            )
        return {
            "kind": kind.value,
            "group_id": group["id"],
            "group_name": group.get("name", ""),
            "user_ids": sorted(resolved),
        }

    @staticmethod
    def recipients(notify: NotifyIn, readers: set[str], author_id: str) -> list[str]:
        """Members to mail (seed 001 別表1-1 2(8)): only those who read the post."""
        if notify.all:
            return sorted(readers - {author_id})
        chosen = set(notify.user_ids) - {author_id}
        if chosen - readers:
            raise ValidationFailed(
                "通知先には、記事を閲覧できるメンバーのみ指定できます。", field="notify"
            )
        return sorted(chosen)

    # -- attachments -------------------------------------------------------------------------
    async def check_files(self, ids: Sequence[str]) -> list[Record]:
        """Refuse programs and scripts by name, declared type or detected type."""
        if not ids:
            return []
        found = await self.records.get_many(ATTACHMENTS, list(ids))
        attachments = AttachmentService(self.container)
        for record in found:
            name = str(record.get("name") or "").lower()
            ext = name.rpartition(".")[2] if "." in name else ""
            # The type the content really has, sniffed now when ingest has not run yet.
            detected = await attachments.detected_type(record)
            types = {
                str(value or "").split(";")[0].strip().lower()
                for value in (record.get("declared_type"), detected)
            }
            if ext in FORBIDDEN_EXTENSIONS or types & FORBIDDEN_TYPES:
                raise ValidationFailed(
                    f"「{record.get('name')}」は添付できない種類のファイルです"
                    "（実行ファイルやスクリプトは添付できません）。",
                    field="attachments",
                )
        return found

    async def attach(
        self, uow: UnitOfWork, subject: Subject, ids: Sequence[str], parent: str, work_id: str
    ) -> list[Record]:
        await self.check_files(ids)
        if not ids:
            return []
        return await self.files.link(uow, subject, ids, parent, work_id=work_id)

    async def relink(
        self,
        uow: UnitOfWork,
        subject: Subject,
        ids: Sequence[str],
        parent: str,
        work_id: str,
        revision_parent: str,
    ) -> list[Record]:
        """Set the parent's attachments to ``ids`` (kept, reordered, or new staged ones);
        the ones left out go to the revision (history kept)."""
        current = await self.files.of_parent(parent)
        keep = set(ids)
        for record in current:
            if record["id"] not in keep:
                await self.files.move(uow, record, revision_parent)
        return await self.attach(uow, subject, ids, parent, work_id)

    # -- history -----------------------------------------------------------------------------
    async def save_revision(
        self,
        uow: UnitOfWork,
        collection: str,
        record: Record,
        subject: Subject,
        reason: str,
        files: Sequence[Record],
    ) -> str:
        """Keep ``record`` as it was before an edit or deletion; returns the revision id."""
        rev = int(record.get("revision") or 0) + 1
        rev_id = f"{record['id']}:{rev}"
        await uow.records.insert(
            REVISIONS,
            {
                "id": rev_id,
                "record": f"{collection}/{record['id']}",
                "work_id": record["work_id"],
                "rev": rev,
                "reason": reason,
                "title": record.get("title"),
                "body": record.get("body", ""),
                "importance": record.get("importance"),
                "scope": record.get("scope"),
                "attachments": [file_brief(f) for f in files],
                "superseded_at": self.now(),
                "superseded_by": subject.user_id,
            },
        )
        return rev_id

    async def history(self, record: str) -> list[RevisionRead]:
        revs = await self.repo.revisions(record)
        people = await self.people([str(r.get("superseded_by")) for r in revs])
        files = await self.files.of_parents([f"{REVISIONS}/{r['id']}" for r in revs])
        out = []
        for rev in revs:
            kept = files.get(f"{REVISIONS}/{rev['id']}", [])
            out.append(
                RevisionRead(
                    rev=int(rev["rev"]),
                    reason=str(rev.get("reason") or "edited"),
                    title=rev.get("title"),
                    body=str(rev.get("body") or ""),
                    importance=rev.get("importance"),
                    scope=rev.get("scope"),
                    # Files removed by that edit, still downloadable through the revision.
                    attachments=briefs(kept),
                    superseded_at=str(rev["superseded_at"]),
                    superseded_by_name=(people.get(str(rev.get("superseded_by"))) or {}).get(
                        "name", ""
                    ),
                )
            )
        return out
