"""Property-based fuzzing of every API operation (issue 7 item 8), with schemathesis.

Every operation of the OpenAPI document gets generated requests, valid and invalid
(schemathesis' positive and negative modes), sent to a real seeded ``kura serve``
(``tests/fuzz/stack.py``) once as the operator and once as an ordinary user. A request fails
the test when the server answers 5xx, answers a status code or content type the document
does not list for the operation, or a body or header that breaks the documented schema.

Bounded in time: ``KURA_FUZZ_EXAMPLES`` examples per operation (default 12: about two minutes
on 2 cores), derandomized so a run is reproducible; no example database is written. A failure
prints the request (schemathesis' reproduction command) and the server's log lines about it.
"""

from __future__ import annotations

import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.config import Settings
from tests.fuzz.stack import FuzzStack

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("KURA_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
TUS_HEADERS = {"Tus-Resumable": "1.0.0"}


# ``i/n``: only the paths whose CRC-32 is ``i`` modulo ``n`` (scripts/test runs the shards of
# the fuzz run side by side, one per core: each has its own seeded server).
SHARD = os.environ.get("KURA_FUZZ_SHARD", "0/1")


def _document() -> dict[str, Any]:
    """The app's OpenAPI document (building the app opens nothing), with this shard's paths."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "unused", log_json=False)
        document = create_app(settings).openapi()
    index, count = (int(x) for x in SHARD.split("/"))
    paths = document["paths"]
    document["paths"] = {p: v for p, v in paths.items() if zlib.crc32(p.encode()) % count == index}
    return document


schema = schemathesis.openapi.from_dict(_document())


def _server_lines(stack: FuzzStack, request_id: str | None) -> str:
    if not request_id:
        return ""
    lines = [line for line in stack.server.output().splitlines() if request_id in line]
    return "\n".join(lines[-20:])


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_operation(case: Any, fuzz_stack: FuzzStack) -> None:
    values = fuzz_stack.ids(case.method, case.path)
    if case.path_parameters is not None:
        for name in list(case.path_parameters):
            if name in values:
                case.path_parameters[name] = values[name]
    extra = TUS_HEADERS if "/uploads" in case.path else {}
    for caller in fuzz_stack.callers:
        headers = {**caller.headers, **extra}
        response = _call(case, fuzz_stack, caller.name, headers)
        current = _current_version(response)
        if current is not None and _set_version(case, current):
            # A generated version is stale nearly always: go on with the current one, so the
            # change itself (and what it stores) is fuzzed too.
            _call(case, fuzz_stack, caller.name, headers)


def _call(case: Any, stack: FuzzStack, caller: str, headers: dict[str, str]) -> Any:
    response = case.call(base_url=stack.url, headers=headers)
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as exc:
        log = _server_lines(stack, response.headers.get("x-request-id", [None])[0])
        exc.add_note(f"caller: {caller}\nserver log:\n{log}")
        raise
    return response


def _current_version(response: Any) -> int | None:
    if response.status_code != 409:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    current = body.get("current_version") if isinstance(body, dict) else None
    return current if isinstance(current, int) and body.get("code") == "stale_version" else None


def _set_version(case: Any, version: int) -> bool:
    """Put ``version`` where the request carried one (body or query); False if nowhere."""
    if isinstance(case.body, dict) and "version" in case.body:
        case.body["version"] = version
        return True
    if isinstance(case.query, dict) and "version" in case.query:
        case.query["version"] = version
        return True
    return False
