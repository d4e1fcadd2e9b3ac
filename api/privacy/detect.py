"""Personal identifiers in a document's text (seed 001 §3-2: 個人情報等が含まれる機密性の高い
資料等は、情報共有システム内で取り扱ってはならない).

What is found, and how (each a ``Finding`` with the page and the value masked to its last four
characters; the full value is never kept):

- 個人番号 (マイナンバー): 12 digits (4-4-4 with spaces or hyphens allowed, full-width digits
  too) whose 12th digit is the check digit of 行政手続における特定の個人を識別するための番号の
  利用等に関する法律施行令 第8条: with P_n the n-th of the first eleven digits counted from the
  right and Q_n = n+1 (n ≤ 6), n-5 (n ≥ 7), the check digit is 11 - (Σ P_n·Q_n mod 11), or 0 when
  that remainder is 0 or 1. A random 12-digit number passes one time in eleven, so a number
  next to the words 個人番号/マイナンバー is reported as such and any other as "possible".
- クレジットカード番号: 14-16 digits in groups, a known brand prefix and a valid Luhn check
  (ISO/IEC 7812-1 Annex B).
- Identifiers that carry no check digit are found by their label within a few characters:
  基礎年金番号 (4-6 digits), 運転免許証番号 (12 digits), 旅券番号 (2 letters + 7 digits),
  被保険者番号 / 被保険者記号, 口座番号 (7 digits), 住民票コード (11 digits), 生年月日 (a date).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

LABELS: dict[str, str] = {
    "my_number": "個人番号（マイナンバー）",
    "my_number_possible": "個人番号の可能性がある12桁の番号",
    "card": "クレジットカード番号",
    "pension": "基礎年金番号",
    "license": "運転免許証番号",
    "passport": "旅券番号",
    "insurance": "健康保険の被保険者番号・記号",
    "bank_account": "口座番号",
    "resident": "住民票コード",
    "birth_date": "生年月日",
}
MAX_FINDINGS = 100
_NEAR = 12  # characters between a label and its value

_TWELVE = re.compile(r"(?<![0-9])(\d{4})[ \-]?(\d{4})[ \-]?(\d{4})(?![0-9])")
_MY_NUMBER_WORDS = re.compile(r"(個人番号|マイナンバー|my\s*number)", re.IGNORECASE)
_CARD = re.compile(r"(?<![0-9])(\d{4}[ \-]?\d{4,6}[ \-]?\d{4,5}(?:[ \-]?\d{1,4})?)(?![0-9])")
_DATE = (
    r"((?:明治|大正|昭和|平成|令和)\s*(?:\d{1,2}|元)\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|\d{4}\s*[年/\-.]\s*\d{1,2}\s*[月/\-.]\s*\d{1,2}\s*日?)"
)
_LABELLED: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "pension",
        re.compile(rf"基礎年金番号.{{0,{_NEAR}}}?(?<![0-9])(\d{{4}}[ \-]?\d{{6}})(?![0-9])"),
    ),
    (
        "license",
        re.compile(rf"(?:運転)?免許(?:証)?(?:の)?番号.{{0,{_NEAR}}}?(?<![0-9])(\d{{12}})(?![0-9])"),
    ),
    (
        "passport",
        re.compile(
            rf"(?:旅券|パスポート)(?:の)?番号.{{0,{_NEAR}}}?(?<![A-Z])([A-Z]{{2}}\d{{7}})(?![0-9])"
        ),
    ),
    (
        "insurance",
        re.compile(
            rf"被保険者(?:証)?(?:の)?(?:番号|記号).{{0,{_NEAR}}}?([0-9A-Z][0-9A-Z\-・]{{3,19}})"
        ),
    ),
    ("bank_account", re.compile(rf"口座番号.{{0,{_NEAR}}}?(?<![0-9])(\d{{7}})(?![0-9])")),
    ("resident", re.compile(rf"住民票コード.{{0,{_NEAR}}}?(?<![0-9])(\d{{11}})(?![0-9])")),
    ("birth_date", re.compile(rf"生年月日.{{0,{_NEAR}}}?{_DATE}")),
)
_CARD_PREFIX = re.compile(r"^(4|5[1-5]|2[2-7]|3[47]|35|36|38|30)")


@dataclass(frozen=True)
class Finding:
    kind: str
    label: str
    page: int | None  # 1-based page of a PDF; None for text without pages
    masked: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def my_number_check_digit(first11: str) -> int:
    """The check digit of a 個人番号 from its first eleven digits (施行令 第8条)."""
    if len(first11) != 11 or not first11.isdigit():
        raise ValueError("eleven digits expected")
    total = 0
    for n in range(1, 12):
        p = int(first11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def valid_my_number(digits: str) -> bool:
    return (
        len(digits) == 12
        and digits.isdigit()
        and my_number_check_digit(digits[:11]) == int(digits[11])
    )


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Annex B (Luhn): double every second digit from the right."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask(value: str) -> str:
    kept = re.sub(r"[\s\-・]", "", value)
    return "*" * max(0, len(kept) - 4) + kept[-4:]


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII, so ０１２３ is 0123)."""
    return unicodedata.normalize("NFKC", text)


def scan_text(text: str, page: int | None = None) -> list[Finding]:
    """The personal identifiers in one page of text."""
    text = normalise(text)
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for kind, pattern in _LABELLED:
        for m in pattern.finditer(text):
            value = m.group(1)
            found.append(Finding(kind, LABELS[kind], page, mask(value)))
            taken.append(m.span(1))
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ \-]", "", m.group(1))
        if not free(*m.span()) or not 14 <= len(digits) <= 16:
            continue
        if _CARD_PREFIX.match(digits) and luhn_valid(digits):
            found.append(Finding("card", LABELS["card"], page, mask(digits)))
            taken.append(m.span())
    for m in _TWELVE.finditer(text):
        digits = "".join(m.groups())
        if not free(*m.span()) or not valid_my_number(digits):
            continue
        before = text[max(0, m.start() - 20) : m.start()]
        kind = "my_number" if _MY_NUMBER_WORDS.search(before) else "my_number_possible"
        found.append(Finding(kind, LABELS[kind], page, mask(digits)))
        taken.append(m.span())
    return found


def scan_pages(pages: Sequence[str] | Iterable[str]) -> list[Finding]:
    """Every page (1-based numbers), at most ``MAX_FINDINGS`` findings."""
    out: list[Finding] = []
    for number, text in enumerate(pages, start=1):
        out.extend(scan_text(text, number))
        if len(out) >= MAX_FINDINGS:
            return out[:MAX_FINDINGS]
    return out
