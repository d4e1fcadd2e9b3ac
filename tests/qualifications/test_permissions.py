"""Permission matrix of every qualification endpoint, on the app as ``create_app`` builds it
with real sign-ins (``tests.support.perms``): anonymous 401; another organization 404 (a filing
of another company, or one not sent to that municipality, is not revealed); a user of the
organization without the right 403; the one who may: allowed. Refused calls store nothing.

Who may (``api.qualifications.permissions``): the operator defines rounds and imports 経審
data; an applicant company's holders of ``qualifications.apply`` file for their company; each
target municipality's holders of ``qualifications.receive`` read and keep a desk on what was
sent to it (第1 10); the host prefecture reads every filing (第1 8)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.config import Settings
from api.qualifications.router import router
from api.qualifications.router_admin import router as admin_router
from api.qualifications.router_desk import router as desk_router
from tests.qualifications.harness import CODES, review_csv, round_body
from tests.qualifications.harness import qual_world as make_world
from tests.support.perms import Row, check_matrix, uncovered

pytestmark = pytest.mark.anyio


def rows(orgs: dict[str, str]) -> list[Row]:
    return [
        Row("GET", "/qualifications/catalog", allowed="kasuga", denied=None, other=None),
        Row("GET", "/qualifications/rounds", allowed="kasuga", denied=None, other=None),
        Row("GET", "/qualifications/rounds/{round}", allowed="kure", denied=None, other=None),
        # An unpublished round is the operator's alone (404 for everyone else).
        Row(
            "GET",
            "/qualifications/rounds/{hidden_round}",
            allowed="operator",
            denied=None,
            other="kasuga",
        ),
        Row(
            "POST",
            "/qualifications/rounds",
            allowed="operator",
            ok=201,
            denied="pref",
            other="seto",
            other_status=403,
            json=round_body(orgs) if orgs else None,
        ),
        Row(
            "PATCH",
            "/qualifications/rounds/{round}",
            allowed="operator",
            denied="pref",
            other="seto",
            other_status=403,
            json=lambda ids: {"version": int(ids["round_version"]), "name": "当初申請"},
        ),
        Row(
            "GET",
            "/qualifications/review-sets",
            allowed="operator",
            denied="pref",
            other="seto",
            other_status=403,
        ),
        Row(
            "POST",
            "/qualifications/review-sets",
            allowed="operator",
            ok=201,
            denied="pref",
            other="seto",
            other_status=403,
            json=lambda ids: {
                "attachment_id": ids["review_file"],
                "source": "国土交通省",
                "as_of": "2018-10-31",
            },
        ),
        Row(
            "GET",
            "/qualifications/rounds/{round}/draft",
            allowed="kasuga",
            denied="kasuga_plain",
            other="seto",
        ),
        Row(
            "POST",
            "/qualifications/rounds/{round}/draft",
            allowed="kasuga",
            denied="kasuga_plain",
            other="pref",
            other_status=403,
            json={"start": "last"},
        ),
        Row(
            "GET",
            "/qualifications/drafts/{draft}",
            allowed="kasuga",
            denied="kasuga_plain",
            other="seto",
        ),
        Row(
            "PATCH",
            "/qualifications/drafts/{draft}",
            allowed="kasuga",
            denied="kasuga_plain",
            other="seto",
            json=lambda ids: {"version": int(ids["draft_version"]), "values": {}},
        ),
        Row(
            "POST",
            "/qualifications/drafts/{draft}/send",
            allowed="kasuga",
            denied="kasuga_plain",
            other="seto",
            json=lambda ids: {"version": int(ids["sent_version"])},
        ),
        Row(
            "GET",
            "/qualifications/applications/{app}",
            allowed="kasuga",
            denied="kasuga_plain",
            other="seto",
        ),
        Row(
            "GET",
            "/qualifications/applications/{app}",
            allowed="kure",
            denied="pref_plain",
            other="sera",
        ),
        Row(
            "GET",
            "/qualifications/applications/{app}/receipt.pdf",
            allowed="kasuga",
            denied="kasuga_plain",
            other="ono",
        ),
        Row(
            "GET",
            "/qualifications/rounds/{round}/received",
            allowed="kure",
            denied="pref_plain",
            other="ono",
            other_status=403,
        ),
        Row(
            "GET",
            "/qualifications/rounds/{round}/received/export.csv",
            allowed="fuku",
            denied="kasuga",
            other="ono",
            other_status=403,
        ),
        Row(
            "GET",
            "/qualifications/rounds/{round}/received/export.xlsx",
            allowed="pref",
            denied="pref_plain",
            other="ono",
            other_status=403,
        ),
        Row(
            "PATCH",
            "/qualifications/applications/{app}/desk",
            allowed="kure",
            denied="kasuga",
            other="sera",
            json={"own_received": True},
        ),
        Row(
            "POST",
            "/qualifications/applications/{app}/notes",
            allowed="kure",
            ok=201,
            denied="pref_plain",
            other="sera",
            json={"text": "受領"},
        ),
    ]


def amend_rows() -> list[Row]:
    return [
        Row(
            "POST",
            "/qualifications/applications/{app}/correction",
            allowed="kasuga",
            denied="kasuga_plain",
            other="seto",
            json=lambda ids: {
                "version": int(ids["app_version"]),
                "values": {"company": {**_company(ids), "phone": "084-921-9999"}},
            },
        ),
    ]


def addition_rows() -> list[Row]:
    return [
        Row(
            "POST",
            "/qualifications/applications/{app}/additions",
            allowed="kasuga",
            denied="kure",
            other="seto",
            json=lambda ids: {"version": int(ids["app_version"]), "targets": [CODES["sera"]]},
        ),
    ]


_COMPANY: dict[str, Any] = {}


def _company(ids: Any) -> dict[str, Any]:
    return copy.deepcopy(_COMPANY)


def test_every_endpoint_has_a_row() -> None:
    assert (
        uncovered((router, admin_router, desk_router), [*rows({}), *amend_rows(), *addition_rows()])
        == []
    )


async def test_qualification_matrix(settings: Settings, tmp_path: Path) -> None:
    async with make_world(settings, tmp_path) as q:
        filed = await q.filed()
        hidden = await q.call(
            "operator",
            "POST",
            "/qualifications/rounds",
            201,
            json=round_body(q.ids, published=False, code="X1"),
        )
        round_ = await q.call("operator", "GET", f"/qualifications/rounds/{q.round_id}")
        draft = await q.call("kasuga", "GET", f"/qualifications/rounds/{q.round_id}/draft")
        review_file = await q.upload("operator", "keishin.csv", review_csv(), "text/csv")
        _COMPANY.update(filed["values"]["company"])
        ids = {
            **q.world.base_ids(),
            "round": q.round_id,
            "round_version": str(round_["version"]),
            "hidden_round": hidden["id"],
            "draft": draft["id"],
            "draft_version": str(draft["version"]),
            "sent_version": str(draft["version"] - 1),
            "app": filed["id"],
            "review_file": review_file,
        }
        await check_matrix(q.world, rows(q.ids), ids)
        q.at(datetime(2018, 11, 26, 1, 0, tzinfo=UTC))  # the correction period
        app = await q.call("kasuga", "GET", f"/qualifications/applications/{filed['id']}")
        await check_matrix(q.world, amend_rows(), {**ids, "app_version": str(app["version"])})
        q.at(datetime(2018, 12, 10, 1, 0, tzinfo=UTC))  # the additional period
        app = await q.call("kasuga", "GET", f"/qualifications/applications/{filed['id']}")
        await check_matrix(q.world, addition_rows(), {**ids, "app_version": str(app["version"])})
