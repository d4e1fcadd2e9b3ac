"""Bonds (issue 11 "Measured"), on the embedded stack:

    python -m bench.bench_bonds [--keys 400] [--bonds 100000] [--years 10] [--attempts 600]
                                [--parts keys,timing,balances]

1. Key verification (signature + status), target p95 < 5 ms: ``KeyService.present`` on a
   genuine key (parse, the certificate's chain, validity and CRL check, the ES256 signature
   through joserfc, the key and bond records, the constant-time comparison, the key's state),
   over ``--keys`` keys of different bonds; and the offline check (``verify_keyfile``: chain,
   CRL, signature, the signed status list decoded). Baseline, same run: the bare ES256
   signature check with ``cryptography``.
2. Balance history over ``--bonds`` bonds and ``--years`` years, target < 200 ms: 20 issuers,
   bonds with one to three revisions spread over the years (periods of 1 to 24 months), 2%
   still sealed; ``BondViews.history`` for an issuer, daily and monthly over the whole span.
   Baseline, same run: the same figures recomputed from every bond's revisions (what one
   would do without the yearly delta records); the two must agree.
3. Timing of a wrong secret against a wrong bond id: ``--attempts`` presentations of each,
   interleaved in a random order: validly signed keys whose secret is wrong for an existing
   bond, and validly signed keys for a bond id that does not exist. Both run the same reads,
   comparison, counters and audit write; the distributions are printed (percentiles, mean)
   with the two-sample Kolmogorov-Smirnov statistic and its p-value, and a control pair
   (wrong secret against wrong secret) shows what "no difference" looks like on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Outcome, pct

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def ks(a: list[float], b: list[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic D and its asymptotic p-value."""
    xs, ys = sorted(a), sorted(b)
    i = j = 0
    d = 0.0
    while i < len(xs) and j < len(ys):
        if xs[i] <= ys[j]:
            i += 1
        else:
            j += 1
        d = max(d, abs(i / len(xs) - j / len(ys)))
    n = len(xs) * len(ys) / (len(xs) + len(ys))
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return d, max(0.0, min(1.0, p))


def dist(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"  {label:<28} n={len(ms)}  min {min(ms):.3f}  p10 {pct(ms, 0.1):.3f}"
        f"  p25 {pct(ms, 0.25):.3f}"
        f"  p50 {pct(ms, 0.5):.3f}  p75 {pct(ms, 0.75):.3f}  p90 {pct(ms, 0.9):.3f}"
        f"  p99 {pct(ms, 0.99):.3f}  mean {statistics.fmean(ms):.3f}  (ms)"
    )


async def world(folder: Path) -> Any:
    from api.config import BondSettings, Settings
    from api.container import Container
    from api.kit.clock import FixedClock
    from tests.bonds.pki import build

    pki = build(folder / "pki")
    settings = Settings(
        data_dir=folder / "data",
        log_json=False,
        log_level="WARNING",
        jobs={"eager": True},
        bonds=BondSettings(
            trust_anchors=[pki.anchor_file],
            crl_files=pki.crl_files,
        ),
    )
    container = Container(settings, clock=FixedClock(T0))
    await container.open()
    return container, pki


async def seed_orgs(container: Any) -> dict[str, Any]:
    from api.kit.ids import new_id
    from api.permissions.policy import OrgKind, Subject

    ids = {k: new_id() for k in ("issuer", "builder", "orderer")}
    for key, kind in (("issuer", "issuer"), ("builder", "contractor"), ("orderer", "orderer")):
        await container.records.insert(
            "organizations", {"id": ids[key], "kind": kind, "name": f"{key} 株式会社"}
        )
    issuer = Subject(
        new_id(),
        "issuer",
        ids["issuer"],
        OrgKind.ISSUER,
        frozenset({"bonds.issue", "bonds.certificates"}),
    )
    clerk = Subject(new_id(), "clerk", ids["orderer"], OrgKind.ORDERER, frozenset({"bonds.read"}))
    return {"ids": ids, "issuer": issuer, "clerk": clerk}


async def keys_part(container: Any, pki: Any, n: int, out: Outcome) -> dict[str, Any]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from api.bonds.certificates import CertificateService
    from api.bonds.envelope import parse_compact, read_keyfile, unb64u
    from api.bonds.keys import KeyService
    from api.bonds.offline import Verifier, sign_tbs
    from api.bonds.schemas import BondCreate
    from api.bonds.service import BondService

    w = await seed_orgs(container)
    ids, issuer, clerk = w["ids"], w["issuer"], w["clerk"]
    await CertificateService(container).register(issuer, pki.ec.chain_pem)
    service = BondService(container)
    keys = KeyService(container)
    texts: list[str] = []
    bonds: list[dict[str, Any]] = []
    for i in range(n):
        bond = await service.create(
            issuer,
            BondCreate.model_validate(
                {
                    "kind": "performance_bond",
                    "certificate_no": f"B-{i:06d}",
                    "obligor_org_id": ids["builder"],
                    "obligee_org_id": ids["orderer"],
                    "work_number": "R8-1",
                    "work_title": "工事",
                    "amount": 1_000_000 + i,
                    "period_start": "2026-06-01",
                    "period_end": "2027-03-31",
                    "issued_on": "2026-05-28",
                }
            ),
        )
        key = await keys.current(bond)
        assert key is not None
        await keys.accept(issuer, bond, sign_tbs(await keys.tbs(bond, key), pki.ec.signer()))
        bond = await container.records.get("bonds", bond["id"])
        texts.append(await keys.keyfile_text(bond))
        bonds.append(bond)
    # 1. online verification
    for text in texts[:20]:  # warm up (imports, caches of compiled code)
        await keys.present(clerk, text, None)
    online: list[float] = []
    for text in texts:
        t = time.perf_counter()
        found = await keys.present(clerk, text, None)
        online.append(time.perf_counter() - t)
        out.expect(
            found.bond["id"] == parse_compact(read_keyfile(text)[0]).claims["bond_id"],
            "present() opened another bond",
        )
    verifier = Verifier(await _trust(container))
    offline: list[float] = []
    for text in texts:
        t = time.perf_counter()
        report = verifier.verify(text, T0 + timedelta(minutes=1))
        offline.append(time.perf_counter() - t)
        out.expect(
            report.valid and report.current is True,
            f"offline verification failed: {report.problems}",
        )
    public = pki.ec.cert.public_key()
    bare: list[float] = []
    for text in texts:
        head, body, sig = read_keyfile(text)[0].split(".")
        raw = unb64u(sig)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        t = time.perf_counter()
        public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        bare.append(time.perf_counter() - t)
    p95 = pct(online, 0.95) * 1000
    print("1. key verification (signature + certificate chain + CRL + key record + status)")
    print(dist("online present() p95", online).replace("online present() p95", "online present()"))
    print(dist("offline Verifier.verify()", offline))
    print(dist("baseline: bare ES256 verify", bare))
    print(
        f"  online p95 {p95:.2f} ms = {p95 / (pct(bare, 0.95) * 1000):.1f} x"
        " the bare signature check"
    )
    print("  " + out.verdict("key verification p95 < 5 ms", p95 < 5.0))
    return {"issuer": issuer, "clerk": clerk, "bonds": bonds, "texts": texts, "ids": ids}


async def _trust(container: Any) -> dict[str, Any]:
    import httpx

    from api.app import create_app

    app = create_app(container=container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://b") as client:
        r = await client.get("/api/v1/bonds/trust")
        return dict(r.json())


async def timing_part(
    container: Any, pki: Any, w: dict[str, Any], attempts: int, out: Outcome
) -> None:
    import json

    from api.bonds.envelope import (
        KEY_TYP,
        b64u,
        canonical,
        parse_compact,
        read_keyfile,
        sign_compact,
    )
    from api.bonds.keys import KeyRefused, KeyService
    from api.kit.ids import new_id
    from api.permissions.policy import OrgKind, Subject

    keys = KeyService(container)
    signer = pki.ec.signer()

    def forged(claims: dict[str, Any]) -> str:
        return sign_compact({"typ": KEY_TYP}, canonical(claims), signer)

    base = parse_compact(read_keyfile(w["texts"][0])[0]).claims
    rng = random.Random(11)
    kinds = ["secret"] * attempts + ["bond"] * attempts + ["control"] * attempts
    rng.shuffle(kinds)
    times: dict[str, list[float]] = {"secret": [], "bond": [], "control": []}
    for kind in kinds:
        bond = rng.choice(w["bonds"])
        claims = {
            **base,
            "bond_id": bond["id"],
            "revision": bond["revision"],
            "secret": b64u(rng.randbytes(32)),
        }
        if kind == "bond":
            claims["bond_id"] = new_id()  # a well-formed id no bond has
        token = forged(claims)
        who = Subject(
            new_id(), "clerk", w["ids"]["orderer"], OrgKind.ORDERER, frozenset({"bonds.read"})
        )
        t = time.perf_counter()
        try:
            await keys.present(who, token, None)
            out.fail(f"a forged key ({kind}) opened a bond")
        except KeyRefused as exc:
            out.expect(exc.extra.get("reason") == "mismatch", f"{kind}: refused for {exc.extra}")
        times[kind].append(time.perf_counter() - t)
    print("3. wrong secret against wrong bond id (each a validly signed key; interleaved)")
    print(dist("wrong secret", times["secret"]))
    print(dist("wrong bond id", times["bond"]))
    print(dist("control: wrong secret again", times["control"]))
    d, p = ks(times["secret"], times["bond"])
    dc, pc = ks(times["secret"], times["control"])
    diff = (statistics.median(times["bond"]) - statistics.median(times["secret"])) * 1e6
    print(
        f"  KS wrong secret vs wrong bond id: D = {d:.3f}, p = {p:.3f};"
        f" medians differ by {diff:+.1f} µs"
    )
    print(f"  KS control (wrong secret vs wrong secret): D = {dc:.3f}, p = {pc:.3f}")
    print("  " + out.verdict("no measurable difference (KS p >= 0.01)", p >= 0.01))
    _ = json


async def balances_part(container: Any, n: int, years: int, out: Outcome) -> None:
    from collections import defaultdict

    from api.bonds import balances
    from api.bonds.views import BondViews
    from api.kit.clock import to_iso
    from api.kit.ids import new_id
    from api.permissions.policy import OrgKind, Subject

    rng = random.Random(5)
    issuers = [new_id() for _ in range(20)]
    await container.records.insert_many(
        "organizations",
        [{"id": i, "kind": "issuer", "name": f"保証会社{k}"} for k, i in enumerate(issuers)],
    )
    start = date(2016, 1, 1)
    end = date(2016 + years - 1, 12, 31)
    span = (end - start).days
    bonds: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    sealed_rows: list[dict[str, Any]] = []
    per_issuer: dict[str, dict[date, int]] = {i: defaultdict(int) for i in issuers}
    now = datetime(2026, 1, 10, tzinfo=UTC)
    for k in range(n):
        issuer = rng.choice(issuers)
        ps = start + timedelta(days=rng.randrange(span))
        pe = min(end, ps + timedelta(days=rng.randrange(30, 730)))
        bid = new_id()
        revs = []
        for r in range(1, rng.choice((1, 1, 2, 3)) + 1):
            at = datetime.combine(ps + timedelta(days=(r - 1) * 20), datetime.min.time(), UTC)
            revs.append(
                {
                    "id": f"{bid}:{r:06d}",
                    "bond_id": bid,
                    "revision": r,
                    "event": "register" if r == 1 else "contract_change",
                    "state": "active",
                    "contents": {
                        "amount": rng.randrange(1, 500) * 10_000,
                        "period_start": ps.isoformat(),
                        "period_end": pe.isoformat(),
                    },
                    "at": to_iso(at),
                }
            )
        sealed = k % 50 == 0
        bond = {
            "id": bid,
            "kind": "bid_bond" if sealed else "performance_bond",
            "origin": "electronic",
            "state": "active",
            "revision": len(revs),
            "issuer_org_id": issuer,
            "cert_key": f"{issuer}:{k}",
            "contents": revs[-1]["contents"],
            "created_at": revs[0]["at"],
        }
        if sealed:
            bond["opening_at"] = to_iso(now + timedelta(days=rng.randrange(1, 30)))
        if sealed:
            sealed_rows.append(
                {
                    "id": bid,
                    "issuer_org_id": issuer,
                    "opening_at": bond["opening_at"],
                    "balance": balances.encode(balances.contribution(revs)),
                }
            )
        bonds.append(bond)
        revisions += revs
        for d, v in balances.contribution(revs).items():
            per_issuer[issuer][d] += v
    t = time.perf_counter()
    for chunk in range(0, len(bonds), 5000):
        await container.records.insert_many("bonds", bonds[chunk : chunk + 5000])
    for chunk in range(0, len(revisions), 5000):
        await container.records.insert_many("bond_revisions", revisions[chunk : chunk + 5000])
    rows = []
    for issuer, deltas in per_issuer.items():
        by_year: dict[int, list[int]] = {}
        for d, v in deltas.items():
            if v:
                days = by_year.setdefault(
                    d.year, [0] * (date(d.year + 1, 1, 1) - date(d.year, 1, 1)).days
                )
                days[(d - date(d.year, 1, 1)).days] += v
        rows += [
            {"id": balances.year_id(issuer, y), "issuer_org_id": issuer, "year": y, "days": days}
            for y, days in by_year.items()
        ]
    await container.records.insert_many("bond_balance_sealed", sealed_rows)
    await container.records.insert_many("bond_balance_years", rows)
    print(
        f"2. balance history: {len(bonds)} bonds, {len(revisions)} revisions,"
        f" {len(rows)} yearly records (seeded in {time.perf_counter() - t:.1f} s)"
    )
    container.clock.at = now
    viewer = Subject(new_id(), "v", issuers[0], OrgKind.ISSUER, frozenset({"bonds.issue"}))
    views = BondViews(container)
    results: dict[str, list[float]] = {"day": [], "month": []}
    series: dict[str, Any] = {}
    for step in ("month", "day"):
        for _ in range(6):
            t = time.perf_counter()
            series[step] = await views.history(viewer, start, end, step)
            results[step].append(time.perf_counter() - t)
    # baseline: recompute from every bond's revisions (scan and fold)
    t = time.perf_counter()
    by_bond: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async for rev in container.records.scan("bond_revisions"):
        by_bond[rev["bond_id"]].append(rev)
    owner = {b["id"]: b async for b in container.records.scan("bonds")}
    merged: dict[date, int] = defaultdict(int)
    for bid, revs in by_bond.items():
        b = owner[bid]
        if (
            b.get("opening_at")
            and b["opening_at"] > to_iso(now)
            and b["issuer_org_id"] != viewer.org_id
        ):
            continue  # sealed for the viewer
        for d, v in balances.contribution(revs).items():
            merged[d] += v
    baseline_series = balances.run(list(merged.items()), series["month"].dates)
    baseline = time.perf_counter() - t
    out.expect(
        baseline_series == series["month"].values["total"], "history differs from the recomputation"
    )
    worst = max(pct(results["day"], 0.5), pct(results["month"], 0.5)) * 1000
    print(
        f"  history monthly ({len(series['month'].dates)} points):"
        f" median {pct(results['month'], 0.5) * 1000:.1f} ms,"
        f" max {max(results['month']) * 1000:.1f} ms"
    )
    print(
        f"  history daily ({len(series['day'].dates)} points):"
        f" median {pct(results['day'], 0.5) * 1000:.1f} ms,"
        f" max {max(results['day']) * 1000:.1f} ms"
    )
    print(
        f"  baseline (recompute from {len(revisions)} revisions): {baseline * 1000:.0f} ms"
        f" = {baseline * 1000 / worst:.0f} x"
    )
    # the balances page's other call: the day's figures and the per-bond rows (no target in
    # the issue; printed beside the history so a regression shows)
    own = sum(1 for b in bonds if b["issuer_org_id"] == viewer.org_id)
    for label, day in (("mid-span", start + (end - start) / 2), ("last", end)):
        timings: list[float] = []
        summary: dict[str, Any] = {}
        for _ in range(5):
            t = time.perf_counter()
            summary = await views.summary(viewer, day)
            timings.append(time.perf_counter() - t)
        print(
            f"  summary on the {label} day {day} (issuer with {own} bonds,"
            f" {len(summary['bonds'])} rows): median {pct(timings, 0.5) * 1000:.1f} ms,"
            f" max {max(timings) * 1000:.1f} ms"
        )
    print(
        "  "
        + out.verdict(
            "balance history over 100,000 bonds and 10 years < 200 ms",
            worst < 200,
            None if n >= 100_000 and years >= 10 else f"ran {n} bonds, {years} years",
        )
    )


async def main(args: argparse.Namespace) -> int:
    logging.disable(logging.WARNING)
    out = Outcome()
    with tempfile.TemporaryDirectory() as tmp:
        container, pki = await world(Path(tmp))
        try:
            parts = set(args.parts.split(","))
            if parts & {"keys", "timing"}:
                w = await keys_part(container, pki, args.keys, out)
                if "timing" in parts:
                    await timing_part(container, pki, w, args.attempts, out)
            if "balances" in parts:
                await balances_part(container, args.bonds, args.years, out)
        finally:
            await container.close()
    return out.exit_code()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=400)
    parser.add_argument("--bonds", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--attempts", type=int, default=600)
    parser.add_argument("--parts", default="keys,timing,balances")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
