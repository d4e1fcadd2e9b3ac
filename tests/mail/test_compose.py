"""Composing Japanese mail (issue 9 §1): UTF-8 bodies, RFC 2047 headers, no header injection."""

from __future__ import annotations

import base64
import email
from datetime import UTC, datetime
from email.policy import default

import pytest

from api.mail.compose import InvalidAddress, Mail, as_bytes, build_message, check_address

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _raw(mail: Mail) -> bytes:
    msg = build_message(
        mail,
        from_address="kura@city.example.jp",
        from_name="Kura 情報共有",
        at=AT,
        message_id="<m1@city.example.jp>",
    )
    return as_bytes(msg)


def _headers(raw: bytes) -> dict[str, str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # headers are 7-bit on the wire
    unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ")
    return {k: v for k, _, v in (line.partition(": ") for line in unfolded.split("\r\n"))}


def test_japanese_subject_and_names_are_rfc2047_encoded_and_decode_back() -> None:
    raw = _raw(
        Mail(
            "sato@city.example.jp",
            "佐藤 花子",
            "【重要】発議のお知らせ：鉄筋の材料確認",
            "本文です。\n二行目",
            "proposal.submitted",
        )
    )
    headers = _headers(raw)
    # On the wire: only ASCII, Japanese carried as encoded-words (RFC 2047 "=?utf-8?...?=").
    assert "=?utf-8?" in headers["Subject"].lower()
    assert "=?utf-8?" in headers["To"].lower()
    assert "<sato@city.example.jp>" in headers["To"]
    assert headers["Content-Type"].lower().startswith('text/plain; charset="utf-8"')
    assert headers["Content-Transfer-Encoding"] == "base64"
    assert headers["Message-ID"] == "<m1@city.example.jp>"
    assert headers["Auto-Submitted"] == "auto-generated"
    # As a mail client reads it.
    msg = email.message_from_bytes(raw, policy=default)
    assert msg["Subject"] == "【重要】発議のお知らせ：鉄筋の材料確認"
    assert msg["To"].addresses[0].display_name == "佐藤 花子"
    assert msg["From"].addresses[0].display_name == "Kura 情報共有"
    body = raw.split(b"\r\n\r\n", 1)[1]
    # Canonical text form on the wire has CRLF line ends (RFC 2046 4.1.1).
    assert base64.b64decode(body).decode("utf-8") == "本文です。\r\n二行目\r\n"


def test_line_breaks_in_names_and_subjects_cannot_add_headers() -> None:
    raw = _raw(
        Mail(
            "a@city.example.jp",
            "x\r\nBcc: evil@example.com",
            "件名\r\nBcc: evil@example.com",
            "b",
            "bulletin.posted",
        )
    )
    headers = _headers(raw)
    assert "Bcc" not in headers
    msg = email.message_from_bytes(raw, policy=default)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "件名 Bcc: evil@example.com"


@pytest.mark.parametrize(
    "address",
    [
        "a@b.example\r\nBcc: evil@example.com",
        "a@b.example\nx",
        "a@b.example, c@d.example",
        "Name <a@b.example>",
        '"quoted"@b.example',
        "a@[127.0.0.1]",
        "no-at-sign",
        "a..b@b.example",
        "a@-bad.example",
        "a@b.example\u202e",
        "",
    ],
)
def test_addresses_that_could_smuggle_headers_or_recipients_are_refused(address: str) -> None:
    with pytest.raises(InvalidAddress):
        check_address(address)


def test_important_mail_is_flagged() -> None:
    raw = _raw(
        Mail("a@city.example.jp", "A", "s", "b", "proposal.submitted", importance="important")
    )
    headers = _headers(raw)
    assert headers["Importance"] == "high"
    assert headers["X-Priority"] == "1"
