"""Login latency through the API beside the raw argon2id verify it is built on.

    python -m bench.bench_login [--n 60]

It then times the failure paths beside each other (issue 7 item 10: they must not tell a
real login ID from an unknown one): a wrong password for a real ID, an unknown ID, a locked
real ID and a locked unknown ID, each as a ratio to the wrong-password time.

Runs the real embedded backends (SQLite records in a temp folder) with the production argon2
parameters from ``AuthSettings`` defaults (argon2id, t=3, m=64 MiB, p=1; RFC 9106 §4 second
recommended option, also one of the OWASP Password Storage Cheat Sheet configurations). The
baseline is ``PasswordHasher.verify`` alone on the same hash; the ratio is what the HTTP
layer, user lookup, session insert and audit append add on top.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.auth.passwords import hasher_for
from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from api.users.schemas import UserCreate
from api.users.service import UserService


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), log_json=False, log_level="WARNING", jobs={"eager": True}
        )
        auth = settings.auth
        container = Container(settings)
        await container.open()
        try:
            org_id = new_id()
            await container.records.insert(
                "organizations", {"id": org_id, "kind": "orderer", "name": "ベンチ県"}
            )
            data = UserCreate(login_id="bench", name="計測 太郎", org_id=org_id)
            user, password = await UserService.of(container).create_as("system:bench", data)
            hasher = hasher_for(auth)

            app = create_app(container=container)
            transport = httpx.ASGITransport(app=app)
            raw: list[float] = []
            api: list[float] = []
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                body = {"login_id": "bench", "password": password, "mode": "session"}
                for _ in range(3):  # warm up (dummy hash, imports, SQLite pages)
                    (await c.post("/api/v1/auth/login", json=body)).raise_for_status()
                # Interleaved, so load from other processes weighs on both series alike.
                for _ in range(n):
                    t0 = time.perf_counter()
                    assert hasher.verify_sync(user.password_hash, password)
                    raw.append(time.perf_counter() - t0)
                    c.cookies.clear()
                    t0 = time.perf_counter()
                    r = await c.post("/api/v1/auth/login", json=body)
                    api.append(time.perf_counter() - t0)
                    r.raise_for_status()
                failures = await time_failures(app, container, org_id, n)
        finally:
            await container.close()

    print(
        f"argon2id t={auth.argon2_time_cost} m={auth.argon2_memory_kib} KiB "
        f"p={auth.argon2_parallelism}, n={n}, records=sqlite"
    )
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'baseline: argon2 verify':28}{pct(raw, 50):10.1f}{pct(raw, 95):10.1f}")
    print(f"{'login via API (ASGI)':28}{pct(api, 50):10.1f}{pct(api, 95):10.1f}")
    print(
        f"{'ratio login / verify':28}{pct(api, 50) / pct(raw, 50):10.2f}"
        f"{pct(api, 95) / pct(raw, 95):10.2f}"
    )

    base = pct(failures["wrong password"], 50)
    print(f"{'failure path':28}{'p50 ms':>10}{'p95 ms':>10}{'p50 ratio':>10}")
    for label, samples in failures.items():
        p50, p95 = pct(samples, 50), pct(samples, 95)
        print(f"{label:28}{p50:10.1f}{p95:10.1f}{p50 / base:10.2f}")


async def time_failures(
    app: Any, container: Container, org_id: str, n: int
) -> dict[str, list[float]]:
    """Interleaved timings of the four failure answers. Each request comes from its own
    client address (the per-IP throttle would otherwise answer 429 without hashing), the
    open account's failure count is reset each round and each round's unknown ID is new, so
    every path stays what its label says."""
    service = UserService.of(container)
    users: dict[str, str] = {}
    for login_id in ("real.open", "real.locked"):
        data = UserCreate(login_id=login_id, name="計測", org_id=org_id)
        users[login_id] = (await service.create_as("system:bench", data))[0].id
    counter = 0

    async def attempt(login_id: str) -> tuple[float, int]:
        nonlocal counter
        counter += 1
        client = (f"10.{counter // 65536 % 256}.{counter // 256 % 256}.{counter % 256}", 40000)
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            body = {"login_id": login_id, "password": "wrong-password-000"}
            t0 = time.perf_counter()
            r = await c.post("/api/v1/auth/login", json=body)
            return time.perf_counter() - t0, r.status_code

    for login_id in ("real.locked", "ghost.locked"):
        for _ in range(container.settings.auth.lockout_threshold):
            await attempt(login_id)
    out: dict[str, list[float]] = {
        "wrong password": [],
        "unknown id": [],
        "locked real id": [],
        "locked unknown id": [],
    }
    for i in range(n):
        for label, login_id, expected in (
            ("wrong password", "real.open", 401),
            ("unknown id", f"ghost.{i}", 401),
            ("locked real id", "real.locked", 423),
            ("locked unknown id", "ghost.locked", 423),
        ):
            elapsed, status = await attempt(login_id)
            assert status == expected, (label, status)
            out[label].append(elapsed)
        record = await container.records.get("users", users["real.open"])
        assert record is not None
        await container.records.update(
            "users", record["id"], {"failed_attempts": 0}, record["version"]
        )
    return out


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("httpx", "kura", "kura.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=60)
    asyncio.run(run(parser.parse_args().n))


if __name__ == "__main__":
    main()
