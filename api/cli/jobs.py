"""``kura jobs``: see the job ledger, retry failed jobs, run the sweepers now.

``kura jobs`` alone prints the count per state; ``list --state failed`` what needs an
operator; ``retry ID…`` (or ``--all-failed``) queues failed jobs again; ``discard ID…`` deletes
finished ones; ``sweep`` runs the job sweeper and the file recovery once (beat runs them every
``KURA_JOBS__SWEEP_S`` seconds). Exit 1 from ``kura jobs`` when jobs have failed or are long
overdue, so cron can alert on it.
"""

from __future__ import annotations

import sys

import click

from api.cli._run import with_container
from api.container import Container
from api.errors import KuraError
from api.jobs.models import JobState

ACTOR = "system:cli"


def register(cli: click.Group) -> None:
    """Add ``kura jobs``."""
    cli.add_command(jobs)


@click.group("jobs", invoke_without_command=True)
@click.pass_context
def jobs(ctx: click.Context) -> None:
    """ジョブ（取り込み・索引などの非同期処理）の状態を表示・再実行します。"""
    if ctx.invoked_subcommand is not None:
        return
    from api.jobs.service import JobService

    async def run(c: Container) -> tuple[dict[str, int], int]:
        return await JobService(c).summary()

    counts, overdue = with_container(run)
    for state, n in counts.items():
        click.echo(f"{state}: {n}")
    click.echo(f"overdue: {overdue}")
    if counts.get(JobState.FAILED.value) or overdue:
        sys.exit(1)


@jobs.command("list")
@click.option("--state", type=click.Choice([s.value for s in JobState]), default=None)
@click.option("--task", default=None, help="タスク名（例: ingest.file）")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def list_cmd(state: str | None, task: str | None, limit: int) -> None:
    """ジョブを新しい順に表示します（id 状態 タスク 試行 再実行 最終エラー）。"""
    from api.jobs.service import JobService

    async def run(c: Container) -> list[dict[str, object]]:
        page = await JobService(c).list(JobState(state) if state else None, task, limit)
        return page.items

    for job in with_container(run):
        error = str(job.get("last_error") or "").replace("\n", " ")[:120]
        click.echo(
            f"{job['id']} {job['state']:<8} {job['task']} attempts={job.get('attempts', 0)} "
            f"restarts={job.get('restarts', 0)} {job.get('kwargs')} {error}".rstrip()
        )


@jobs.command("retry")
@click.argument("job_ids", nargs=-1)
@click.option("--all-failed", is_flag=True, help="失敗したジョブをすべて再実行")
def retry_cmd(job_ids: tuple[str, ...], all_failed: bool) -> None:
    """失敗したジョブを再実行します。"""
    from api.jobs.service import JobService

    if not job_ids and not all_failed:
        raise click.UsageError("ジョブIDか --all-failed を指定してください。")

    async def run(c: Container) -> list[str]:
        svc = JobService(c)
        ids = list(job_ids)
        if all_failed:
            cursor: str | None = None
            while True:
                page = await svc.list(JobState.FAILED, None, 500, cursor)
                ids += [str(j["id"]) for j in page.items]
                cursor = page.next_cursor
                if cursor is None:
                    break
        done = []
        for job_id in ids:
            try:
                await svc.retry(ACTOR, job_id)
            except KuraError as exc:
                click.echo(f"{job_id}: {exc.detail}", err=True)
                continue
            done.append(job_id)
        return done

    done = with_container(run)
    click.echo(f"再実行: {len(done)}件")


@jobs.command("discard")
@click.argument("job_ids", nargs=-1, required=True)
def discard_cmd(job_ids: tuple[str, ...]) -> None:
    """完了または失敗したジョブの記録を削除します（監査記録に残ります）。"""
    from api.jobs.service import JobService

    async def run(c: Container) -> int:
        n = 0
        for job_id in job_ids:
            try:
                await JobService(c).discard(ACTOR, job_id)
            except KuraError as exc:
                click.echo(f"{job_id}: {exc.detail}", err=True)
                continue
            n += 1
        return n

    click.echo(f"削除: {with_container(run)}件")


@jobs.command("sweep")
def sweep_cmd() -> None:
    """未送信・中断・紛失したジョブと、中断されたファイル取り込みを今すぐ修復します。"""
    from api.archive.recovery import recover_stuck
    from api.jobs.sweeper import sweep

    async def run(c: Container) -> dict[str, int]:
        report = (await sweep(c.ledger)).as_dict()
        recovered = (await recover_stuck(c)).as_dict()
        return {**report, **{f"files_{k}": v for k, v in recovered.items()}}

    for key, value in with_container(run).items():
        click.echo(f"{key}: {value}")
