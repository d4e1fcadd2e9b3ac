"""configure_logging: one handler however often it runs; JSON or text by settings."""

from __future__ import annotations

import json
import logging

import pytest

from api.config import Settings
from api.ops.logging import RequestContext, configure_logging, enter_request, leave_request


def kura_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if type(h).__name__ == "_StderrHandler"]


def test_configure_is_idempotent_and_writes_json(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    json_settings = settings.model_copy(update={"log_json": True, "log_level": "debug"})
    configure_logging(json_settings)
    configure_logging(json_settings)
    assert len(kura_handlers()) == 1
    assert logging.getLogger().level == logging.DEBUG
    token = enter_request(RequestContext("rid-7"))
    try:
        logging.getLogger("kura.test").warning("written %d", 1)
    finally:
        leave_request(token)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "written 1"
    assert line["request_id"] == "rid-7"
    assert line["level"] == "WARNING"


def test_text_mode_names_the_request(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings)  # the test settings have log_json=False
    logging.getLogger("kura.test").warning("plain")
    err = capsys.readouterr().err
    assert "WARNING" in err
    assert "[-] plain" in err
