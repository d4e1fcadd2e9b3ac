"""``kura serve``: the API and a Celery worker side by side on one machine.

On a bare machine this is the whole installation: it creates the data folder (mode 0700),
starts a worker subprocess with the same environment (with beat embedded when the broker is the
embedded SQLite one; run in the data folder with ``python -P``, so no file in the folder where
``kura serve`` was started can shadow a module; restarted when it stops to be recycled,
``KURA_JOBS__WORKER_MAX_*``), creates the operator account on first run and prints its
one-time password, then serves the API with uvicorn. On SIGINT/SIGTERM the API stops first, then the
worker gets SIGTERM (warm shutdown: the running task finishes), then SIGKILL if it lingers.
The worker runs in its own process group so nothing it forked outlives ``kura serve``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from api.audit.keys import AuditKeyError
from api.config import WORKER_RECYCLE_EXIT, Settings
from api.keys.kek import KekError

if TYPE_CHECKING:
    import uvicorn

EXIT_CONFIG = 2
WORKER_STOP_TIMEOUT_S = 20.0
WORKER_APP = "workers.celery_app:app"


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    cli.add_command(serve)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Run a Celery worker beside the API (off when workers run elsewhere).",
)
def serve(host: str, port: int, worker: bool) -> None:
    """Run the API (and a worker) on the settings from KURA_* variables.

    KURA_DATA_DIR (default ./kura-data) is where the embedded backends keep their files.
    """
    settings = load_settings()
    data_dir = prepare_data_dir(settings.data_dir)
    settings = settings.model_copy(update={"data_dir": data_dir})
    from api.backup.restore import MARKER as RESTORING

    if (data_dir / RESTORING).exists():
        # A restore was interrupted (api.backup.restore): serving now would show half of it.
        click.echo(
            f"kura: データフォルダ {data_dir} への復元が途中で止まっています。"
            "同じ kura restore をもう一度実行して復元を完了してから起動してください。",
            err=True,
        )
        sys.exit(EXIT_CONFIG)
    from api.kit.jobs import prepare_embedded

    prepare_embedded(settings)  # before the worker: processes racing to make them failed
    supervisor = (
        WorkerProcess(worker_command(settings), worker_env(os.environ, data_dir), data_dir)
        if worker
        else None
    )
    stop = _StopFlag()
    try:
        code = asyncio.run(_run_api(settings, host, port, supervisor, stop))
    except (AuditKeyError, KekError) as exc:
        # An exposed, missing or malformed key file: refuse to start, saying which and why.
        click.echo(f"kura: 鍵ファイルに問題があるため起動できません: {exc}", err=True)
        code = EXIT_CONFIG
    finally:
        if supervisor is not None:
            supervisor.stop()
    sys.exit(code)


def load_settings() -> Settings:
    """Settings from the environment; a bad value exits 2 naming the variable and the choices."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = ["kura: 設定が不正です。次の環境変数を確認してください:"]
        for error in exc.errors():
            name = "KURA_" + "__".join(str(part) for part in error["loc"]).upper()
            lines.append(f"  {name}={error.get('input')!r}: {error['msg']}")
        click.echo("\n".join(lines), err=True)
        sys.exit(EXIT_CONFIG)


def prepare_data_dir(path: Path) -> Path:
    """Create the data folder readable by its owner only; returns its absolute path."""
    path = path.expanduser().resolve()
    created = not path.exists()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if created:
            path.chmod(0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        click.echo(f"kura: データフォルダ {path} を作成できません: {exc}", err=True)
        sys.exit(1)
    if not created and path.stat().st_mode & 0o077:
        click.echo(
            f"kura: 警告: データフォルダ {path} は他のユーザーからも読めます (chmod 700 を推奨)",
            err=True,
        )
    return path


def worker_command(settings: Settings) -> list[str]:
    """The worker command line; beat rides along on the embedded broker only (the real stack
    runs one beat service, never one per worker).

    ``-P`` keeps the working folder off ``sys.path`` (``python -m`` would put it first, so an
    ``api.py`` there replaced Kura's ``api`` package); the process also runs in the data
    folder (``WorkerProcess``) because Celery itself imports the app and the task modules
    with the working folder on the path. The solo pool, not prefork: on the SQLite broker a
    prefork worker polls once a second (1 task/s against 10+); the solo worker bounds its
    memory by exiting with ``WORKER_RECYCLE_EXIT`` (``workers.celery_app``), and
    ``WorkerProcess.check`` starts a fresh one."""
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "celery",
        "-A",
        WORKER_APP,
        "worker",
        "--pool=solo",
        "--concurrency=1",
        f"--loglevel={settings.log_level.upper()}",
        "--hostname=kura@%h",
    ]
    if settings.jobs.broker_url is None:
        cmd += ["--beat", f"--schedule={settings.data_dir / 'celerybeat-schedule'}"]
    return cmd


# Settings naming a path: made absolute for the worker, which runs in the data folder.
PATH_VARIABLES = (
    "KURA_UI_DIR",
    "KURA_RECORDS__SQLITE_PATH",
    "KURA_BLOBS__LOCAL_ROOT",
    "KURA_SEARCH__TANTIVY_PATH",
)


def worker_env(environ: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """The worker's environment: ours, with the data folder and every relative path setting
    made absolute (they were meant relative to where ``kura serve`` started)."""
    env = dict(environ)
    env["KURA_DATA_DIR"] = str(data_dir)
    for name in list(env):
        if name.upper() in PATH_VARIABLES and env[name]:
            env[name] = str(Path(env[name]).expanduser().resolve())
    return env


class WorkerProcess:
    """A worker subprocess in its own process group, stopped TERM → wait → KILL, restarted
    when it exits to be recycled."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self.cmd, self.env, self.cwd = cmd, env, cwd
        self.restarts = 0
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, start_new_session=True)  # noqa: S603
        click.echo(f"kura: ワーカーを起動しました (pid {proc.pid})", err=True)
        return proc

    def exited(self) -> int | None:
        return self.proc.poll()

    def check(self) -> int | None:
        """None while the worker runs (a recycled one is replaced here); its exit code when
        it stopped for any other reason."""
        code = self.proc.poll()
        if code != WORKER_RECYCLE_EXIT:
            return code
        # Anything the old worker forked (the embedded beat) goes with it.
        if self._signal_group(signal.SIGTERM):
            self._signal_group(signal.SIGKILL)
        self.restarts += 1
        click.echo(
            "kura: ワーカーがメモリ上限または処理件数の上限に達したため再起動します", err=True
        )
        self.proc = self._start()
        return None

    def stop(self, timeout: float = WORKER_STOP_TIMEOUT_S) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                click.echo("kura: ワーカーが停止しないため強制終了します", err=True)
                self._signal_group(signal.SIGKILL)
                self.proc.wait(5)
        # Anything the worker forked (the embedded beat) and left behind.
        if self._signal_group(signal.SIGTERM):
            self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: signal.Signals) -> bool:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True


class _StopFlag:
    """SIGINT/SIGTERM before or after uvicorn's own handlers: stop, don't die mid-cleanup.

    Uvicorn re-raises a caught signal once it has shut down; with the default handlers that
    would kill this process before it stops the worker."""

    def __init__(self) -> None:
        self.requested = False
        self.server: Any = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if self.server is not None:
            self.server.should_exit = True


def uvicorn_config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The ``uvicorn.Config`` the API is served with, by ``kura serve`` and by the upload tests'
    server (``tests/uploads/server.py``, which ``bench_tus`` measures), so both run the same:
    the garbage collector tuned (``api.ops.collector``), request bodies received through
    ``api.ops.protocol`` (without uvicorn's two copies), no access log (the app logs its
    requests). ``options`` go to ``uvicorn.Config`` as well."""
    import uvicorn

    from api.ops import collector
    from api.ops.protocol import http_protocol

    collector.tune()
    return uvicorn.Config(
        app, host=host, port=port, access_log=False, http=http_protocol(), **options
    )


async def _run_api(
    settings: Settings, host: str, port: int, worker: WorkerProcess | None, stop: _StopFlag
) -> int:
    import uvicorn

    from api.app import create_app
    from api.container import Container

    container = Container(settings)
    app = create_app(settings, container=container)  # configures logging
    await container.open()
    try:
        await _bootstrap_operator(container)
        if stop.requested:
            return 0
        server = uvicorn.Server(uvicorn_config(app, host, port, log_config=None))
        stop.server = server
        failed: list[int] = []
        watchdog = asyncio.create_task(_watch_worker(worker, server, failed.append))
        try:
            await server.serve()
        finally:
            watchdog.cancel()
        return 1 if failed else 0
    finally:
        await container.close()


async def _bootstrap_operator(container: Any) -> None:
    """First run: create the operator account and print its one-time password (once)."""
    try:
        from api.users import bootstrap
    except ModuleNotFoundError as exc:
        if exc.name != "api.users.bootstrap":
            raise
        click.echo("kura: 警告: 運用管理者の初期作成機能がありません", err=True)
        return
    outcome = bootstrap.ensure_operator(container)
    password = await outcome if inspect.isawaitable(outcome) else outcome
    if password:
        login_id = getattr(bootstrap, "ADMIN_LOGIN_ID", "admin")
        click.echo(
            "初回起動: 運用管理者アカウントを作成しました。\n"
            f"  ログインID: {login_id}\n"
            f"  一時パスワード: {password}\n"
            "このパスワードは再表示されません。初回ログイン時に変更してください。"
        )
        sys.stdout.flush()


async def _watch_worker(
    worker: WorkerProcess | None, server: Any, report: Callable[[int], None]
) -> None:
    """A worker that dies on its own stops the API too, so a supervisor restarts both."""
    if worker is None:
        return
    while True:
        await asyncio.sleep(1.0)
        code = worker.check()
        if code is not None:
            click.echo(f"kura: ワーカーが終了しました (終了コード {code})。停止します", err=True)
            report(code)
            server.should_exit = True
            return
