"""Forms of proposals as versioned data (issue 10 §1).

``proposal_forms``: ``{id, code, name, org_id (None: every organization), work_kinds,
current_version, active, standard}``; ``proposal_form_versions``: ``{id: "<form>@<n>", form_id,
version, definition, created_by, created_at}``, never changed once written. A revision adds
a version; a proposal keeps the version it was made with (``form_version``), so its printed
page never changes under it. The standard forms are stored once at start
(``ensure_standard_forms``); operators revise them and add more (system-wide), an orderer's
holder of ``proposals.forms`` keeps forms of its own organization.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.errors import NotAuthenticated, NotFoundError, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import OrgContext, Subject
from api.proposals.forms import FormError, check_definition
from api.proposals.models import FORM_VERSIONS, FORMS
from api.proposals.standard_forms import STANDARD_FORMS
from storage.errors import DuplicateKey
from storage.query import Query

if TYPE_CHECKING:
    from api.container import Container

FORM_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def version_id(form_id: str, version: int) -> str:
    return f"{form_id}@{version}"


def form_error(exc: FormError) -> ValidationFailed:
    first = exc.errors[0]
    return ValidationFailed(first["message"], field=first["field"], errors=exc.errors)


class FormService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy

    async def ensure_standard_forms(self) -> int:
        """Store version 1 of every standard form not stored yet; returns how many."""
        made = 0
        now = to_iso(self.clock.now())
        for code, definition in STANDARD_FORMS.items():
            if await self.records.get(FORMS, code) is not None:
                continue
            checked = check_definition(definition)
            try:
                async with self.container.uow() as uow:
                    await uow.records.insert(
                        FORM_VERSIONS,
                        {
                            "id": version_id(code, 1),
                            "form_id": code,
                            "number": 1,
                            "definition": checked,
                            "created_by": "system",
                            "created_at": now,
                        },
                    )
                    await uow.records.insert(
                        FORMS,
                        {
                            "id": code,
                            "code": code,
                            "name": checked["name"],
                            "org_id": None,
                            "work_kinds": checked["work_kinds"],
                            "current_version": 1,
                            "active": True,
                            "standard": True,
                            "created_at": now,
                            "updated_at": now,
                        },
                    )
                made += 1
            except DuplicateKey:
                continue  # another process stored it first
        return made

    # -- reading ---------------------------------------------------------------------------

    async def forms(
        self, subject: Subject | None, *, org_id: str | None = None, include_inactive: bool = False
    ) -> list[dict[str, Any]]:
        """System-wide forms plus those of ``org_id`` (default: the subject's organization)."""
        if subject is None:
            raise NotAuthenticated()
        wanted = {None, org_id or subject.org_id}
        page = await self.records.find(FORMS, Query(limit=1000))
        out = [
            f
            for f in page.items
            if f.get("org_id") in wanted and (include_inactive or f.get("active", True))
        ]
        return sorted(out, key=lambda f: (not f.get("standard"), str(f.get("name"))))

    async def get(self, form_id: str) -> dict[str, Any]:
        form = await self.records.get(FORMS, form_id) if FORM_ID.match(form_id) else None
        if form is None:
            raise NotFoundError("様式が見つかりません。")
        return form

    async def version(self, form_id: str, version: int | None = None) -> dict[str, Any]:
        """A version of a form (the current one by default)."""
        form = await self.get(form_id)
        number = version or int(form["current_version"])
        found = await self.records.get(FORM_VERSIONS, version_id(form_id, number))
        if found is None:
            raise NotFoundError("様式の版が見つかりません。")
        return {**found, "version": int(found["number"]), "form": form}

    async def versions(self, form_id: str) -> list[dict[str, Any]]:
        form = await self.get(form_id)
        ids = [version_id(form_id, n) for n in range(1, int(form["current_version"]) + 1)]
        found = await self.records.get_many(FORM_VERSIONS, ids)
        return sorted(found, key=lambda v: int(v["number"]))

    # -- managing --------------------------------------------------------------------------

    def _manage(self, subject: Subject | None, org_id: str | None) -> Subject:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "proposals.forms.manage", OrgContext(org_id))
        return subject

    async def create(
        self, subject: Subject | None, definition: dict[str, Any], org_id: str | None
    ) -> dict[str, Any]:
        """A new form, version 1 (operators: system-wide; others: their organization's)."""
        who = self._manage(subject, org_id)
        try:
            checked = check_definition(definition)
        except FormError as exc:
            raise form_error(exc) from exc
        form_id = new_id()
        now = to_iso(self.clock.now())
        async with self.container.uow() as uow:
            await uow.records.insert(
                FORM_VERSIONS,
                {
                    "id": version_id(form_id, 1),
                    "form_id": form_id,
                    "number": 1,
                    "definition": checked,
                    "created_by": who.user_id,
                    "created_at": now,
                },
            )
            form = await uow.records.insert(
                FORMS,
                {
                    "id": form_id,
                    "code": form_id,
                    "name": checked["name"],
                    "org_id": org_id,
                    "work_kinds": checked["work_kinds"],
                    "current_version": 1,
                    "active": True,
                    "standard": False,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            await AuditLog(uow.records, self.clock).record(
                who, "proposals.form_created", f"{FORMS}/{form_id}", after=form
            )
        return form

    async def revise(
        self, subject: Subject | None, form_id: str, definition: dict[str, Any], version: int
    ) -> dict[str, Any]:
        """A new version of the form; proposals made with older versions keep theirs."""
        form = await self.get(form_id)
        who = self._manage(subject, form.get("org_id"))
        try:
            checked = check_definition(definition)
        except FormError as exc:
            raise form_error(exc) from exc
        number = int(form["current_version"]) + 1
        now = to_iso(self.clock.now())
        async with self.container.uow() as uow:
            await uow.records.insert(
                FORM_VERSIONS,
                {
                    "id": version_id(form_id, number),
                    "form_id": form_id,
                    "number": number,
                    "definition": checked,
                    "created_by": who.user_id,
                    "created_at": now,
                },
            )
            updated = await uow.records.update(
                FORMS,
                form_id,
                {
                    "current_version": number,
                    "name": checked["name"],
                    "work_kinds": checked["work_kinds"],
                    "updated_at": now,
                },
                version,
            )
            await AuditLog(uow.records, self.clock).record(
                who,
                "proposals.form_revised",
                f"{FORMS}/{form_id}",
                before=form,
                after=updated,
                detail={"version": number},
            )
        return updated

    async def set_active(
        self, subject: Subject | None, form_id: str, active: bool, version: int
    ) -> dict[str, Any]:
        """Retire a form (no new proposals with it) or bring it back."""
        form = await self.get(form_id)
        who = self._manage(subject, form.get("org_id"))
        async with self.container.uow() as uow:
            updated = await uow.records.update(
                FORMS, form_id, {"active": active, "updated_at": to_iso(self.clock.now())}, version
            )
            await AuditLog(uow.records, self.clock).record(
                who,
                "proposals.form_activated" if active else "proposals.form_retired",
                f"{FORMS}/{form_id}",
                before=form,
                after=updated,
            )
        return updated
