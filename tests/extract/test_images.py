"""Images: dimensions, EXIF DateTimeOriginal, thumbnails; truncated files are flagged."""

from __future__ import annotations

import io

from PIL import Image

from indexer.extract import extract
from indexer.extract.images import exif_datetime, extract_image
from tests.extract.samples import jpeg, png


def test_jpeg_with_exif_date_and_thumbnail() -> None:
    got = extract_image(io.BytesIO(jpeg((4000, 3000), taken="2024:04:01 10:20:30")))
    assert (got.width, got.height) == (4000, 3000)
    assert got.photo_date == "2024-04-01"
    assert got.taken_at == "2024-04-01T10:20:30"
    assert got.thumbnail is not None
    thumb = Image.open(io.BytesIO(got.thumbnail))
    assert thumb.format == "JPEG"
    assert max(thumb.size) == 320


def test_jpeg_without_exif() -> None:
    detected, got = extract(io.BytesIO(jpeg()), "P0000001.JPG")
    assert detected.file_type == "jpeg"
    assert (got.width, got.height) == (640, 480)
    assert got.photo_date is None
    assert got.thumbnail
    assert not got.broken


def test_truncated_jpeg_keeps_its_header_facts_and_is_flagged() -> None:
    data = jpeg((800, 600), taken="2023:12:24 08:00:00")
    got = extract_image(io.BytesIO(data[: len(data) // 3]))
    assert got.broken
    assert (got.width, got.height) == (800, 600)
    assert got.photo_date == "2023-12-24"
    assert got.thumbnail is None
    assert "途中で切れている" in got.notes[0]


def test_garbage_after_a_jpeg_signature_is_flagged() -> None:
    got = extract_image(io.BytesIO(b"\xff\xd8\xff\xe0" + bytes(100)))
    assert got.broken
    assert got.width is None


def test_png_with_alpha_gets_a_jpeg_thumbnail() -> None:
    _, got = extract(io.BytesIO(png()), "icon.png")
    assert got.thumbnail
    assert (got.width, got.height) == (100, 50)


def test_exif_datetime_values() -> None:
    assert exif_datetime("2024:04:01 10:20:30") == "2024-04-01T10:20:30"
    assert exif_datetime(b"2024:04:01 10:20:30\x00") == "2024-04-01T10:20:30"
    assert exif_datetime("0000:00:00 00:00:00") is None
    assert exif_datetime("    :  :     :  :  ") is None
    assert exif_datetime(None) is None
