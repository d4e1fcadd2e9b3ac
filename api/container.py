"""The backends chosen by settings, built once and shared by the API, the CLI and workers.

Adapter modules are imported lazily so the embedded default never loads pymongo, minio or
the Elasticsearch client, and an unreachable backend surfaces as a health entry and 503s
rather than a crash at start.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from api.audit.keys import AuditKeyError, KeyFile, bind_key_file
from api.config import Settings
from api.jobs.ledger import JobLedger
from api.keys import scopes
from api.keys.kek import Kek
from api.keys.keyring import KeyringKek
from api.keys.ring import ScopeKeyRing
from api.kit.clock import Clock, FileClock, SystemClock
from api.kit.uow import UnitOfWork
from api.mail.transport import MailTransport, build_transport
from api.permissions.policy import Policy
from storage.blobs.sealing import Sealing
from storage.ports import BlobStore, Health, JobQueue, RecordStore, SearchIndex

if TYPE_CHECKING:
    from api.mail.outbox import MailOutbox
    from api.notifications.service import Notifier
    from api.pdf import PdfRenderer

log = logging.getLogger("kura.container")


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_records(settings: Settings) -> RecordStore:
    rs = settings.records
    if rs.backend == "mongodb":
        cls = _load("storage.records.mongo:MongoRecordStore")
        store: RecordStore = cls(rs.mongo_uri, rs.mongo_db, timeout_s=rs.timeout_s)
        return store
    cls = _load("storage.records.sqlite:SqliteRecordStore")
    sqlite_store: RecordStore = cls(settings.sqlite_path)
    return sqlite_store


def build_kek(settings: Settings) -> Kek:
    """The key-encryption key's port (``api.keys.kek``): the keyring file, or an HSM."""
    ks = settings.keys
    if ks.kek == "pkcs11":
        from api.keys.hsm import Pkcs11Kek

        return Pkcs11Kek(ks.pkcs11_module, ks.pkcs11_token, ks.pkcs11_key_label, ks.pkcs11_pin_file)
    return KeyringKek(settings.keyring_path)


def build_keys(settings: Settings) -> ScopeKeyRing:
    """The data keys per scope (``api.keys.ring``), in their own store apart from the records:
    a SQLite file beside the keyring, or a database of their own on the MongoDB server."""
    ks = settings.keys
    store: RecordStore
    if (ks.store or settings.records.backend) == "mongodb":
        cls = _load("storage.records.mongo:MongoRecordStore")
        db = ks.keys_db or f"{settings.records.mongo_db}_keys"
        store = cls(settings.records.mongo_uri, db, timeout_s=settings.records.timeout_s)
    else:
        cls = _load("storage.records.sqlite:SqliteRecordStore")
        path = settings.keyring_path
        store = cls(path.with_name(f"{path.name}.keys.sqlite3"))
    return ScopeKeyRing(
        store,
        settings.keyring_path,
        kek=build_kek(settings),
        create_keyring=ks.create_keyring,
        cache_s=ks.cache_s,
        revalidate_s=ks.revalidate_s,
    )


def blob_sealing(settings: Settings, keys: ScopeKeyRing) -> Sealing | None:
    """What the blob adapters seal: every object and upload of a scope (``api.keys.scopes``)
    when ``keys.encryption`` is on."""
    if not settings.keys.encryption:
        return None
    return Sealing(keys, scopes.scope_of_key, scopes.scope_of_handle)


def build_blobs(settings: Settings, sealing: Sealing | None = None) -> BlobStore:
    bs = settings.blobs
    if bs.backend == "s3":
        cls = _load("storage.blobs.s3:S3BlobStore")
        s3: BlobStore = cls(
            endpoint=bs.s3_endpoint,
            access_key=bs.s3_access_key.get_secret_value(),
            secret_key=bs.s3_secret_key.get_secret_value(),
            bucket=bs.s3_bucket,
            secure=bs.s3_secure,
            region=bs.s3_region,
            part_size=bs.part_size,
            spool_dir=settings.data_dir / "spool",
            sealing=sealing,
        )
        return s3
    cls = _load("storage.blobs.local:LocalBlobStore")
    local: BlobStore = cls(settings.blobs_root, sealing=sealing)
    return local


def build_index(settings: Settings) -> SearchIndex:
    ss = settings.search
    if ss.backend == "elasticsearch":
        cls = _load("indexer.backends.elasticsearch:ElasticsearchIndex")
        es: SearchIndex = cls(
            hosts=ss.es_hosts,
            index=ss.es_index,
            username=ss.es_username,
            password=ss.es_password.get_secret_value() if ss.es_password else None,
            node_class=ss.es_node_class,
            timeout_s=ss.timeout_s,
        )
        return es
    cls = _load("indexer.backends.embedded:TantivyIndex")
    tantivy: SearchIndex = cls(settings.tantivy_path)
    return tantivy


def build_jobs(settings: Settings) -> JobQueue:
    cls = _load("api.kit.jobs:CeleryJobQueue")
    jobs: JobQueue = cls(settings)
    return jobs


class Container:
    """Everything a service needs: ports, clock, policy. One per process."""

    def __init__(
        self,
        settings: Settings,
        *,
        records: RecordStore | None = None,
        blobs: BlobStore | None = None,
        index: SearchIndex | None = None,
        jobs: JobQueue | None = None,
        clock: Clock | None = None,
        mail_transport: MailTransport | None = None,
        keys: ScopeKeyRing | None = None,
    ) -> None:
        self.settings = settings
        self.records = records or build_records(settings)
        # Data keys per scope; the blob adapters seal with them (issue 12 §1).
        self.keys = keys or build_keys(settings)
        self.blobs = blobs or build_blobs(settings, blob_sealing(settings, self.keys))
        self.index = index or build_index(settings)
        self.jobs = jobs or build_jobs(settings)
        self.clock: Clock = clock or (
            FileClock(settings.test_clock_file) if settings.test_clock_file else SystemClock()
        )
        from api.modules import module_rules

        self.policy = Policy(module_rules())
        self.mail_transport: MailTransport = mail_transport or build_transport(settings.mail)
        # The audit chain's key, outside the data folder; every AuditLog over these records
        # signs with it (api.audit.keys).
        self.audit_keys = KeyFile(settings.audit_key_path, create=settings.audit.create_key)
        bind_key_file(self.records, self.audit_keys)
        self._spawned: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` off the request that asked for it (a cache filled after the answer:
        ``api.schedules.months``; a unit of work's background clean-up: ``api.kit.uow``);
        ``close`` waits for what still runs before the stores close. ``work`` handles its own
        errors."""
        task = asyncio.get_running_loop().create_task(work)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
        return task

    async def settle(self) -> None:
        """Wait until nothing ``spawn`` started on this loop still runs (tests; a worker's
        job before it returns, ``workers.celery_app.run_async``)."""
        while here := self._spawned_here():
            await asyncio.gather(*here, return_exceptions=True)

    def _spawned_here(self) -> list[asyncio.Task[Any]]:
        """What ``spawn`` started on the running loop and still runs (an eager worker job
        spawns on its runtime's loop, in another thread, into the test's container)."""
        loop = asyncio.get_running_loop()
        return [t for t in list(self._spawned) if t.get_loop() is loop]

    async def open(self) -> None:
        """Open every backend; one that is down is logged and reported by ``health``."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        from api.keys.kek import KekError

        try:
            await self.keys.open()
        except KekError:
            await self.keys.close()
            raise  # an exposed, unreadable, malformed or unreachable KEK: refuse to start
        except Exception as exc:
            log.error("key store failed to open: %s", exc)
        for port in (self.records, self.blobs, self.index):
            try:
                await port.open()
            except Exception as exc:
                log.error("backend %s failed to open: %s", port.name, exc)
        from api.schema import ensure_schema

        try:
            await ensure_schema(self)
        except Exception as exc:
            log.error("schema set-up failed (retried on next start): %s", exc)
        from api.audit.service import AuditLog

        try:
            await AuditLog(self.records, self.clock).keys()
        except AuditKeyError:
            await self.close()
            raise  # an exposed, unreadable or malformed key file: refuse to start
        except Exception as exc:
            log.error("audit key not loaded yet (retried on first use): %s", exc)

    async def close(self) -> None:
        if waiting := self._spawned_here():
            _, late = await asyncio.wait(waiting, timeout=10)
            for task in late:
                task.cancel()
        close_jobs = getattr(self.jobs, "close", None)
        if close_jobs is not None:
            try:
                result = close_jobs()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                log.warning("job queue failed to close: %s", exc)
        for port in (self.records, self.blobs, self.index, self.keys):
            try:
                await port.close()
            except Exception as exc:
                log.warning("backend %s failed to close: %s", port.name, exc)

    async def health(self) -> dict[str, Health]:
        return {
            "records": await self.records.health(),
            "blobs": await self.blobs.health(),
            "search": await self.index.health(),
            "jobs": await self.jobs.health(),
            "keys": await self.keys.health(),
        }

    @property
    def ledger(self) -> JobLedger:
        """The job records (``api.jobs``) on this container's store, queue and clock."""
        return JobLedger(self.records, self.jobs, self.clock, self.settings.jobs)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.records, self.index, self.ledger, self.spawn)

    @property
    def pdf(self) -> PdfRenderer:
        """The shared PDF renderer (one per process: its compilers cache fonts)."""
        from api.pdf import shared_renderer

        return shared_renderer(
            self.settings.pdf.font_dirs, max_children=self.settings.pdf.max_children
        )

    def outbox(self) -> MailOutbox:
        """The mail outbox (every outgoing message is queued here first)."""
        from api.mail.outbox import MailOutbox

        return MailOutbox(self.records, self.clock, self.settings.mail, self.mail_transport)

    def notifier(self) -> Notifier:
        """In-app notifications plus mail by each user's preferences."""
        from api.notifications.service import Notifier

        return Notifier(self.records, self.clock, self.settings, self.outbox())
