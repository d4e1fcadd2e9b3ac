"""The mail port: how a composed message leaves Kura. Chosen by ``KURA_MAIL__TRANSPORT``.

- ``outbox`` (embedded default): nothing leaves the machine; every message stays in the outbox
  (``mails`` records with the raw RFC 5322 text) where operators read it in the web interface
  or with ``kura mail outbox``. Its messages end in state ``stored``.
- ``smtp``: the municipality's relay through ``smtplib``: STARTTLS (port 587) or implicit TLS
  (465), TLS 1.2 or newer with the system's CA store or a configured bundle, certificate and
  host name checked, optional AUTH. One connection carries a batch of messages.

Transports are synchronous (``smtplib``); the outbox service runs them in a worker thread.
A refusal with a 5xx reply is permanent (the message is dead-lettered at once); anything
else (connection refused, timeouts, 4xx) is transient and retried with backoff.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from api.config import MailSettings


class DeliveryError(Exception):
    """A message was not accepted. ``permanent``: retrying cannot help (5xx)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailSession(Protocol):
    def send(self, sender: str, recipient: str, raw: bytes) -> str:
        """Hand one message over; returns the final state (``sent`` or ``stored``).
        Raises ``DeliveryError``."""


class MailTransport(Protocol):
    name: str

    def session(self) -> AbstractContextManager[MailSession]:
        """A context manager around one connection (``with transport.session() as s``)."""


class _OutboxSession:
    def send(self, sender: str, recipient: str, raw: bytes) -> str:
        return "stored"


class OutboxTransport:
    """Keep messages in the outbox only (the embedded default)."""

    name = "outbox"

    @contextmanager
    def session(self) -> Iterator[MailSession]:
        yield _OutboxSession()


def tls_context(settings: MailSettings) -> ssl.SSLContext:
    """Certificate and host name verified; TLS 1.2 is the floor (seed 001 別表3 2(3))."""
    context = ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _SmtpSession:
    def __init__(self, client: smtplib.SMTP) -> None:
        self.client = client

    def send(self, sender: str, recipient: str, raw: bytes) -> str:
        try:
            refused = self.client.sendmail(sender, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0] if exc.recipients else 550
            raise DeliveryError(f"recipient refused ({code})", permanent=code >= 500) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"relay answered {exc.smtp_code}", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"relay connection failed: {exc}", permanent=False) from exc
        if refused:
            raise DeliveryError(f"recipient refused: {refused}", permanent=True)
        return "sent"


class SmtpTransport:
    """Deliver through an SMTP relay."""

    name = "smtp"

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        host, port, timeout = s.smtp_host, s.smtp_port, s.smtp_timeout_s
        client: smtplib.SMTP
        if s.smtp_security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(s))
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        try:
            client.ehlo()
            if s.smtp_security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError("relay does not offer STARTTLS", permanent=False)
                client.starttls(context=tls_context(s))
                client.ehlo()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                client.login(s.smtp_username, password)
        except BaseException:
            client.close()
            raise
        return client

    @contextmanager
    def session(self) -> Iterator[MailSession]:
        try:
            client = self._connect()
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"relay refused the login ({exc.smtp_code})", permanent=False
            ) from exc
        except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"relay unreachable: {exc}", permanent=False) from exc
        try:
            yield _SmtpSession(client)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def build_transport(settings: MailSettings) -> MailTransport:
    if settings.transport == "smtp":
        return SmtpTransport(settings)
    return OutboxTransport()
