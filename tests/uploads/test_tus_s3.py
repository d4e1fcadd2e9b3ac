"""The tus server over the S3 blob adapter (real SeaweedFS; ``scripts/test-services``)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tusclient import client as tus_client

from api.config import BlobsSettings, Settings
from tests.conftest import server_env
from tests.uploads import test_tus_api as api_tests
from tests.uploads.conftest import UploadHarness, upload_harness
from tests.uploads.support import Server
from tests.uploads.test_clients import MIB, OPERATOR, CutProxy, _files, _insert_work, make_file

pytestmark = pytest.mark.servers


def s3_env() -> dict[str, str]:
    return {
        "KURA_BLOBS__BACKEND": "s3",
        "KURA_BLOBS__S3_ENDPOINT": server_env("KURA_TEST_S3_ENDPOINT").removeprefix("http://"),
        "KURA_BLOBS__S3_ACCESS_KEY": os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
        "KURA_BLOBS__S3_SECRET_KEY": os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
        "KURA_BLOBS__S3_BUCKET": f"kura-test-{uuid.uuid4().hex[:12]}",
        "KURA_BLOBS__PART_SIZE": str(5 * MIB),
    }


def s3_settings(settings: Settings, env: dict[str, str]) -> Settings:
    blobs = BlobsSettings(
        backend="s3",
        s3_endpoint=env["KURA_BLOBS__S3_ENDPOINT"],
        s3_access_key=env["KURA_BLOBS__S3_ACCESS_KEY"],  # type: ignore[arg-type]
        s3_secret_key=env["KURA_BLOBS__S3_SECRET_KEY"],  # type: ignore[arg-type]
        s3_bucket=env["KURA_BLOBS__S3_BUCKET"],
        part_size=5 * MIB,
    )
    return settings.model_copy(update={"blobs": blobs})


@pytest.fixture
async def uh_s3(settings: Settings) -> AsyncIterator[UploadHarness]:
    async with upload_harness(s3_settings(settings, s3_env())) as h:
        yield h


@pytest.mark.anyio
async def test_chunks_land_as_a_file(uh_s3: UploadHarness) -> None:
    await api_tests.test_upload_in_chunks_lands_as_a_file(uh_s3)


@pytest.mark.anyio
async def test_offsets_and_checksums(uh_s3: UploadHarness) -> None:
    await api_tests.test_bad_offsets_checksums_and_types(uh_s3)


@pytest.mark.anyio
async def test_termination(uh_s3: UploadHarness) -> None:
    await api_tests.test_termination(uh_s3)


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    env = s3_env()
    data_dir = tmp_path / "data"
    work_id = asyncio.run(_insert_work(data_dir))  # records only: the local settings do
    srv = Server(data_dir, OPERATOR, env)
    srv.start()
    try:
        yield srv, work_id
    finally:
        srv.stop()


def test_tuspy_cut_and_resume_on_s3(s3_server: tuple[Server, str], tmp_path: Path) -> None:
    srv, work_id = s3_server
    path = tmp_path / "s3.bin"
    size = 12 * MIB
    sha = make_file(path, size)
    proxy = CutProxy(srv.port, cut_after=7 * MIB)
    stream = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        uploader = tus_client.TusClient(f"{proxy.base}/api/v1/works/{work_id}/uploads").uploader(
            file_stream=stream,
            chunk_size=size,
            metadata={"filename": path.name},
            retries=5,
            retry_delay=0.5,
        )
        uploader.upload()
    finally:
        stream.close()
        proxy.close()
    assert proxy.cut.is_set()
    assert proxy.upstream < size + size // 4  # resumed, not restarted
    srv.stop()
    [node] = asyncio.run(_files(srv.data_dir, work_id))
    assert node["sha256"] == sha
