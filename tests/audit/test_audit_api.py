"""Audit API: who may list and export, filters, paging, streamed CSV / JSON lines, no delete."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.works.harness import AUDITOR, CLERK, MANAGER, NOBODY, OPERATOR, ORDERER, Harness

pytestmark = pytest.mark.anyio
URL = "/api/v1/audit/events"


async def make_events(h: Harness) -> list[dict[str, Any]]:
    a = await h.create(CLERK, title="工事A")
    b = await h.create(MANAGER, title="工事B")
    await h.call(CLERK, "PATCH", f"/api/v1/works/{a['id']}", json={"version": 1, "title": "工事A2"})
    return [a, b]


@pytest.mark.parametrize(
    ("subject", "status"),
    [(None, 401), (NOBODY, 403), (CLERK, 403), (AUDITOR, 200), (OPERATOR, 200)],
)
async def test_list_and_export_permissions(h: Harness, subject: Any, status: int) -> None:
    await make_events(h)
    assert (await h.call(subject, "GET", URL)).status_code == status
    exp = await h.call(subject, "GET", f"{URL}/export", params={"format": "csv"})
    assert exp.status_code == status
    assert len(await h.events("audit.exported")) == (1 if status == 200 else 0)


async def test_no_delete_or_edit(h: Harness) -> None:
    await make_events(h)
    for method in ("DELETE", "PUT", "PATCH", "POST"):
        resp = await h.call(OPERATOR, method, URL)
        assert resp.status_code == 405
    assert (await h.call(OPERATOR, "DELETE", f"{URL}/0000000000000001")).status_code in (404, 405)


async def test_filters_and_paging(h: Harness) -> None:
    a, b = await make_events(h)
    body = (await h.call(OPERATOR, "GET", URL)).json()
    assert [e["action"] for e in body["items"]] == [
        "works.updated",
        "works.created",
        "works.created",
    ]
    assert [e["seq"] for e in body["items"]] == [3, 2, 1]
    only = (await h.call(OPERATOR, "GET", URL, params={"action": "works.created"})).json()
    assert {e["target"] for e in only["items"]} == {f"works/{a['id']}", f"works/{b['id']}"}
    mine = (await h.call(OPERATOR, "GET", URL, params={"actor": MANAGER.user_id})).json()
    assert [e["target"] for e in mine["items"]] == [f"works/{b['id']}"]
    tgt = (await h.call(OPERATOR, "GET", URL, params={"target": f"works/{a['id']}"})).json()
    assert [e["action"] for e in tgt["items"]] == ["works.updated", "works.created"]
    first = body["items"][-1]["at"]
    last = body["items"][0]["at"]
    since = (await h.call(OPERATOR, "GET", URL, params={"since": last})).json()
    assert [e["seq"] for e in since["items"]] == [3]
    until = (await h.call(OPERATOR, "GET", URL, params={"until": last})).json()
    assert 3 not in [e["seq"] for e in until["items"]]
    assert first <= last
    page1 = (await h.call(OPERATOR, "GET", URL, params={"limit": 2})).json()
    assert [e["seq"] for e in page1["items"]] == [3, 2]
    page2 = (
        await h.call(OPERATOR, "GET", URL, params={"limit": 2, "cursor": page1["next_cursor"]})
    ).json()
    assert [e["seq"] for e in page2["items"]] == [1]
    assert page2["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [{"action": "a\x00b"}, {"limit": 0}, {"since": "yesterday"}, {"nope": "1"}],
)
async def test_bad_params(h: Harness, params: dict[str, Any]) -> None:
    assert (await h.call(OPERATOR, "GET", URL, params=params)).status_code == 422


async def test_export_csv_and_jsonl(h: Harness) -> None:
    await make_events(h)
    resp = await h.call(OPERATOR, "GET", f"{URL}/export", params={"format": "csv"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    # the export's own event is appended before the stream starts
    assert [r["action"] for r in rows] == [
        "works.created",
        "works.created",
        "works.updated",
        "audit.exported",
    ]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    resp = await h.call(
        AUDITOR, "GET", f"{URL}/export", params={"format": "jsonl", "action": "works.updated"}
    )
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in resp.text.splitlines()]
    assert [e["action"] for e in lines] == ["works.updated"]
    assert lines[0]["detail"] == {"fields": ["title"]}
    # each export is itself on the record
    [first, second] = await h.events("audit.exported")
    # the auditor's export is scoped to their organization, and says so
    assert second["detail"] == {"format": "jsonl", "action": "works.updated", "org_id": ORDERER}
    assert first["actor_id"] == OPERATOR.user_id
