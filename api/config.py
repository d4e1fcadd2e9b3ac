"""Settings: one pydantic-settings class with nested groups, read only when asked.

Every value comes from ``KURA_...`` environment variables, nested groups joined by ``__``
(``KURA_SEARCH__BACKEND=elasticsearch``). Nothing is read at import time: callers build
``Settings()`` and pass it explicitly into ``create_app()`` and ``create_celery()``.
An unknown backend name fails at start with pydantic's message naming the valid choices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RecordsSettings(BaseModel):
    backend: Literal["sqlite", "mongodb"] = "sqlite"
    # SQLite file; default <data_dir>/kura.sqlite3
    sqlite_path: Path | None = None
    mongo_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_db: str = "kura"
    # Seconds before an unreachable MongoDB answers 503 instead of hanging.
    timeout_s: float = 5.0


class BlobsSettings(BaseModel):
    backend: Literal["local", "s3"] = "local"
    # Local root; default <data_dir>/blobs
    local_root: Path | None = None
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_bucket: str = "kura"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    # Multipart part size for large objects (S3 allows 5 MiB..5 GiB; 16-64 MiB is the sweet spot).
    part_size: int = 32 * 1024 * 1024


class SearchSettings(BaseModel):
    backend: Literal["tantivy", "elasticsearch"] = "tantivy"
    # Tantivy index folder; default <data_dir>/index
    tantivy_path: Path | None = None
    es_hosts: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:9200"])
    es_index: str = "kura"
    es_username: str | None = None
    es_password: SecretStr | None = None
    # Import path "module:Class" of an elastic_transport node class. Test configuration only:
    # OpenSearch-API test servers need a plain-JSON shim (shared/infra.md).
    es_node_class: str | None = None
    timeout_s: float = 10.0


# Exit code of a worker that stopped to be replaced by a fresh process (its memory bound was
# reached, ``JobsSettings.worker_max_*``); ``kura serve`` restarts a worker that exits so.
WORKER_RECYCLE_EXIT = 75


class JobsSettings(BaseModel):
    # None: the embedded broker, SQLite through kombu's SQLAlchemy transport in <data_dir>.
    broker_url: str | None = None
    result_backend: str | None = None
    # Run tasks inline in the caller (unit tests of services only).
    eager: bool = False
    # Worker recycling: the process running tasks is replaced after this many tasks, or after
    # a task that leaves it above this resident memory (MiB); 0 turns either off. Prefork
    # children are replaced by Celery; a solo worker (``kura serve``) exits with
    # ``WORKER_RECYCLE_EXIT`` and is restarted by its supervisor (docs/operations.md).
    worker_max_tasks_per_child: int = Field(default=1000, ge=0)
    worker_max_memory_per_child_mib: int = Field(default=400, ge=0)


class AuthSettings(BaseModel):
    """Password and session policy (seed 001 別表1-1 8(5), 別表3)."""

    password_min_length: int = Field(default=12, ge=8, le=128)
    # Days after which a password must be changed; 0 disables the forced change.
    password_max_age_days: int = Field(default=90, ge=0)
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    session_ttl_minutes: int = Field(default=8 * 60, ge=1)
    token_ttl_days: int = Field(default=90, ge=1)
    cookie_secure: bool = True
    # argon2id parameters (RFC 9106 second recommended option, memory-constrained).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1


class ArchiveSettings(BaseModel):
    """Limits of the archive's intake (issue 3): per upload, per work, upload lifetime."""

    max_upload_bytes: int = Field(default=20 * 1024**3, ge=1)
    work_quota_bytes: int = Field(default=200 * 1024**3, ge=1)
    upload_expiry_hours: float = Field(default=7 * 24, gt=0)
    max_form_file_bytes: int = Field(default=100 * 1024**2, ge=1)
    max_form_files: int = Field(default=1000, ge=1)
    # Retention of archived works, in years from the archive date: the longest of the
    # classes its files carry, at least the default (completion drawings, geology, surveys
    # are kept longer).
    retention_default_years: int = Field(default=10, ge=1, le=1000)
    retention_years_by_class: dict[str, int] = Field(
        default_factory=lambda: {"DRAWINGF": 30, "BORING": 30, "SURVEY": 30}
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KURA_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    data_dir: Path = Path("kura-data")
    # The built web interface; default: ui/dist beside the source (an installed image sets it).
    ui_dir: Path | None = None
    log_level: str = "INFO"
    log_json: bool = True
    records: RecordsSettings = RecordsSettings()
    blobs: BlobsSettings = BlobsSettings()
    search: SearchSettings = SearchSettings()
    jobs: JobsSettings = JobsSettings()
    auth: AuthSettings = AuthSettings()
    archive: ArchiveSettings = ArchiveSettings()

    @property
    def sqlite_path(self) -> Path:
        return self.records.sqlite_path or self.data_dir / "kura.sqlite3"

    @property
    def blobs_root(self) -> Path:
        return self.blobs.local_root or self.data_dir / "blobs"

    @property
    def tantivy_path(self) -> Path:
        return self.search.tantivy_path or self.data_dir / "index"

    @property
    def broker_url(self) -> str:
        if self.jobs.broker_url:
            return self.jobs.broker_url
        return f"sqla+sqlite:///{(self.data_dir / 'broker.sqlite3').resolve()}"

    @property
    def result_backend(self) -> str:
        if self.jobs.result_backend:
            return self.jobs.result_backend
        return f"db+sqlite:///{(self.data_dir / 'results.sqlite3').resolve()}"
