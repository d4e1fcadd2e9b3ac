"""Upload limits: per-upload size, per-work quota, upload lifetime, multipart file size.

Read from ``settings.archive`` (``KURA_ARCHIVE__...``).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.config import Settings
from api.errors import PayloadTooLarge

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    work_quota_bytes: int
    upload_expiry_hours: float
    max_form_file_bytes: int
    max_form_files: int


def limits_of(settings: Settings) -> Limits:
    group = settings.archive
    return Limits(
        max_upload_bytes=group.max_upload_bytes,
        work_quota_bytes=group.work_quota_bytes,
        upload_expiry_hours=group.upload_expiry_hours,
        max_form_file_bytes=group.max_form_file_bytes,
        max_form_files=group.max_form_files,
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
