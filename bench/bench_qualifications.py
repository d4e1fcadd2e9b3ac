"""Qualification applications (issue 14 "Measured"): the last hour of a round and a
municipality's export, on the embedded default stack (SQLite, local files).

    python -m bench.bench_qualifications [--companies 2000] [--window 600] [--export 5000]

1. Send (target p95 < 300 ms, none lost): ``--companies`` contractors, each with a complete
   draft (seed 004's form with two offices, three categories, the e-tax certificate) and its
   経審 data in the imported data set, send within ``--window`` seconds on 2018-11-22 16:30 JST,
   the round's last day: arrivals at a steady rate (open loop, as many senders as arrive, so a
   slow send makes the next ones wait behind it). ``SendService.send`` is timed from each
   arrival: window and version checks, every check of the form, the 経審 lookup and
   comparison, the receipt number, the receipt PDF (Typst) stored in the content store, the
   filing and its audit event in one unit of work. Afterwards every company has exactly one
   filing with a readable receipt PDF and the receipt numbers are 1..N without gap or double.
   Baseline, same run: rendering the same receipts alone (the PDF is the largest part).
2. Export (target < 5 s): filings are added (copies of the sent ones under new companies and
   numbers, written straight into the store) until 呉市 has ``--export``; the CSV and the Excel
   export streams (``DeskService.rows`` → ``csv_stream`` / ``xlsx_stream``, what the two
   endpoints stream) are read to the end. Baseline, same run: scanning the same filings and
   writing their stored fields with ``csv.writer`` (no desks, names or statuses).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import csv
import io
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Outcome, pct

# 2018-11-22 (Thursday, the last day of filing) 16:30 JST.
LAST_HOUR = datetime(2018, 11, 22, 7, 30, tzinfo=UTC)
APPLY = "qualifications.apply"
WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def wide(n: int, width: int = 4) -> str:
    """``n`` in full-width digits (the form's names are full-width, 第2 3(4))."""
    return f"{n:0{width}d}".translate(WIDE)


def settings_for(data: Path) -> Any:
    from api.config import Settings

    return Settings(data_dir=data, log_json=False, log_level="WARNING", jobs={"eager": False})


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def company_values(i: int) -> dict[str, Any]:
    """Company ``i``: the tests' complete filing under its own 法人番号, licence and name."""
    from stdnum.jp import cn

    from tests.qualifications.harness import valid_values

    vals = valid_values()
    body = f"{240001000000 + i:012d}"
    company = vals["company"]
    company["corporate_number"] = cn.calc_check_digit(body) + body
    company["name"] = f"（株）春日建設{wide(i)}"
    company["permit"]["number"] = str(20000 + i)
    return vals


def review_rows(i: int) -> list[list[str]]:
    from tests.qualifications.harness import REVIEW_ROWS

    rows = []
    for row in REVIEW_ROWS[:3]:
        row = list(row)
        row[1], row[2] = str(20000 + i), f"（株）春日建設{wide(i)}"
        rows.append(row)
    return rows


async def stage(container: Any, subject: Any, name: str, data: bytes, ctype: str) -> str:
    """A staged attachment as a finished tus upload leaves it."""
    from api.archive.cas import upload_key
    from api.attachments.service import AttachmentService, scope_name

    scope = scope_name({"org_id": subject.org_id})
    info = await container.blobs.put(upload_key(scope), _chunks(data), content_type=ctype)
    async with container.uow() as uow:
        record = await AttachmentService(container).adopt(
            subject, {"org_id": subject.org_id}, name, ctype, info, uow
        )
    return str(record["id"])


async def seed(container: Any, companies: int) -> tuple[str, dict[str, str], list[Any]]:
    """Municipalities, the round, the 経審 data of every company, and one draft each."""
    from api.kit.ids import new_id
    from api.permissions.policy import OrgKind, Subject
    from api.qualifications.drafts import DraftService
    from api.qualifications.reviewsets import ReviewSetService
    from api.qualifications.rounds import RoundService
    from api.qualifications.schemas import DraftCreate, DraftSave, RoundCreate
    from tests.qualifications.harness import ORGS, REVIEW_HEADER, round_body

    now = "2018-10-01T00:00:00.000000Z"
    ids = {key: new_id() for key, (_, code) in ORGS.items() if code}
    await container.records.insert_many(
        "organizations",
        [
            {"id": ids[k], "kind": "orderer", "name": n, "code": c, "created_at": now}
            for k, (n, c) in ORGS.items()
            if c
        ],
    )
    operator = Subject(user_id="op", login_id="op", org_id="op", org_kind=OrgKind.OPERATOR)
    round_ = await RoundService(container).create(operator, RoundCreate(**round_body(ids)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REVIEW_HEADER)
    for i in range(companies):
        writer.writerows(review_rows(i))
    data = out.getvalue().encode("utf-8-sig")
    aid = await stage(container, operator, "keishin.csv", data, "text/csv")
    await ReviewSetService(container).import_attachment(operator, aid, "経審結果", "2018-10-31")

    orgs = [new_id() for _ in range(companies)]
    await container.records.insert_many(
        "organizations",
        [
            {"id": o, "kind": "contractor", "name": f"春日建設{i:04d}株式会社", "created_at": now}
            for i, o in enumerate(orgs)
        ],
    )
    drafts = DraftService(container)
    ready = []
    for i, org in enumerate(orgs):
        subject = Subject(
            user_id=f"u{i}",
            login_id=f"kasuga{i}",
            org_id=org,
            org_kind=OrgKind.CONTRACTOR,
            grants=frozenset({APPLY}),
        )
        draft = await drafts.create(subject, str(round_["id"]), DraftCreate(start="empty"))
        vals = company_values(i)
        cert = f"<?xml version='1.0'?><NOUZEI>e-Tax {i}</NOUZEI>".encode()
        vals["attachment"] = {
            "id": await stage(container, subject, "nouzei.xml", cert, "application/xml"),
            "title": "nouzei",
            "checked": True,
        }
        draft = await drafts.save(
            subject, str(draft["id"]), DraftSave(version=draft["version"], values=vals)
        )
        ready.append((subject, draft))
        if (i + 1) % 500 == 0:
            print(f"  {i + 1} drafts")
    return str(round_["id"]), ids, ready


async def send_all(
    container: Any, ready: list[Any], window: float, outcome: Outcome
) -> tuple[list[float], int]:
    """Open loop: company ``i`` arrives at ``i * window / n`` s and sends at once."""
    from api.qualifications.schemas import SendBody
    from api.qualifications.sending import SendService

    service = SendService(container)
    gap = window / len(ready)
    times: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()

    async def one(i: int, subject: Any, draft: dict[str, Any]) -> None:
        due = start + i * gap
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            await service.send(subject, str(draft["id"]), SendBody(version=draft["version"]))
        except Exception as exc:  # every failure is a lost filing: counted, never hidden
            errors.append(f"{subject.login_id}: {type(exc).__name__}: {exc}"[:300])
            return
        times.append((time.perf_counter() - due) * 1000)

    await asyncio.gather(*(one(i, s, d) for i, (s, d) in enumerate(ready)))
    for e in errors[:5]:
        outcome.fail(f"send refused: {e}")
    return times, len(errors)


async def verify(container: Any, round_id: str, companies: int, outcome: Outcome) -> None:
    """None lost: one filing per company, numbers 1..N, every receipt PDF readable."""
    from api.archive.cas import ContentStore
    from api.qualifications.models import APPLICATIONS
    from api.qualifications.sending import receipt_scope
    from storage.query import Eq

    numbers, orgs = [], set()
    cas = ContentStore(container.records, container.blobs, container.clock)
    unreadable = 0
    async for app in container.records.scan(APPLICATIONS, (Eq("round_id", round_id),)):
        numbers.append(app["receipt_no"])
        orgs.add(app["org_id"])
        blob = await cas.get(receipt_scope(app), str(app["receipt"]["sha256"]))
        head = b"".join([c async for c in cas.open(blob)])[:5]
        unreadable += head != b"%PDF-"
    expected = [f"H31-{n:06d}" for n in range(1, companies + 1)]
    outcome.expect(len(orgs) == companies, f"{len(orgs)} companies filed of {companies}")
    outcome.expect(sorted(numbers) == expected, "receipt numbers are not 1..N once each")
    outcome.expect(unreadable == 0, f"{unreadable} receipts are not PDFs")


async def render_baseline(container: Any, round_id: str, n: int) -> list[float]:
    """The same receipts rendered alone, one after another."""
    from api.qualifications import receipt
    from api.qualifications.models import APPLICATIONS, ROUNDS
    from storage.query import Eq, Query

    round_ = await container.records.get(ROUNDS, round_id)
    page = await container.records.find(
        APPLICATIONS, Query(where=(Eq("round_id", round_id),), limit=n)
    )
    times = []
    for app in page.items:
        started = time.perf_counter()
        await container.pdf.render(receipt.TEMPLATE, receipt.receipt_data(app, round_))
        times.append((time.perf_counter() - started) * 1000)
    return times


async def grow(container: Any, round_id: str, total: int) -> None:
    """Copies of the sent filings under new companies and numbers until there are ``total``."""
    from api.kit.ids import new_id
    from api.qualifications.models import APPLICATIONS
    from storage.query import Eq, Query

    page = await container.records.find(
        APPLICATIONS, Query(where=(Eq("round_id", round_id),), limit=200)
    )
    have = await container.records.count(APPLICATIONS, (Eq("round_id", round_id),))
    batch = []
    for n in range(have + 1, total + 1):
        row = copy.deepcopy(page.items[n % len(page.items)])
        for key in ("version", "_rev"):
            row.pop(key, None)
        row.update(id=new_id(), org_id=new_id(), receipt_no=f"H31-{n:06d}", draft_id=new_id())
        row["company_name"] = f"（株）複写建設{wide(n, 5)}"
        batch.append(row)
        if len(batch) == 500:
            await container.records.insert_many(APPLICATIONS, batch)
            batch = []
    if batch:
        await container.records.insert_many(APPLICATIONS, batch)


async def export(service: Any, subject: Any, round_id: str, kind: str) -> tuple[float, int, int]:
    from api.qualifications.export import csv_stream, xlsx_stream

    stream = csv_stream if kind == "csv" else xlsx_stream
    started = time.perf_counter()
    size = 0
    body = bytearray()
    async for chunk in stream(service.rows(subject, round_id)):
        size += len(chunk)
        if kind == "csv":
            body += chunk
    took = time.perf_counter() - started
    lines = body.decode("utf-8-sig").count("\r\n") - 1 if kind == "csv" else -1
    return took, size, lines


async def raw_export(container: Any, subject: Any, round_id: str) -> tuple[float, int]:
    from api.qualifications.export import COLUMNS
    from api.qualifications.models import APPLICATIONS, org_principal
    from storage.query import Eq

    started = time.perf_counter()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    n = 0
    where = (Eq("round_id", round_id), Eq("readers", org_principal(str(subject.org_id))))
    async for app in container.records.scan(APPLICATIONS, where):
        writer.writerow([app.get(name, "") for name, _ in COLUMNS])
        n += 1
    buf.getvalue().encode()
    return time.perf_counter() - started, n


async def main(args: argparse.Namespace) -> int:
    from api.container import Container
    from api.kit.clock import FixedClock
    from api.permissions.policy import OrgKind, Subject
    from api.qualifications.desk import DeskService

    logging.disable(logging.INFO)
    outcome = Outcome()
    with tempfile.TemporaryDirectory() as tmp:
        container = Container(settings_for(Path(tmp) / "data"), clock=FixedClock(LAST_HOUR))
        await container.open()
        try:
            print(f"seeding {args.companies} companies (経審 data, drafts, certificates) ...")
            started = time.perf_counter()
            round_id, ids, ready = await seed(container, args.companies)
            print(f"  seeded in {time.perf_counter() - started:.0f} s")
            print(f"sending {args.companies} filings within {args.window:.0f} s ...")
            started = time.perf_counter()
            times, lost = await send_all(container, ready, args.window, outcome)
            took = time.perf_counter() - started
            await verify(container, round_id, args.companies, outcome)
            base = await render_baseline(container, round_id, min(200, args.companies))
            if not times:
                print("send: nothing accepted")
                return outcome.exit_code()
            p95 = pct(times, 0.95)
            print(
                f"send: {len(times)} accepted, {lost} refused, in {took:.0f} s; "
                f"p50 {pct(times, 0.5):.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms; "
                f"baseline receipt PDF alone p50 {pct(base, 0.5):.0f} ms, "
                f"p95 {pct(base, 0.95):.0f} ms (ratio send/PDF at p95 {p95 / pct(base, 0.95):.1f}x)"
            )
            scale = None
            if args.companies < 2000 or args.window > 600:
                scale = "below 2,000 companies within 10 minutes"
            print(outcome.verdict("send p95 < 300 ms, none lost", p95 < 300 and not lost, scale))

            print(f"growing 呉市's filings to {args.export} ...")
            await grow(container, round_id, args.export)
            kure = Subject(
                user_id="kure",
                login_id="kure",
                org_id=ids["kure"],
                org_kind=OrgKind.ORDERER,
                grants=frozenset({"qualifications.receive"}),
            )
            desk = DeskService(container)
            raw, raw_n = await raw_export(container, kure, round_id)
            csv_s, csv_size, csv_lines = await export(desk, kure, round_id, "csv")
            xlsx_s, xlsx_size, _ = await export(desk, kure, round_id, "xlsx")
            outcome.expect(raw_n == args.export, f"raw scan found {raw_n} filings")
            outcome.expect(csv_lines == args.export, f"CSV has {csv_lines} rows")
            print(
                f"export of {csv_lines} filings: CSV {csv_s:.2f} s ({csv_size / 1e6:.1f} MB), "
                f"Excel {xlsx_s:.2f} s ({xlsx_size / 1e6:.1f} MB); baseline raw scan + "
                f"csv.writer {raw:.2f} s (ratios {csv_s / raw:.1f}x, {xlsx_s / raw:.1f}x)"
            )
            print(
                outcome.verdict(
                    "export of 5,000 < 5 s (CSV and Excel)",
                    max(csv_s, xlsx_s) < 5,
                    None if args.export >= 5000 else "below 5,000 filings",
                )
            )
        finally:
            await container.close()
    return outcome.exit_code()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--window", type=float, default=600.0)
    parser.add_argument("--export", type=int, default=5000)
    sys.exit(asyncio.run(main(parser.parse_args())))
