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
    # Durable delivery (api/jobs): a running job's lease, renewed by its worker every quarter;
    # past it the sweeper takes the worker for dead and sends the job again.
    lease_s: float = Field(default=60.0, ge=1)
    # Restarts of a job whose worker stopped mid-run before the job is marked failed.
    max_restarts: int = Field(default=3, ge=0)
    # How often beat runs the sweepers (jobs.sweep, ingest.recover).
    sweep_s: float = Field(default=30.0, ge=1)
    # Finished jobs stay listed this long; failed ones until an operator retries or discards.
    keep_done_hours: float = Field(default=24.0, ge=0)
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
    # Earlier passwords a change may not reuse (their hashes are kept; 0: only the current).
    password_history: int = Field(default=5, ge=0, le=24)
    lockout_threshold: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    session_ttl_minutes: int = Field(default=8 * 60, ge=1)
    token_ttl_days: int = Field(default=90, ge=1)
    cookie_secure: bool = True
    # argon2id parameters (RFC 9106 second recommended option, memory-constrained).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
    # The request header in which the TLS-terminating proxy passes the subject of a verified
    # client certificate (e-bidding IC card, seed 004 第1 3), e.g. nginx's $ssl_client_s_dn
    # as ``X-SSL-Client-S-DN``; the proxy must drop the header from clients. Empty: ignored.
    client_cert_header: str = ""


# Retention years per document class (電子納品 top folder) with their source (issue 8
# item 12). 建設業法施行規則 第26条第5項 lists the 図書 a contractor keeps (一 完成図, 二 発注者との
# 打合せ記録, 三 施工体系図) and 第28条第2項 keeps them ten years from the handover; seed 003
# (特記事項 第12) cites the same clauses for the 保存期間 of such 図書. Classes the source does
# not name take ``retention_default_years``.
RETENTION_SOURCES: dict[str, tuple[int, str]] = {
    "DRAWINGF": (10, "建設業法施行規則 第26条第5項第1号（完成図）、第28条第2項（10年）"),
    "MEET": (10, "建設業法施行規則 第26条第5項第2号（発注者との打合せ記録）、第28条第2項（10年）"),
}


class ArchiveSettings(BaseModel):
    """Limits of the archive's intake (issue 3): per upload, per work, upload lifetime."""

    max_upload_bytes: int = Field(default=20 * 1024**3, ge=1)
    work_quota_bytes: int = Field(default=200 * 1024**3, ge=1)
    upload_expiry_hours: float = Field(default=7 * 24, gt=0)
    max_form_file_bytes: int = Field(default=100 * 1024**2, ge=1)
    max_form_files: int = Field(default=1000, ge=1)
    # One attachment of a post, proposal, bond or application (api/attachments).
    max_attachment_bytes: int = Field(default=2 * 1024**3, ge=1)
    # Retention of archived works, in years from the archive date: the longest of the
    # classes its files carry, at least the default. The per-class defaults are the legal
    # minimums of ``RETENTION_SOURCES``; an orderer's 文書管理規程 sets longer ones here.
    retention_default_years: int = Field(default=10, ge=1, le=1000)
    # Objects no record names (a crash between put and commit) are deleted once older than
    # this; beat sweeps at the same interval (api/archive/orphans.py).
    orphan_grace_hours: float = Field(default=6.0, gt=0)
    retention_years_by_class: dict[str, int] = Field(
        default_factory=lambda: {k: v[0] for k, v in RETENTION_SOURCES.items()}
    )


class DeliverableSettings(BaseModel):
    """The 電子納品 check (``indexer.extract.deliverable``): the virus scanner of rule 29.
    ``clamd_url``: ClamAV's clamd as ``tcp://host:port`` or ``unix:///path``; unset, every
    report says the virus check was not run (never that the files are clean)."""

    clamd_url: str | None = Field(default=None, pattern=r"^(tcp://[^/\s]+:\d+|unix:///\S+)$")
    clamd_timeout_s: float = Field(default=60.0, gt=0)


class PdfSettings(BaseModel):
    """The shared PDF renderer (``api.pdf``): extra font folders searched before Debian's, and
    how many bundle child processes (about 100 MiB each) one process runs at once; further
    bundles wait for a free one."""

    font_dirs: list[Path] = Field(default_factory=list)
    max_children: int = Field(default=2, ge=1, le=64)


class MailSettings(BaseModel):
    """Outgoing mail (``api.mail``). ``outbox`` (the embedded default) keeps every message in
    the outbox without delivering it; ``smtp`` delivers through a relay (STARTTLS or implicit
    TLS, TLS 1.2 or newer, optional AUTH)."""

    transport: Literal["outbox", "smtp"] = "outbox"
    from_address: str = "kura@localhost"
    from_name: str = "Kura 情報共有システム"
    # Links in messages point here (the address users reach the web interface at).
    base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # A CA bundle for a relay with a private CA; the system store otherwise.
    smtp_ca_file: Path | None = None
    smtp_timeout_s: float = Field(default=20.0, gt=0)
    # Delivery attempts before a message is dead-lettered; backoff doubles from 30 s to 1 h.
    max_attempts: int = Field(default=10, ge=1, le=100)
    batch: int = Field(default=200, ge=1, le=10000)


class MapSettings(BaseModel):
    """The background map of the search page's map filter (issue 8 §1 item 9). Without a tile
    source the map draws Japan's outline shipped with the interface, and nothing is fetched
    from elsewhere; with one (e.g. a prefecture's or the GSI's tile server) its origin is added
    to the interface's Content-Security-Policy ``img-src``."""

    # ``https://tiles.example.jp/{z}/{x}/{y}.png``: https (or http), with {z}, {x} and {y}
    tile_url: str | None = Field(
        default=None, max_length=500, pattern=r"^https?://[^\s/]+/\S*\{z\}\S*\{x\}\S*\{y\}\S*$"
    )
    attribution: str = Field(default="", max_length=300)
    max_zoom: int = Field(default=18, ge=1, le=22)


class AuditSettings(BaseModel):
    """The audit chain's key (issue 7 item 6)."""

    # HMAC key file, outside the data folder and the database; default
    # <data_dir>.audit-key beside the data folder. 0600; back it up apart from the data.
    key_file: Path | None = None
    # Create the key file on the first start when missing. Set false where several machines
    # share the records: create the key once and install the same file on each machine.
    create_key: bool = True


class ScheduleSettings(BaseModel):
    """Schedules (``api.schedules``): the zone of dates given without one, and the bounds of
    an iCalendar import (issue 9 "Bad input": 100 MB of events, millions of instances)."""

    timezone: str = "Asia/Tokyo"
    max_import_bytes: int = Field(default=20 * 1024**2, ge=1024)
    max_import_events: int = Field(default=20_000, ge=1)
    # Longest range one view may ask for (a year's list view and a little more).
    max_view_days: int = Field(default=400, ge=1, le=3700)
    # Most occurrences one view answers; beyond it the answer is cut and says so.
    max_view_occurrences: int = Field(default=20_000, ge=100)


class BondSettings(BaseModel):
    """Bonds (``api.bonds``, issue 11): the PKI issuers' certificates must chain to, the key
    file of Kura's own status-list key, and the limits on key guesses."""

    # PEM files of the trusted root CAs (seed 002 証明書: 商業登記認証局, 公的個人認証,
    # bridge-certified CAs). An issuer's certificate must chain to one of them.
    trust_anchors: list[Path] = Field(default_factory=list)
    # CRLs of those CAs and their intermediates (PEM or DER), re-read when a file changes.
    crl_files: list[Path] = Field(default_factory=list)
    # Refuse a certificate whose issuing CA has no current CRL (revocation unknown).
    require_crl: bool = True
    # Kura's bond key file (status-list signing key, the key wrapping Kura-held issuer keys);
    # default <data_dir>.bonds-key beside the data folder, 0600, like the audit key.
    key_file: Path | None = None
    # How long a published status list stays fresh (W3C Bitstring Status List ttl).
    status_ttl_s: int = Field(default=300, ge=10, le=86400)
    # Failed key presentations allowed per user and per bond within the window.
    attempts_per_user: int = Field(default=10, ge=1)
    attempts_per_bond: int = Field(default=20, ge=1)
    attempt_window_minutes: int = Field(default=15, ge=1)


class HttpSettings(BaseModel):
    """Request body limits (issue 7 item 4), checked before a body is read: JSON and other
    small bodies, the multipart upload form as a whole. tus uploads stream up to
    ``archive.max_upload_bytes``."""

    max_body_bytes: int = Field(default=1024**2, ge=1024)
    max_form_body_bytes: int = Field(default=1024**3, ge=1024)


class KeysSettings(BaseModel):
    """Data keys per scope and the key-encryption key that wraps them (issue 12 §1,
    ``api.keys``)."""

    # Seal every stored object of a scope with AES-256-GCM (storage.blobs.sealing). Off:
    # objects are still stored per scope (erasure deletes them) but as they are.
    encryption: bool = True
    # The keyring file holding the key-encryption key, outside the data folder; default
    # <data_dir>.keyring beside it. 0600, created on the first start when missing.
    keyring_file: Path | None = None
    create_keyring: bool = True
    # Where the KEK lives (api.keys.kek): ``keyring`` (the file above) or ``pkcs11`` (a
    # non-extractable AES-256 key inside an HSM that wraps and unwraps, api.keys.hsm).
    kek: Literal["keyring", "pkcs11"] = "keyring"
    # The HSM vendor's PKCS#11 library, the token's label, the label of the KEK(s) on it, and a
    # 0600 file holding the token's user PIN.
    pkcs11_module: Path | None = None
    pkcs11_token: str = "kura"  # noqa: S105 (a token label, not a password)
    pkcs11_key_label: str = "kura-kek"
    pkcs11_pin_file: Path | None = None
    # Where the wrapped data keys live, apart from the records (backed up apart, with a shorter
    # retention, so erasure wins over backups). None: the records' backend. sqlite:
    # <keyring_file>.keys.sqlite3; mongodb: database ``keys_db`` on records.mongo_uri.
    store: Literal["sqlite", "mongodb"] | None = None
    keys_db: str | None = None
    # Unwrapped data keys stay in a process's memory at most this long; every process checks
    # at most this often whether a key was destroyed meanwhile (erasure by another process).
    cache_s: float = Field(default=300.0, gt=0)
    revalidate_s: float = Field(default=1.0, gt=0)


class BackupSettings(BaseModel):
    """Backup generations (issue 12 §3, ``api.backup``; seed 001 別表3 8, 10)."""

    # The folder that holds the data generations; None: ``kura backup`` needs ``--to``.
    target: Path | None = None
    # The folder of the key generations, apart from the data; default <target>-keys.
    keys_target: Path | None = None
    # Or an S3 bucket for the data generations (instead of ``target``) and one for the keys
    # (default <bucket>-keys), on this endpoint; each unset endpoint setting: the blobs' own.
    s3_bucket: str | None = None
    s3_keys_bucket: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_secure: bool | None = None
    s3_region: str | None = None
    # Data generations kept: the newest ``keep_last`` ones, and the newest of each of the last
    # N days, weeks, months.
    keep_last: int = Field(default=3, ge=1)
    keep_daily: int = Field(default=7, ge=1)
    keep_weekly: int = Field(default=4, ge=0)
    keep_monthly: int = Field(default=12, ge=0)
    # Key generations kept (newest first): shorter than the data, so erasure wins over
    # backups: once these rotated past an erasure, no backup can decrypt the erased scope.
    keep_keys: int = Field(default=7, ge=1)
    # One backup at a time per target (``api.backup.lock``): the holder renews its lock
    # every fifth of this; a lock not renewed for this long (or whose process is gone, on
    # the same host) is taken over.
    lock_stale_s: float = Field(default=900.0, gt=0)


class MonitorSettings(BaseModel):
    """What ``/metrics`` watches besides the backends (issue 12 §4, ``api.ops.watch``)."""

    # PEM files of the TLS certificate(s) the reverse proxy serves, for their expiry gauge
    # (an ACME-managed proxy: probe it with the blackbox exporter instead, docs/alerts.yml).
    tls_cert_files: list[Path] = Field(default_factory=list)


class ErasureSettings(BaseModel):
    """Scheduled erasure (issue 12 §2, ``api.erasures``; seed 001 §3-6, 別表3 12(1): 契約書に
    記載された期日に達した際、自動あるいは手動によりデータを削除)."""

    # Days after a municipality's agreement ends (覚書の利用終了日) until everything of it is
    # erased: the contract's period to take its data out.
    agreement_days: int = Field(default=90, ge=0, le=3650)
    # Days after an archived work's retention ended until it is disposed of and erased.
    retention_days: int = Field(default=30, ge=0, le=3650)
    # A planned erasure is told to the supervisors when it is this near, and reminded
    # ``reminder_days`` before the day.
    notice_days: int = Field(default=60, ge=1, le=3650)
    reminder_days: int = Field(default=14, ge=1, le=3650)


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
    deliverables: DeliverableSettings = DeliverableSettings()
    pdf: PdfSettings = PdfSettings()
    mail: MailSettings = MailSettings()
    audit: AuditSettings = AuditSettings()
    map: MapSettings = MapSettings()
    schedules: ScheduleSettings = ScheduleSettings()
    bonds: BondSettings = BondSettings()
    # Tests only (the browser tests' server): a file holding an ISO time; when set, the
    # clock reads the time from it (``api.kit.clock.FileClock``). Never set in production.
    test_clock_file: Path | None = None
    http: HttpSettings = HttpSettings()
    keys: KeysSettings = KeysSettings()
    backup: BackupSettings = BackupSettings()
    monitor: MonitorSettings = MonitorSettings()
    erasure: ErasureSettings = ErasureSettings()

    @property
    def sqlite_path(self) -> Path:
        return self.records.sqlite_path or self.data_dir / "kura.sqlite3"

    @property
    def audit_key_path(self) -> Path:
        return self.audit.key_file or self.data_dir.parent / f"{self.data_dir.name}.audit-key"

    @property
    def keyring_path(self) -> Path:
        return self.keys.keyring_file or self.data_dir.parent / f"{self.data_dir.name}.keyring"

    @property
    def bonds_key_path(self) -> Path:
        return self.bonds.key_file or self.data_dir.parent / f"{self.data_dir.name}.bonds-key"

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
