"""Outgoing mail: composing (``compose``), the transport port (``transport``: embedded outbox or
SMTP) and the durable outbox (``outbox``) that ``mail.flush`` delivers from."""
