"""True type from content (python-magic) and the extension mismatch shown to users."""

from __future__ import annotations

import os

import pytest

from indexer.extract.mime import classify, detect
from tests.extract.samples import EXE, jpeg, pdf, png


def test_pdf_that_is_really_an_exe_is_a_mismatch() -> None:
    got = detect(EXE, "設計図.pdf")
    assert got.mime == "application/x-dosexec"
    assert got.mismatch
    assert got.file_type == "other"
    assert "拡張子「.pdf」" in got.message
    assert "実行ファイル" in got.message


@pytest.mark.parametrize(
    ("name", "data", "file_type"),
    [
        ("a.pdf", pdf(["x"]), "pdf"),
        ("P0000001.JPG", jpeg(), "jpeg"),
        ("i.png", png(), "png"),
        (
            "INDEX_C.XML",
            '<?xml version="1.0" encoding="Shift_JIS"?><a>道路</a>'.encode("cp932"),
            "xml",
        ),
        ("D0001.P21", b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('SCADEC'),'2;1');\n", "p21"),
        ("D0001.SFC", b"ISO-10303-21;\nHEADER;\n", "sfc"),
        ("readme.txt", "お知らせ".encode("cp932"), "text"),
    ],
)
def test_types_agree_with_their_extension(name: str, data: bytes, file_type: str) -> None:
    got = detect(data, name)
    assert got.file_type == file_type
    assert not got.mismatch, got


def test_zero_bytes_and_unknown_extensions_are_not_mismatches() -> None:
    empty = detect(b"", "empty.pdf")
    assert empty.family == "empty"
    assert not empty.mismatch
    assert not detect(os.urandom(512), "drawing.jww").mismatch  # extension not in the table


def test_binary_garbage_labelled_txt_is_a_mismatch() -> None:
    got = detect(bytes(range(256)) * 8, "memo.txt")
    assert got.mismatch
    assert got.family in ("binary", "other")


def test_classify_reuses_a_sniffed_type_under_another_name() -> None:
    assert classify("application/pdf", "x.jpg").mismatch
    assert not classify("application/pdf", "x.PDF").mismatch
    assert (
        classify(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a.docx"
        ).file_type
        == "office"
    )
