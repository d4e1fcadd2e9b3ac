"""PDF text per page (pypdf): Japanese CID fonts round-trip; broken, encrypted and huge PDFs
are flagged or capped, never fatal."""

from __future__ import annotations

import io

import pytest

from indexer.extract import extract
from indexer.extract.pdf import PdfLimits, extract_pdf
from tests.extract.samples import BROKEN_PDF, EXE, GOTHIC, MINCHO, pdf


@pytest.mark.parametrize("font", [MINCHO, GOTHIC])
def test_japanese_text_round_trips_per_page(font: str) -> None:
    pages = ["道路改良工事 完成図書 ①㈱", "第２頁 打合せ簿 ｶﾀｶﾅ", "令和6年4月1日"]
    got = extract_pdf(io.BytesIO(pdf(pages, font=font)))
    assert got.page_count == 3
    assert got.pages == pages
    assert not got.broken
    assert not got.encrypted


def test_encrypted_pdf_is_flagged_without_text() -> None:
    detected, got = extract(io.BytesIO(pdf(["秘密の設計書"], user_password="pw")), "secret.pdf")
    assert detected.file_type == "pdf"
    assert got.encrypted
    assert not got.broken
    assert got.pages == []
    assert got.notes == ["暗号化されたPDFのため、本文を抽出できません。"]


def test_owner_password_only_pdf_is_flagged_and_read() -> None:
    got = extract_pdf(io.BytesIO(pdf(["閲覧可能な文書"], user_password="")))
    assert got.encrypted
    assert got.pages == ["閲覧可能な文書"]


@pytest.mark.parametrize(
    "data", [BROKEN_PDF, b"%PDF-1.4\n", pdf(["途中で切れた"])[:400], b"%PDF-" + bytes(1000)]
)
def test_broken_pdfs_are_flagged(data: bytes) -> None:
    got = extract_pdf(io.BytesIO(data))
    assert got.broken
    assert got.pages == []
    assert got.notes


def test_exe_named_pdf_is_not_parsed_as_pdf() -> None:
    detected, got = extract(io.BytesIO(EXE), "drawing.pdf")
    assert detected.mismatch
    assert got.extractor == ""
    assert got.pages == []


def test_huge_page_count_is_capped_per_page_and_in_total() -> None:
    data = pdf([f"第{i}頁 " + "工" * 200 for i in range(1, 1201)])
    got = extract_pdf(io.BytesIO(data), PdfLimits(max_pages=100, page_chars=50, total_chars=4000))
    assert got.page_count == 1200
    assert len(got.pages) == 80  # 4000 characters at 50 per page
    assert all(len(p) <= 50 for p in got.pages)
    assert got.pages[0].startswith("第1頁 工")
    assert "1200ページ中80ページ" in got.notes[0]


def test_page_time_budget() -> None:
    got = extract_pdf(io.BytesIO(pdf(["一", "二", "三"])), PdfLimits(page_seconds=0.0))
    assert got.page_count == 3
    assert "時間切れ" in got.notes[-1]
