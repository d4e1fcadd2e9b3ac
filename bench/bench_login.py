"""Login latency through the API beside the raw argon2id verify it is built on.

    python -m bench.bench_login [--n 60]

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


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("httpx", "kura", "kura.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=60)
    asyncio.run(run(parser.parse_args().n))


if __name__ == "__main__":
    main()
