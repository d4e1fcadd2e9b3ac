"""Build RFC 5322 messages in Japanese: UTF-8 bodies, RFC 2047 encoded headers.

Every message Kura sends is built here, so header injection has one place to be refused:
addresses are parsed strictly (one addr-spec, no CR/LF or other control characters, no
group syntax), display names and subjects are plain text that ``email.policy.SMTP`` encodes
as RFC 2047 encoded-words, never spliced into header lines by hand. Bodies are UTF-8 in
base64 so any relay (with or without 8BITMIME) carries them unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

# RFC 5321 limits: 64 octets local part, 255 domain, 254 path.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
MAX_SUBJECT = 200
MAX_BODY = 100_000


class InvalidAddress(ValueError):
    """Not a single plain mail address (or it carries control characters)."""


def _has_controls(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def check_address(value: str) -> str:
    """``value`` if it is one plain ``local@domain`` address, else ``InvalidAddress``.

    Stricter than RFC 5322 on purpose: no quoted local parts, comments, groups or IP
    literals, since none is needed for a municipal relay and each is a smuggling route."""
    if not isinstance(value, str) or _has_controls(value) or len(value) > 254:
        raise InvalidAddress("メールアドレスの形式が正しくありません。")
    local, sep, domain = value.rpartition("@")
    if not sep or not _LOCAL.match(local) or ".." in local or local.startswith("."):
        raise InvalidAddress("メールアドレスの形式が正しくありません。")
    labels = domain.split(".")
    if len(domain) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidAddress("メールアドレスの形式が正しくありません。")
    return value


def _clean_text(value: str, limit: int) -> str:
    # Header values: line breaks and other controls become spaces, so no header is added.
    text = "".join(" " if _has_controls(ch) else ch for ch in value)
    return " ".join(text.split())[:limit]


@dataclass(frozen=True)
class Mail:
    """What to send: one recipient, subject and plain-text body, with bookkeeping headers."""

    to_address: str
    to_name: str
    subject: str
    body: str
    kind: str
    importance: str = "normal"  # normal | important (X-Priority / Importance headers)


def build_message(
    mail: Mail,
    *,
    from_address: str,
    from_name: str,
    at: datetime,
    message_id: str | None = None,
    domain: str | None = None,
) -> EmailMessage:
    """The message for ``mail`` (``InvalidAddress`` for a bad recipient or sender)."""
    check_address(mail.to_address)
    check_address(from_address)
    msg = EmailMessage(policy=SMTP)
    to_local, _, to_domain = mail.to_address.rpartition("@")
    from_local, _, from_domain = from_address.rpartition("@")
    msg["From"] = Address(_clean_text(from_name, 100), from_local, from_domain)
    msg["To"] = Address(_clean_text(mail.to_name, 100), to_local, to_domain)
    msg["Subject"] = _clean_text(mail.subject, MAX_SUBJECT)
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = message_id or make_msgid(domain=domain or from_domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Kura-Kind"] = _clean_text(mail.kind, 64)
    if mail.importance == "important":
        msg["Importance"] = "high"
        msg["X-Priority"] = "1"
    body = mail.body.replace("\r\n", "\n")[:MAX_BODY]
    msg.set_content(body, charset="utf-8", cte="base64")
    return msg


def as_bytes(msg: EmailMessage) -> bytes:
    """The wire form (CRLF line ends, headers folded and encoded by the SMTP policy)."""
    return msg.as_bytes(policy=SMTP)
