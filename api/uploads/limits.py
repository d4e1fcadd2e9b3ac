"""Upload limits: per-upload size, per-work quota, upload lifetime, multipart file size.

Read from ``settings.archive`` (an ``ArchiveSettings`` group, ``KURA_ARCHIVE__...``) when the
settings have one, else these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.config import Settings
from api.errors import PayloadTooLarge

GIB = 1 << 30
MIB = 1 << 20
MAX_UPLOAD_BYTES = 20 * GIB
WORK_QUOTA_BYTES = 200 * GIB
UPLOAD_EXPIRY_HOURS = 7 * 24
MAX_FORM_FILE_BYTES = 100 * MIB
MAX_FORM_FILES = 1000


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    work_quota_bytes: int = WORK_QUOTA_BYTES
    upload_expiry_hours: float = UPLOAD_EXPIRY_HOURS
    max_form_file_bytes: int = MAX_FORM_FILE_BYTES
    max_form_files: int = MAX_FORM_FILES


def limits_of(settings: Settings) -> Limits:
    group = getattr(settings, "archive", None)
    defaults = Limits()
    if group is None:
        return defaults
    return Limits(
        **{
            name: getattr(group, name, getattr(defaults, name))
            for name in Limits.__dataclass_fields__
        }
    )


def _human(size: int) -> str:
    if size >= GIB:
        return f"{size / GIB:.1f} GiB"
    return f"{size / MIB:.1f} MiB"


class FileTooLarge(PayloadTooLarge):
    code = "file_too_large"
    title = "ファイルのサイズが上限を超えています。"

    def __init__(self, size: int | None, limit: int) -> None:
        detail = f"1ファイルの上限は {_human(limit)} です。"
        if size is not None:
            detail = f"ファイルのサイズ（{_human(size)}）が上限（{_human(limit)}）を超えています。"
        super().__init__(detail, limit=limit)


class QuotaExceeded(PayloadTooLarge):
    code = "quota_exceeded"
    title = "この案件の保存容量の上限を超えます。"

    def __init__(self, used: int, adding: int, quota: int) -> None:
        super().__init__(
            f"使用中 {_human(used)} に {_human(adding)} を加えると"
            f"上限 {_human(quota)} を超えます。",
            used=used,
            quota=quota,
        )
