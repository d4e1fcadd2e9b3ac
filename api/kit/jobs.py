"""The JobQueue adapter: sends Celery tasks by name. ``api`` never imports ``workers``.

Both sides share one configuration, ``celery_config(settings)``: the API's client app uses it
to route and serialize what it sends, ``workers.celery_app.create_celery`` uses it for the
worker. Keeping it here (``workers -> api`` is the allowed direction) means the routes and
serializers cannot drift apart.

Eager mode (``KURA_JOBS__EAGER=true``, unit tests only): a task sent by name must run
in-process, but ``send_task`` never runs anything locally and the API may not import
``workers``. So eager mode loads the worker app *by import path at run time*
(``workers.celery_app:create_celery``, the same lazy-path mechanism ``api.container`` uses for
adapters), lets it import its task modules, and calls ``task.apply()`` on one dedicated thread
so the task's own event loop never meets the caller's. Failures propagate to the caller so a
broken task fails the test that enqueued it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.config import Settings
from storage.errors import BackendUnavailable
from storage.ports import Health

log = logging.getLogger("kura.jobs")

# Queues the worker consumes; every task name is routed to one of them by its package.
# ``jobs`` carries the sweeper alone, so it never waits behind a long queue of ingests.
TASK_QUEUES = ("default", "index", "mail", "jobs")
TASK_ROUTES: dict[str, dict[str, str]] = {
    "index.*": {"queue": "index"},
    "mail.*": {"queue": "mail"},
    "jobs.*": {"queue": "jobs"},
}
JOB_HEADER = "kura_job"
# How long an API request may wait on the broker before answering 503.
CONNECT_TIMEOUT_S = 2.0
HEALTH_TIMEOUT_S = 3.0
ENQUEUE_TIMEOUT_S = 10.0
EAGER_RESULTS_KEPT = 1000
WORKER_APP_PATH = "workers.celery_app:create_celery"


def queue_for(task: str) -> str:
    """The queue a task name is routed to (``TASK_ROUTES``)."""
    route = TASK_ROUTES.get(f"{task.partition('.')[0]}.*")
    return route["queue"] if route else "default"


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "redis+socket://"))


# The embedded broker's and result backend's SQLite files (api/config.py names them).
_EMBEDDED_FILES = frozenset({"broker.sqlite3", "results.sqlite3"})
_TUNED = threading.Lock()
_tuned = False


def _tune_embedded_broker() -> None:
    """Open the embedded broker's SQLite files in WAL mode with ``synchronous=NORMAL`` and a
    busy timeout (kombu's SQLAlchemy transport opens them in the default rollback-journal mode,
    an fsync per message: a broker send cost 6-27 ms after an approval's commit, issue 10
    "approve p95 < 30 ms"). NORMAL may lose the last messages on a power cut, never on a process
    crash; a job is durable in the records' outbox (api/jobs), whose sweeper sends a lost
    message again, so an acknowledged job is still never lost. One listener per process, on
    every SQLAlchemy engine; it only touches SQLite connections to those two files."""
    global _tuned
    with _TUNED:
        if _tuned:
            return
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            if not isinstance(dbapi_connection, sqlite3.Connection):
                return
            files = dbapi_connection.execute("PRAGMA database_list").fetchall()
            main = next((str(row[2]) for row in files if row[1] == "main"), "")
            if main.rsplit("/", 1)[-1] not in _EMBEDDED_FILES:
                return
            dbapi_connection.execute("PRAGMA busy_timeout = 10000")
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            dbapi_connection.execute("PRAGMA synchronous = NORMAL")

        event.listen(Engine, "connect", on_connect)
        _tuned = True


def embedded_broker(settings: Settings) -> bool:
    """Whether the broker or the result backend is the embedded SQLite (kombu's SQLAlchemy
    transport, Celery's database backend)."""
    return not is_redis(settings.broker_url) or not is_redis(settings.result_backend)


def prepare_embedded(settings: Settings) -> None:
    """Make the embedded broker's tables and queue rows, and the result backend's tables,
    once, before ``kura serve`` starts its worker: on a fresh data folder the worker, its
    beat and the API made them at the same moment, and kombu's SQLAlchemy transport inserts a
    queue's row after looking for it, so the second process failed (``UNIQUE constraint
    failed: kombu_queue.name``), the worker exited and ``kura serve`` stopped (seen in CI).
    Afterwards every process finds them. Nothing to do on Redis."""
    if not embedded_broker(settings):
        return
    from celery import Celery

    # Not the process's current app (``kura serve`` goes on to run the API in this process),
    # like the client apps below; closed when done.
    app = Celery("kura-prepare", set_as_current=False)
    app.conf.update(celery_config(settings))
    try:
        if not is_redis(settings.broker_url):
            with app.connection_for_write() as conn:
                channel = conn.default_channel
                for queue in app.conf.task_queues:
                    queue(channel).declare()
        if not is_redis(settings.result_backend):
            app.backend.ResultSession().close()
    finally:
        app.close()


def celery_config(settings: Settings, *, tune: bool = True) -> dict[str, Any]:
    """The Celery settings shared by the API's client app and the worker app. ``tune``:
    set up the embedded broker's connections now (``_tune_embedded_broker``); the client app
    does it before its first connection instead, so a process that never sends a job never
    loads SQLAlchemy (11 MiB)."""
    from kombu.entity import Exchange, Queue

    broker = settings.broker_url
    if tune and embedded_broker(settings):
        _tune_embedded_broker()
    conf: dict[str, Any] = {
        "broker_url": broker,
        "result_backend": settings.result_backend,
        # JSON only: no pickle from the broker, ever.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # A task is acknowledged after it ran; a worker killed mid-task leaves it queued.
        # Tasks are idempotent, so running one twice is safe.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_default_queue": "default",
        "task_default_exchange": "kura",
        "task_default_routing_key": "default",
        "task_queues": [
            Queue(name, Exchange("kura"), routing_key=name)  # type: ignore[no-untyped-call]
            for name in TASK_QUEUES
        ],
        "task_routes": TASK_ROUTES,
        "enable_utc": True,
        "timezone": "UTC",
        "result_expires": 24 * 3600,
        "broker_connection_timeout": CONNECT_TIMEOUT_S,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "task_always_eager": settings.jobs.eager,
        "task_eager_propagates": True,
    }
    if is_redis(broker):
        conf["broker_transport_options"] = {
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "visibility_timeout": 3600,
        }
    # kombu's SQLAlchemy transport gets no transport options: ``polling_interval`` there
    # breaks it (shared/infra.md); its default of one second is fine for the embedded stack.
    if is_redis(settings.result_backend):
        conf["redis_socket_connect_timeout"] = CONNECT_TIMEOUT_S
        conf["redis_socket_timeout"] = 10.0
    return conf


# Per eager thread: tasks enqueued while an eager task runs, run after it (None: not in one).
_EAGER = threading.local()


class CeleryJobQueue:
    """``JobQueue`` over Celery: the embedded SQLite broker or Redis, chosen by settings."""

    name = "celery"

    def __init__(self, settings: Settings) -> None:
        from celery import Celery

        self._settings = settings
        self._conf = celery_config(settings, tune=False)
        self._embedded = embedded_broker(settings)
        # The sending app has no result backend on purpose: with Redis, a backend would
        # subscribe to every sent task's result channel and keep it for the process's life.
        # Results are read through a separate app only when someone asks (``result``).
        self._app = Celery("kura-client", set_as_current=False)
        self._app.conf.update({**self._conf, "result_backend": None})
        self._results_app: Any = None
        self._worker_app: Any = None
        self._eager_pool: ThreadPoolExecutor | None = None
        # Return values of eager runs, newest last, for ``result``; bounded.
        self._eager_results: OrderedDict[str, Any] = OrderedDict()

    @property
    def eager(self) -> bool:
        return self._settings.jobs.eager

    async def enqueue(self, task: str, **kwargs: Any) -> str:
        """Send ``task`` by name with JSON kwargs; returns the task id.

        An unreachable broker raises ``BackendUnavailable("jobs", ...)`` within a few seconds.
        """
        if self.eager:
            return await self._run_eager(task, kwargs)
        return await self._send(task, kwargs, None)

    async def send(self, task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        """Send a recorded job (``api.jobs.ledger``): the job id is the task id and travels
        in the ``kura_job`` header, which makes the worker track it on the job record."""
        if self.eager:
            await self._run_eager(task, kwargs, job_id)
            return
        await self._send(task, kwargs, job_id)

    async def _send(self, task: str, kwargs: dict[str, Any], job_id: str | None) -> str:
        headers = {JOB_HEADER: job_id} if job_id else None

        def send() -> str:
            app = self._connectable()
            return str(app.send_task(task, kwargs=kwargs, task_id=job_id, headers=headers).id)

        try:
            return await asyncio.wait_for(asyncio.to_thread(send), ENQUEUE_TIMEOUT_S)
        except Exception as exc:
            from kombu.exceptions import EncodeError

            if isinstance(exc, EncodeError):
                raise  # a programming error (non-JSON argument), not an outage
            raise BackendUnavailable("jobs", _reason(exc)) from exc

    async def waiting(self) -> dict[str, int] | None:
        """Messages waiting per queue (a passive declare: the SQL transport counts visible
        rows, Redis the list length); None when the broker does not answer."""
        if self.eager:
            return dict.fromkeys(TASK_QUEUES, 0)

        def count() -> dict[str, int]:
            from kombu.exceptions import ChannelError

            sizes: dict[str, int] = {}
            with self._connectable().connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
                for name in TASK_QUEUES:
                    with conn.channel() as channel:
                        try:
                            ok = channel.queue_declare(queue=name, passive=True)
                        except ChannelError:
                            sizes[name] = 0  # never declared (Redis: an empty list)
                            continue
                        sizes[name] = int(ok.message_count)
            return sizes

        try:
            return await asyncio.wait_for(asyncio.to_thread(count), HEALTH_TIMEOUT_S)
        except Exception as exc:
            log.warning("queue sizes unavailable: %s", _reason(exc))
            return None

    async def health(self) -> Health:
        """Whether the broker answers now (within ~3 s); never raises."""
        if self.eager:
            return Health(True, self.name, "eager")

        def ping() -> None:
            with self._connectable().connection_for_write() as conn:
                conn.ensure_connection(
                    max_retries=1,
                    interval_start=0,
                    interval_step=0.2,
                    interval_max=0.2,
                    timeout=CONNECT_TIMEOUT_S,
                )
                # Redis answered PING when the channel was made; the SQL transport only
                # touches its database on a declare, so declare the default queue.
                with conn.channel() as channel:
                    channel.queue_declare(queue="default", durable=True, auto_delete=False)

        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.to_thread(ping), HEALTH_TIMEOUT_S)
        except Exception as exc:
            return Health(False, self.name, _reason(exc))
        return Health(True, self.name, f"{(time.monotonic() - started) * 1000:.0f} ms")

    async def result(self, task_id: str, wait_s: float = 30.0) -> Any:
        """Wait for a task's return value through the result backend (CLI and tests).

        Raises ``TimeoutError`` when no result arrives in time; a failed task re-raises.
        """
        if self.eager:
            return await asyncio.to_thread(self._eager_result, task_id)
        app = self._results()

        def wait() -> Any:
            from celery.exceptions import TimeoutError as CeleryTimeout

            async_result = app.AsyncResult(task_id)
            try:
                return async_result.get(timeout=wait_s, interval=0.2)
            except CeleryTimeout as exc:
                raise TimeoutError(f"task {task_id} gave no result in {wait_s} s") from exc

        return await asyncio.to_thread(wait)

    def close(self) -> None:
        """Release broker and backend connections."""
        for app in (self._app, self._results_app):
            if app is not None:
                app.close()
        if self._eager_pool is not None:
            self._eager_pool.shutdown(wait=True)
            self._eager_pool = None

    def _connectable(self) -> Any:
        """The sending app, its embedded broker's connections set up first."""
        if self._embedded:
            _tune_embedded_broker()
        return self._app

    def _results(self) -> Any:
        if self._embedded:
            _tune_embedded_broker()
        if self._results_app is None:
            from celery import Celery

            app = Celery("kura-results", set_as_current=False)
            app.conf.update(self._conf)
            self._results_app = app
        return self._results_app

    # -- eager mode ---------------------------------------------------------------------

    def _worker(self) -> Any:
        if self._worker_app is None:
            module, _, attr = WORKER_APP_PATH.partition(":")
            create = getattr(importlib.import_module(module), attr)
            app = create(self._settings)
            # Eager results stay in this process (``_eager_results``): no backend to create.
            app.conf.result_backend = None
            app.loader.import_default_modules()
            self._worker_app = app
        return self._worker_app

    async def _run_eager(self, task: str, kwargs: dict[str, Any], job_id: str | None = None) -> str:
        if getattr(_EAGER, "deferred", None) is not None:
            # Enqueued by a task that is running eagerly: a real worker would pick it up
            # after the current task; run it then (running it now would wait on the busy
            # worker runtime forever).
            task_id = job_id or str(uuid.uuid4())
            _EAGER.deferred.append((self, task, kwargs, task_id, job_id))
            return task_id
        if self._eager_pool is None:
            # One thread: tasks run one at a time on the worker runtime's single event loop.
            self._eager_pool = ThreadPoolExecutor(1, thread_name_prefix="kura-eager")

        def run() -> str:
            _EAGER.deferred = []
            try:
                task_id = self._apply(task, kwargs, job_id, job_id)
                # Tasks enqueued by tasks, in the order a worker would take them.
                while _EAGER.deferred:
                    queue, name, args, deferred_id, deferred_job = _EAGER.deferred.pop(0)
                    queue._apply(name, args, deferred_id, deferred_job)
                return task_id
            finally:
                _EAGER.deferred = None

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._eager_pool, run)

    def _apply(
        self,
        task: str,
        kwargs: dict[str, Any],
        task_id: str | None = None,
        job_id: str | None = None,
    ) -> str:
        app = self._worker()
        if task not in app.tasks:
            from celery.exceptions import NotRegistered

            raise NotRegistered(task)
        headers = {JOB_HEADER: job_id} if job_id else None
        outcome = app.tasks[task].apply(kwargs=kwargs, task_id=task_id, throw=True, headers=headers)
        self._eager_results[str(outcome.id)] = outcome.result
        while len(self._eager_results) > EAGER_RESULTS_KEPT:
            self._eager_results.popitem(last=False)
        return str(outcome.id)

    def _eager_result(self, task_id: str) -> Any:
        if task_id not in self._eager_results:
            raise TimeoutError(f"task {task_id} is unknown to this eager queue")
        return self._eager_results.pop(task_id)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
