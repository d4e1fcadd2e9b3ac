"""Notification mail templates, global and per organization (seed 001 別表1-1 8(4):
通知メールの雛形文章; issue 7 item 5).

Each key has a built-in default (``api.master.mail``). Operators may replace it for everyone
(collection ``mail_templates``, id = key); an organization may replace it for its own mail
(``org_mail_templates``, id ``<org id>:<key>``). The text used for an organization is its own
template, else the global one, else the built-in default (``effective_template``).
"""

from __future__ import annotations

from typing import Any

from api.errors import NotFoundError, ValidationFailed
from api.master import mail
from api.master.base import MasterBase
from api.master.schemas import MailTemplateWrite
from api.permissions.policy import Subject
from storage.ports import RecordStore

MAIL_TEMPLATES = "mail_templates"
ORG_MAIL_TEMPLATES = "org_mail_templates"
ACTION = "mail_templates"


def _org_key(org_id: str, key: str) -> str:
    return f"{org_id}:{key}"


async def _layers(
    records: RecordStore, keys: list[str], org_id: str | None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The stored global and organization templates of ``keys``, by key."""
    global_ = {r["id"]: r for r in await records.get_many(MAIL_TEMPLATES, keys)}
    own: dict[str, dict[str, Any]] = {}
    if org_id is not None:
        rows = await records.get_many(ORG_MAIL_TEMPLATES, [_org_key(org_id, k) for k in keys])
        own = {str(r["key"]): r for r in rows}
    return global_, own


async def effective_template(records: RecordStore, key: str, org_id: str | None) -> tuple[str, str]:
    """The subject and body that mail of ``key`` for ``org_id`` uses (for senders)."""
    global_, own = await _layers(records, [key], org_id)
    chosen = own.get(key) or global_.get(key)
    kind = mail.TEMPLATE_KINDS[key]
    return (chosen["subject"], chosen["body"]) if chosen else (kind.subject, kind.body)


def _view(
    key: str,
    scope: str | None,
    global_: dict[str, Any] | None,
    own: dict[str, Any] | None,
) -> dict[str, Any]:
    """A template as a scope sees it: the effective text, where it comes from, and the
    record of the scope itself (``customized``, ``version``) that PUT and DELETE act on."""
    kind = mail.TEMPLATE_KINDS[key]
    chosen = own or global_
    mine = own if scope is not None else global_
    source = "organization" if own else ("global" if global_ else "builtin")
    return {
        "key": key,
        "label": kind.label,
        "subject": chosen["subject"] if chosen else kind.subject,
        "body": chosen["body"] if chosen else kind.body,
        "placeholders": sorted(kind.placeholders),
        "customized": mine is not None,
        "source": source,
        "org_id": scope,
        "version": mine["version"] if mine else None,
        "updated_at": mine.get("updated_at") if mine else None,
    }


class MailTemplates(MasterBase):
    @staticmethod
    def _known(key: str) -> None:
        if key not in mail.TEMPLATE_KINDS:
            raise NotFoundError("メールの雛形が見つかりません。")

    async def list(self, subject: Subject | None, org_id: str | None) -> list[dict[str, Any]]:
        scope = await self.read_scope(subject, org_id)
        keys = list(mail.TEMPLATE_KINDS)
        global_, own = await _layers(self.records, keys, scope)
        return [_view(k, scope, global_.get(k), own.get(k)) for k in keys]

    async def get(self, subject: Subject | None, key: str, org_id: str | None) -> dict[str, Any]:
        scope = await self.read_scope(subject, org_id)
        self._known(key)
        global_, own = await _layers(self.records, [key], scope)
        return _view(key, scope, global_.get(key), own.get(key))

    async def save(
        self, subject: Subject | None, key: str, data: MailTemplateWrite, org_id: str | None
    ) -> dict[str, Any]:
        """Create or replace the scope's template for ``key`` (``version`` required when
        one exists)."""
        scope = await self.write_scope(subject, org_id)
        self._known(key)
        try:
            mail.check(key, data.subject, data.body)
        except mail.TemplateError as exc:
            raise ValidationFailed(str(exc)) from exc
        fields: dict[str, Any] = {
            "key": key,
            "subject": data.subject,
            "body": data.body,
            "updated_at": self._now(),
        }
        if scope is None:
            await self._put(subject, MAIL_TEMPLATES, key, fields, data.version, ACTION)
        else:
            fields["org_id"] = scope
            record_id = _org_key(scope, key)
            await self._put(subject, ORG_MAIL_TEMPLATES, record_id, fields, data.version, ACTION)
        global_, own = await _layers(self.records, [key], scope)
        return _view(key, scope, global_.get(key), own.get(key))

    async def reset(
        self, subject: Subject | None, key: str, version: int | None, org_id: str | None
    ) -> None:
        """Drop the scope's template so the next layer (global, then built-in) applies."""
        scope = await self.write_scope(subject, org_id)
        self._known(key)
        collection = MAIL_TEMPLATES if scope is None else ORG_MAIL_TEMPLATES
        record_id = key if scope is None else _org_key(scope, key)
        async with self.uow():
            before = await self._get(collection, record_id, "メールの雛形は変更されていません。")
            await self.records.delete(collection, record_id, version)
            await self.audit.record(
                subject, f"{ACTION}.reset", f"{collection}/{record_id}", before=before
            )

    async def render(
        self, subject: Subject | None, key: str, values: dict[str, str], org_id: str | None
    ) -> tuple[str, str]:
        view = await self.get(subject, key, org_id)
        return mail.render(view["subject"], view["body"], values)
