"""Errors of the works domain (typed, carrying status and a stable code)."""

from __future__ import annotations

from api.errors import Conflict


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "この状態には変更できません。"


class WorkNotEmpty(Conflict):
    code = "work_not_empty"
    title = "書類やファイルが登録済み、または登録状態ではない案件は削除できません。"


class ArchivedReadOnly(Conflict):
    code = "archived_read_only"
    title = "保管済みの案件は変更できません。"


class ArchiveBlocked(Conflict):
    code = "archive_blocked"
    title = "電子納品の検査結果にエラーがあるため、保管に移せません。"
