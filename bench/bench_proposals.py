"""Proposals at scale (issue 10 "Measured"):

    python -m bench.bench_proposals [--works 500] [--proposals 100000] [--samples 40]

1. The supervisor's cross-work list over ``--works`` works and ``--proposals`` proposals,
   through ``ProposalLists.cross_work`` (the supervisor is on every work: 500 works in the
   access sub-query; filters, sorts, names resolved for the page): first page p95, target
   < 50 ms, beside the baseline "first 50 records by id" (the store's cheapest page) as a
   ratio. The inbox count equals the inbox list walked page by page (a failure otherwise);
   the inbox count (the header's badge) is timed too.
2. Approve one step with its notifications and mail queued (``WorkflowService.approve``,
   the whole call: its unit of work and the jobs sent after the commit): p95, target
   < 30 ms, beside a bare versioned record update in a unit of work. The two parts are
   printed apart: the transition's unit of work (event, record, audit, notification, mail
   queued) and the after-commit dispatch of its job (``mail.flush``) to the broker, which on
   the embedded default is kombu's SQLite transport (one SQL transaction per message).
3. The bundle PDF of 200 pages from 20 files (form + 20 PDFs of 10 pages): wall time, target
   < 5 s, and peak RSS, target < 200 MB. Measured in a child process that opens the same data
   folder and prints only the bundle (``--bundle-child``), as a worker would (not the 100,000
   records this process seeded). The app prints a bundle in a short-lived process of its own
   (``api.pdf.child``): the verdict is on that process's peak RSS (its ``VmHWM``, which it
   reports); the worker's own growth is printed beside. Baselines in the same run:
   the form alone, and the bundle printed inside the worker as before (``--in-process``: its
   time, its peak RSS, and that both give the same bytes).

The data: one orderer supervisor ``sup`` on every work (the worst case for the list), a
contractor site agent per work who proposes that work's proposals (and ``builder``, on every
work, who proposes in parts 2 and 3). Routes: the work's agent's proposals go to ``chief``
then ``sup``; a proposal under review waits for ``chief`` or, for 2% of them, already for
``sup`` (about 900: a heavy backlog for one inbox).

Embedded backends (SQLite, tantivy, local blobs) in a temp folder, as the default install.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import logging
import math
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from api.config import Settings
from api.container import Container
from api.kit.clock import FixedClock, to_iso
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from api.proposals.lists import ListFilters, ProposalLists
from api.proposals.models import PROPOSALS, proposal_acl
from api.proposals.printing import Printing
from api.workflow import machine
from api.workflow.service import WorkflowService
from bench.common import Outcome, pct, peak_rss_mib, reset_peak_rss, rss_mib
from storage.query import Query

START = datetime(2026, 6, 8, 1, 0, tzinfo=UTC)
STATES = ["in_review"] * 5 + ["decided"] * 4 + ["sent_back", "draft"]


def ms(seconds: float) -> float:
    return seconds * 1000


def proposal_record(
    i: int, work: dict[str, Any], proposer: str, approvers: list[str], rnd: random.Random
) -> dict[str, Any]:
    """A proposal as the workflow leaves it: route ``approvers`` in order; under review it
    waits for the first approver, or (2%) has passed them and waits for the second."""
    state = rnd.choice(STATES)
    day = date(2026, 4, 1) + timedelta(days=rnd.randrange(150))
    route = [{"kind": "approve", "assignees": [a]} for a in approvers]
    progress = machine.fresh_progress(route)
    record: dict[str, Any] = {
        "id": new_id(),
        "work_id": work["id"],
        "work_title": work["title"],
        "orderer_org_id": work["orderer_org_id"],
        "proposer_id": proposer,
        "proposer_org_id": "c",
        "proposer_side": "contractor",
        "form_id": "koji_uchiawase",
        "form_version": 1,
        "form_name": "工事打合せ簿",
        "title": f"協議 第{i}号 区画線の施工について",
        "values": {"matter": "協議", "content": "夜間施工としたい。"},
        "importance": rnd.choice(["normal", "normal", "important"]),
        "requested_answer_date": (day + timedelta(days=7)).isoformat(),
        "attachments": [],
        "route": route,
        "progress": progress,
        "state": state,
        "revision": 0 if state == "draft" else 1,
        "number": i,
        "proposed_on": day.isoformat(),
        "received_on": (day + timedelta(days=1)).isoformat() if state != "draft" else None,
        "planned_answer_date": (day + timedelta(days=5)).isoformat() if state != "draft" else None,
        "answered_on": (day + timedelta(days=4)).isoformat() if state == "decided" else None,
        "decided_on": (day + timedelta(days=4)).isoformat() if state == "decided" else None,
        "interim_answer_date": None,
        "current_step": 0 if state == "in_review" else None,
        "answers": {},
        "corrections": [],
        "comments": 0,
        "last_event": 2,
        "created_at": to_iso(START - timedelta(days=200 - i % 150)),
        "updated_at": to_iso(START - timedelta(minutes=i)),
    }
    if state == "decided":
        for p in progress:
            for m in p["marks"]:
                m.update(status="approved", at=record["updated_at"], by=m["user_id"], via="self")
            p["reached"] = True
    elif state == "in_review":
        progress[0]["reached"] = True
        if rnd.random() < 0.02:
            first = progress[0]["marks"][0]
            first.update(status="approved", at=record["updated_at"], by=first["user_id"])
            first["via"] = "self"
            progress[1]["reached"] = True
            record["current_step"] = 1
    record["waiting"] = machine.waiting_of(record)
    record["summary"] = machine.summary_of(record)
    record["acl"] = proposal_acl(record)
    return record


async def seed(
    container: Container, works: int, proposals: int
) -> tuple[Subject, list[dict[str, Any]], Subject]:
    records = container.records
    orderer, contractor = new_id(), new_id()
    await records.insert("organizations", {"id": orderer, "kind": "orderer", "name": "ベンチ県"})
    await records.insert(
        "organizations", {"id": contractor, "kind": "contractor", "name": "ベンチ建設"}
    )
    sup = Subject(new_id(), "sup", orderer, OrgKind.ORDERER)
    chief = Subject(new_id(), "chief", orderer, OrgKind.ORDERER)
    builder = Subject(new_id(), "builder", contractor, OrgKind.CONTRACTOR)
    for s, name in ((sup, "監督 一郎"), (chief, "総括 二郎"), (builder, "春日 太郎")):
        await records.insert(
            "users",
            {
                "id": s.user_id,
                "login_id": s.login_id,
                "org_id": s.org_id,
                "name": name,
                "status": "active",
                "email": f"{s.login_id}@example.jp",
            },
        )
    work_list = []
    members = []
    agents = []
    for w in range(works):
        work = {
            "id": new_id(),
            "kind": "construction",
            "title": f"道路改良工事 第{w}工区",
            "number": f"B-{w:04d}",
            "orderer_org_id": orderer,
            "contractor_org_ids": [contractor],
            "status": "in_progress",
            "period_start": "2026-04-01",
            "period_end": "2027-03-31",
            "acl": [],
        }
        work_list.append(work)
        agent = Subject(new_id(), f"agent{w}", contractor, OrgKind.CONTRACTOR)
        agents.append(
            {
                "id": agent.user_id,
                "login_id": agent.login_id,
                "org_id": contractor,
                "name": f"現場 代理人{w}",
                "status": "active",
                "email": f"agent{w}@example.jp",
            }
        )
        staff = (
            (sup, "supervisor"),
            (chief, "supervisor"),
            (builder, "contractor_member"),
            (agent, "contractor_member"),
        )
        for s, role in staff:
            members.append(
                {
                    "id": f"{work['id']}:{s.user_id}",
                    "work_id": work["id"],
                    "user_id": s.user_id,
                    "role": role,
                    "org_id": s.org_id,
                }
            )
    await records.insert_many("users", agents)
    await records.insert_many("works", work_list)
    await records.insert_many("work_members", members)
    rnd = random.Random(7)
    batch: list[dict[str, Any]] = []
    for i in range(proposals):
        batch.append(
            proposal_record(
                i + 1,
                work_list[i % works],
                str(agents[i % works]["id"]),
                [chief.user_id, sup.user_id],
                rnd,
            )
        )
        if len(batch) == 5000:
            await records.insert_many(PROPOSALS, batch)
            batch = []
    if batch:
        await records.insert_many(PROPOSALS, batch)
    return sup, work_list, builder


async def timed(n: int, fn: Any) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        out.append(ms(time.perf_counter() - t))
    return out


async def bench_lists(
    container: Container,
    sup: Subject,
    works: list[dict[str, Any]],
    samples: int,
    outcome: Outcome,
    scale: str | None,
) -> None:
    lists = ProposalLists(container)
    base = await timed(samples, lambda: container.records.find(PROPOSALS, Query(limit=50)))
    chosen = tuple(w["id"] for w in works[:5])
    cases = {
        "all works, sort 回答希望日 asc": ListFilters(sort="requested_answer_date", order="asc"),
        "決裁中 only, sort 受付日 desc": ListFilters(
            states=("in_review",), sort="received_on", order="desc"
        ),
        "5 chosen works, sort 回答予定日": ListFilters(
            work_ids=chosen, sort="planned_answer_date", order="asc"
        ),
        "重要 + 期限超過, sort 工事名": ListFilters(
            importance="important", overdue=True, sort="work_title", order="asc"
        ),
        "回答日 range, sort 回答日 desc": ListFilters(
            date_field="answered_on",
            date_from="2026-05-01",
            date_to="2026-05-31",
            sort="answered_on",
            order="desc",
        ),
    }
    print(f"baseline: first 50 records by id  p95 {pct(base, 0.95):7.2f} ms")
    worst = 0.0
    for label, f in cases.items():
        page = await lists.cross_work(sup, f)
        outcome.expect(len(page.items) > 0, f"{label}: empty page")
        times = await timed(samples, lambda f=f: lists.cross_work(sup, f))
        p95 = pct(times, 0.95)
        worst = max(worst, p95)
        print(
            f"cross-work first page  {label:<34} p95 {p95:7.2f} ms  "
            f"({p95 / max(pct(base, 0.95), 1e-6):5.1f}x baseline)  rows {len(page.items)}"
        )
    print(outcome.verdict("supervisor's cross-work list first page p95 < 50 ms", worst < 50, scale))
    # The inbox count equals the list, walked page by page.
    count = await lists.inbox_count(sup)
    seen, cursor = 0, None
    while True:
        page = await lists.inbox(
            sup, ListFilters(sort="requested_answer_date", order="asc", limit=200, cursor=cursor)
        )
        seen += len(page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    outcome.expect(count == seen == page.total, f"inbox count {count} != list {seen}")
    inbox_times = await timed(
        samples, lambda: lists.inbox(sup, ListFilters(sort="requested_answer_date", order="asc"))
    )
    count_times = await timed(samples, lambda: lists.inbox_count(sup))
    print(
        f"inbox first page p95 {pct(inbox_times, 0.95):7.2f} ms; "
        f"inbox count p95 {pct(count_times, 0.95):7.2f} ms; count {count} == list {seen}"
    )


async def bench_approve(
    container: Container,
    sup: Subject,
    builder: Subject,
    works: list[dict[str, Any]],
    n: int,
    outcome: Outcome,
    broker: str,
) -> None:
    from api.proposals.service import ProposalService
    from api.workflow.store import EventStore

    service, workflow = ProposalService(container), WorkflowService(container)
    ids = []
    after: list[float] = []
    for i in range(n):
        work = works[i % len(works)]
        created = await service.create(
            builder,
            work["id"],
            {
                "form_id": "koji_uchiawase",
                "title": f"承認計測 {i}",
                "values": {
                    "proposer_side": "受注者",
                    "proposed_date": "2026-06-08",
                    "matter": "協議",
                    "work_title": work["title"],
                    "subject": "計測",
                    "content": "計測",
                },
            },
        )
        done = await workflow.submit(
            builder,
            created["id"],
            {
                "version": created["version"],
                "route": [{"kind": "approve", "assignees": [sup.user_id]}],
            },
        )
        ids.append((done["id"], done["version"]))
    # The after-commit part of each call (index, jobs sent to the broker) timed apart.
    from api.kit.uow import UnitOfWork

    effects: list[float] = []
    run_effects = UnitOfWork._run_effects

    async def timed_effects(self: UnitOfWork) -> None:
        t = time.perf_counter()
        await run_effects(self)
        effects.append(ms(time.perf_counter() - t))

    times = []
    UnitOfWork._run_effects = timed_effects  # type: ignore[method-assign]
    try:
        for pid, version in ids:
            effects.clear()
            t = time.perf_counter()
            await workflow.approve(sup, pid, {"version": version})
            times.append(ms(time.perf_counter() - t))
            after.append(sum(effects))
    finally:
        UnitOfWork._run_effects = run_effects  # type: ignore[method-assign]
    base = []
    for pid, _ in ids:
        t = time.perf_counter()
        async with container.uow() as uow:
            rec = await uow.records.get(PROPOSALS, pid)
            assert rec is not None
            await uow.records.update(PROPOSALS, pid, {"comments": 0}, rec["version"])
        base.append(ms(time.perf_counter() - t))
    stored = await EventStore(container).events(ids[0][0])
    outcome.expect(stored[-1]["kind"] == "approved", "approve did not append its event")
    mails = await container.records.count("mails")
    outcome.expect(mails >= n, f"only {mails} mails queued for {n} approvals")
    print(f"baseline: versioned update in a unit of work  p95 {pct(base, 0.95):7.2f} ms")
    p95 = pct(times, 0.95)
    inside = [total - a for total, a in zip(times, after, strict=True)]
    print(f"approve one step median {pct(times, 0.5):7.2f} ms")
    print(
        f"  of which the unit of work (event, record, audit, notification, mail queued) "
        f"p50 {pct(inside, 0.5):7.2f} ms p95 {pct(inside, 0.95):7.2f} ms; after the commit "
        f"(jobs sent to the {broker} broker) p50 {pct(after, 0.5):7.2f} ms "
        f"p95 {pct(after, 0.95):7.2f} ms"
    )
    print(
        f"approve one step (event, audit, notifications, mail queued)  p95 {p95:7.2f} ms  "
        f"({p95 / max(pct(base, 0.95), 1e-6):5.1f}x baseline)"
    )
    print(outcome.verdict("approve one step with notifications queued p95 < 30 ms", p95 < 30))


def pdf_of(pages: int, label: str) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    for p in range(pages):
        c.drawString(72, 720, f"{label} page {p + 1}")
        c.showPage()
    c.save()
    return out.getvalue()


async def bench_bundle(
    container: Container, builder: Subject, work: dict[str, Any], outcome: Outcome
) -> None:
    from api.attachments.service import AttachmentService
    from api.proposals.service import ProposalService

    ids = []
    for f in range(20):
        data = pdf_of(10, f"file{f}")

        async def chunks(data: bytes = data) -> Any:
            yield data

        async with container.uow() as uow:
            info = await container.blobs.put(f"uploads/bench-{f}", chunks())
            record = await AttachmentService(container).adopt(
                builder, {"work_id": work["id"]}, f"資料{f}.pdf", "application/pdf", info, uow
            )
            ids.append(record["id"])
        await container.records.update(
            "attachments",
            record["id"],
            {"content_type": "application/pdf"},
            (await container.records.get("attachments", record["id"]) or {})["version"],
        )
    created = await ProposalService(container).create(
        builder,
        work["id"],
        {"form_id": "koji_uchiawase", "title": "綴じ計測", "attachments": [{"id": i} for i in ids]},
    )
    runs = {}
    for mode in ("in-process", "child"):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bench_proposals",
            "--bundle-child",
            str(container.settings.data_dir),
            str(created["id"]),
            *(["--in-process"] if mode == "in-process" else []),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await child.communicate()
        if not outcome.expect(child.returncode == 0, f"the bundle child failed: {err[-2000:]!r}"):
            return
        runs[mode] = got = json.loads(out.decode().strip().splitlines()[-1])
        outcome.expect(got["pages"] >= 201, f"bundle has {got['pages']} pages")
    base, got = runs["in-process"], runs["child"]
    outcome.expect(base["sha256"] == got["sha256"], "the child's bundle differs from in-process")
    took, form_ms = got["took_s"], got["form_ms"]
    print(f"baseline: the form alone  {form_ms:7.1f} ms")
    print(
        f"baseline: the bundle printed in the app's process (before this change)  "
        f"{base['took_s']:6.2f} s  peak RSS {base['peak_mib']:6.1f} MiB (before the bundle "
        f"{base['before_mib']:6.1f} MiB, +{base['peak_mib'] - base['before_mib']:5.1f} MiB)"
    )
    peak = got["child_peak_mib"]
    if not outcome.expect(peak is not None, "no child process printed the bundle"):
        return
    print(
        f"bundle of {got['pages']} pages from 20 files  {took:6.2f} s  "
        f"({ms(took) / max(form_ms, 1e-6):5.1f}x the form, "
        f"{took / max(base['took_s'], 1e-6):4.2f}x in-process)  peak RSS of the process printing "
        f"it (the child) {peak:6.1f} MiB ({peak / base['peak_mib']:4.2f}x in-process); the "
        f"app's process {got['before_mib']:6.1f} MiB before, peak {got['peak_mib']:6.1f} MiB "
        f"(grew {got['peak_mib'] - got['before_mib']:5.1f} MiB; in-process it grew "
        f"{base['peak_mib'] - base['before_mib']:5.1f} MiB); same bytes: "
        f"{base['sha256'] == got['sha256']}"
    )
    print(outcome.verdict("bundle PDF of 200 pages from 20 files < 5 s", took < 5))
    print(
        outcome.verdict("bundle PDF peak RSS < 200 MB (the printing child)", peak * 1.048576 < 200)
    )


async def bundle_child(data_dir: str, proposal_id: str, in_process: bool) -> None:
    """The bundle alone in a fresh process on the data folder of the run (``--bundle-child``),
    as a worker would print it: in a child process of its own (``api.pdf.IsolatedBundle``),
    or with ``--in-process`` the way it was printed before (in this process: the baseline).
    Prints one JSON line: the time, the pages, this process's RSS before and at its peak, and
    the peak RSS of the printing child (as it reports it, logged by ``IsolatedBundle``)."""
    settings = Settings(
        data_dir=Path(data_dir), log_json=False, log_level="WARNING", jobs={"eager": False}
    )
    container = Container(settings, clock=FixedClock(START))
    await container.open()
    try:
        proposal = await container.records.get(PROPOSALS, proposal_id)
        assert proposal is not None
        work = await container.records.get("works", str(proposal["work_id"]))
        assert work is not None
        printing = Printing(container)
        await printing.form_pdf(proposal, work)  # warm the compiler and its fonts
        t = time.perf_counter()
        await printing.form_pdf(proposal, work)
        form_ms = ms(time.perf_counter() - t)
        # The printing child's own peak, as it reports it (``getrusage`` of the children would
        # count this process's memory, copied into the child before its ``exec``).
        child_peaks: list[float] = []
        pdf_log = logging.getLogger("kura.pdf")

        class Peaks(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                child_peaks.append(getattr(record, "child_peak_rss_mib", None) or math.nan)

        logging.disable(logging.NOTSET)
        pdf_log.setLevel(logging.INFO)
        pdf_log.addHandler(Peaks())
        before = rss_mib()
        reset_peak_rss()
        t = time.perf_counter()
        if in_process:
            pdf = await in_process_bundle(printing, proposal, work)
        else:
            pdf = await printing.bundle_pdf(proposal, work)
        took = time.perf_counter() - t
        peak = peak_rss_mib()
    finally:
        await container.close()
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(
        json.dumps(
            {
                "took_s": took,
                "form_ms": form_ms,
                "before_mib": before,
                "peak_mib": peak,
                "child_peak_mib": max(child_peaks) if child_peaks else None,
                "pages": pages,
                "sha256": hashlib.sha256(pdf).hexdigest(),
            }
        )
    )


async def in_process_bundle(
    printing: Printing, proposal: dict[str, Any], work: dict[str, Any]
) -> bytes:
    """The bundle as ``Printing.bundle_pdf`` printed it before the child process: every part
    loaded here, then ``api.pdf.bundle`` in this process (the baseline)."""
    from api.pdf import BundlePart, bundle

    parts = [BundlePart(await printing.form_pdf(proposal, work), name="発議書類")]
    for record, item in await printing._files(proposal):
        data = await printing._converted(record)
        parts.append(BundlePart(data, name=str(record["name"]), pages=item.get("pages")))
    label = f"No.{proposal.get('number') or '-'}"
    return await bundle(printing.container.pdf, parts, label=label)


async def run(works: int, proposals: int, samples: int) -> int:
    outcome = Outcome()
    scale = (
        None
        if works >= 500 and proposals >= 100_000
        else f"ran at {works} works / {proposals} proposals"
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), log_json=False, log_level="WARNING", jobs={"eager": False}
        )
        container = Container(settings, clock=FixedClock(START))
        await container.open()
        from workers.celery_app import set_container

        set_container(container)
        try:
            t = time.perf_counter()
            sup, work_list, builder = await seed(container, works, proposals)
            print(f"seeded {works} works, {proposals} proposals in {time.perf_counter() - t:.1f} s")
            await bench_lists(container, sup, work_list, samples, outcome, scale)
            broker = "Redis" if settings.jobs.broker_url else "embedded SQLite"
            await bench_approve(
                container, sup, builder, work_list, max(samples, 20), outcome, broker
            )
            await bench_bundle(container, builder, work_list[0], outcome)
        finally:
            set_container(None)
            await container.close()
    return outcome.exit_code()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--works", type=int, default=500)
    parser.add_argument("--proposals", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--bundle-child", nargs=2, metavar=("DATA_DIR", "PROPOSAL_ID"))
    parser.add_argument("--in-process", action="store_true", help="with --bundle-child")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    if args.bundle_child:
        data_dir, proposal_id = args.bundle_child
        asyncio.run(bundle_child(data_dir, proposal_id, args.in_process))
        return
    raise SystemExit(asyncio.run(run(args.works, args.proposals, args.samples)))


if __name__ == "__main__":
    main()
