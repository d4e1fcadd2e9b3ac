"""The Celery worker app: ``create_celery(settings)`` plus the per-process task runtime.

``celery -A workers.celery_app:app worker`` needs a module-level ``app``. It is built on first
access (PEP 562 module ``__getattr__``) from ``Settings()``, i.e. from the ``KURA_...``
environment of the worker process, so importing this module reads nothing and connects to
nothing.

Tasks are plain sync Celery tasks that call async service code. Each worker process owns one
event loop and one ``Container`` built from the app's settings on first use (``run_async`` /
``worker_container``); both are rebuilt after a fork and closed on worker shutdown.

Memory is bounded by recycling (``JobsSettings.worker_max_tasks_per_child`` /
``worker_max_memory_per_child_mib``): Celery replaces prefork children itself; a worker whose
tasks run in its main process (the solo pool of ``kura serve``) stops warm after the task that
reaches a bound, with exit code ``WORKER_RECYCLE_EXIT``, and its supervisor starts a new one.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import pkgutil
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from celery import Celery
from celery.signals import (
    setup_logging,
    task_postrun,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)

from api.config import WORKER_RECYCLE_EXIT, JobsSettings, Settings
from api.kit.jobs import celery_config

if TYPE_CHECKING:
    from api.container import Container

T = TypeVar("T")

TASKS_PACKAGE = "workers.tasks"
_app: Any = None


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Periodic housekeeping run by beat (``kura serve`` starts it beside the worker): every
    module's entries (``api.modules``), some of them timed by settings."""
    from api.modules import beat_schedule as modules_beat

    return modules_beat(settings)


def task_modules() -> list[str]:
    """Every module of ``workers.tasks`` (autodiscovery without importing them yet)."""
    import workers.tasks as package

    return sorted(
        f"{TASKS_PACKAGE}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    )


def create_celery(settings: Settings) -> Celery:
    """A Celery app configured from ``settings``: broker, result backend, JSON only, late acks,
    prefetch 1, routes by task name, child recycling, and the task modules of
    ``workers.tasks``."""
    app = Celery("kura", include=task_modules())
    app.conf.update(celery_config(settings))
    app.conf.beat_schedule_filename = str(settings.data_dir / "celerybeat-schedule")
    app.conf.beat_schedule = beat_schedule(settings)
    app.conf.worker_hijack_root_logger = False
    # Recycle pool children (prefork): bounds memory whatever a task or a library keeps.
    jobs = settings.jobs
    app.conf.worker_max_tasks_per_child = jobs.worker_max_tasks_per_child or None
    app.conf.worker_max_memory_per_child = jobs.worker_max_memory_per_child_mib * 1024 or None
    app.kura_settings = settings
    return app


def __getattr__(name: str) -> Any:
    # ``-A workers.celery_app:app``: built lazily from the environment, once.
    global _app
    if name == "app":
        if _app is None:
            _app = create_celery(Settings())
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def settings_of(app: Any) -> Settings:
    """The settings an app was created with."""
    settings: Settings | None = getattr(app, "kura_settings", None)
    return settings if settings is not None else Settings()


class _Runtime:
    """One event loop and one lazily opened Container per worker process."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.lock = threading.Lock()
        self.container: Container | None = None
        self.owned = False


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def _current() -> _Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None or _runtime.pid != os.getpid():
            # First use, or a forked child: never reuse the parent's loop or connections.
            _runtime = _Runtime()
        return _runtime


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run async service code on this process's loop (one task at a time).

    What the code spawned off its answer (``Container.spawn``: a unit of work's background
    clean-up) finishes before this returns: the loop runs only while a job does."""
    runtime = _current()
    with runtime.lock:
        return runtime.loop.run_until_complete(_settled(runtime, coro))


async def _settled(runtime: _Runtime, coro: Coroutine[Any, Any, T]) -> T:
    try:
        return await coro
    finally:
        if runtime.container is not None:
            await runtime.container.settle()


async def worker_container(app: Any) -> Container:
    """The process's Container, built from the app's settings and opened on first use.

    Call it from inside ``run_async``; the container is bound to that loop."""
    runtime = _current()
    settings = settings_of(app)
    if runtime.container is not None and runtime.owned and runtime.container.settings != settings:
        # Another app (eager mode: one per test's settings) in this process: never hand it
        # the previous app's backends.
        await runtime.container.close()
        runtime.container = None
    if runtime.container is None:
        from api.container import Container

        container = Container(settings)
        await container.open()
        runtime.container = container
        runtime.owned = True
    return runtime.container


def set_container(container: Container | None) -> None:
    """Tests: make tasks in this process use ``container`` (not closed by the runtime).

    A container the runtime opened itself (an eager task ran before) is closed first, on
    the runtime's loop, in a thread of its own: the caller may be inside another running
    loop, where that loop cannot run. Dropped unclosed, its database clients were left to
    the garbage collector (ResourceWarnings in CI)."""
    runtime = _current()
    with runtime.lock:  # no task runs on the runtime's loop meanwhile
        old = runtime.container if runtime.owned else None
        runtime.container = container
        runtime.owned = False
        if old is not None and old is not container:
            closing = threading.Thread(
                target=runtime.loop.run_until_complete, args=(old.close(),), name="kura-close"
            )
            closing.start()
            closing.join()


def shutdown_runtime() -> None:
    """Close the process's Container and loop (worker shutdown)."""
    global _runtime
    with _runtime_lock:
        runtime, _runtime = _runtime, None
    if runtime is None or runtime.pid != os.getpid():
        return
    with runtime.lock:
        if runtime.container is not None and runtime.owned:
            runtime.loop.run_until_complete(runtime.container.close())
        runtime.loop.close()


@atexit.register
def _close_loop_at_exit() -> None:
    # Eager runs (tests, CLI) never get a worker-shutdown signal. By now the thread pools the
    # container's adapters use are gone, so only the loop is closed; the OS closes the files.
    runtime = _runtime
    if runtime is not None and runtime.pid == os.getpid() and not runtime.loop.is_running():
        with contextlib.suppress(Exception):
            runtime.loop.close()


def rss_mib() -> float | None:
    """This process's resident memory in MiB (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def recycle_reason(tasks: int, rss: float | None, jobs: JobsSettings) -> str | None:
    """Why a worker process that ran ``tasks`` tasks and holds ``rss`` MiB should be
    replaced, or None."""
    if jobs.worker_max_tasks_per_child and tasks >= jobs.worker_max_tasks_per_child:
        return f"{tasks} tasks run (limit {jobs.worker_max_tasks_per_child})"
    limit = jobs.worker_max_memory_per_child_mib
    if limit and rss is not None and rss > limit:
        return f"resident memory {rss:.0f} MiB (limit {limit} MiB)"
    return None


class _Recycler:
    """Counts the tasks a worker's main process runs (solo/threads pools) and asks the
    worker to stop warm once a bound is reached. Off outside a worker (eager runs) and in
    prefork children (Celery recycles those itself)."""

    def __init__(self) -> None:
        self.pid: int | None = None  # the worker's main process, set at worker start
        self.tasks = 0

    def on_worker_init(self, **_: Any) -> None:
        self.pid = os.getpid()
        self.tasks = 0

    def on_task_postrun(self, sender: Any = None, **_: Any) -> None:
        if self.pid != os.getpid():
            return
        self.tasks += 1
        app = getattr(sender, "app", None)
        reason = recycle_reason(self.tasks, rss_mib(), settings_of(app).jobs)
        if reason is None:
            return
        from celery.worker import state

        logging.getLogger("kura.worker").warning("recycling the worker: %s", reason)
        state.should_stop = WORKER_RECYCLE_EXIT


recycler = _Recycler()


def _on_process_shutdown(**_: Any) -> None:
    shutdown_runtime()


def _on_worker_shutdown(**_: Any) -> None:
    shutdown_runtime()


def _on_setup_logging(**_: Any) -> None:
    # The worker logs like the API: one JSON object per line (api.ops.logging).
    from celery import current_app

    from api.ops.logging import configure_logging

    configure_logging(settings_of(current_app))


worker_process_shutdown.connect(_on_process_shutdown, weak=False)
worker_shutdown.connect(_on_worker_shutdown, weak=False)
setup_logging.connect(_on_setup_logging, weak=False)
worker_init.connect(recycler.on_worker_init, weak=False)
task_postrun.connect(recycler.on_task_postrun, weak=False)
