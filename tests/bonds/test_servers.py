"""The bond flows on MongoDB (records through PyMongo async against the MongoDB-wire test
server) when the real test servers are up (``scripts/test-services``); the embedded runs are
the other modules. Bonds write no search documents, so only the records port changes: the
indexes of ``bonds``, ``bond_revisions``, ``bond_keys``, ``bond_attempts`` and the balance
records, paging by cursor, the per-user and per-bond attempt counters, the sealed-view
filters and the unit of work that keeps the key, revision, audit and balance together.

The tests are those of the embedded modules, imported here so this module's ``h`` (MongoDB)
is the one they receive.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from api.config import RecordsSettings, Settings
from tests.bonds.harness import Harness, harness
from tests.bonds.pki import Pki, write_crls
from tests.bonds.test_bad_input import (
    test_bad_input_answers_a_clear_problem_and_changes_nothing,
)
from tests.bonds.test_keys import (
    test_a_rebid_makes_the_old_key_fail_at_once,
    test_every_attempt_is_audited_without_contents,
    test_failures_are_rate_limited_per_user_and_per_bond,
    test_forged_altered_and_truncated_keys_fail,
    test_the_published_status_list_shows_superseded_keys,
)
from tests.bonds.test_lifecycle import (
    test_losing_bidders_bonds_are_deleted,
    test_paper_bonds_count_in_balances_without_keys,
    test_reservation_carries_into_the_performance_bond_and_is_deleted,
    test_the_balance_table_follows_every_change,
)
from tests.bonds.test_sealing import (
    test_every_endpoint_on_both_sides_of_the_opening_time,
    test_the_list_pages_by_cursor_in_opening_order_with_filters,
    test_the_orderers_list_is_ordered_and_counted_by_existence_fields_only,
)
from tests.bonds.test_security import (
    test_balances_by_scope_with_exports,
    test_cash_is_recorded_with_its_receipt_pdf,
    test_check_counts_the_orderers_records_and_opened_bonds_only,
)
from tests.conftest import server_env

pytestmark = [pytest.mark.anyio, pytest.mark.servers]

__all__ = [
    "test_a_rebid_makes_the_old_key_fail_at_once",
    "test_bad_input_answers_a_clear_problem_and_changes_nothing",
    "test_balances_by_scope_with_exports",
    "test_cash_is_recorded_with_its_receipt_pdf",
    "test_check_counts_the_orderers_records_and_opened_bonds_only",
    "test_every_attempt_is_audited_without_contents",
    "test_every_endpoint_on_both_sides_of_the_opening_time",
    "test_failures_are_rate_limited_per_user_and_per_bond",
    "test_forged_altered_and_truncated_keys_fail",
    "test_losing_bidders_bonds_are_deleted",
    "test_paper_bonds_count_in_balances_without_keys",
    "test_reservation_carries_into_the_performance_bond_and_is_deleted",
    "test_the_balance_table_follows_every_change",
    "test_the_list_pages_by_cursor_in_opening_order_with_filters",
    "test_the_orderers_list_is_ordered_and_counted_by_existence_fields_only",
    "test_the_published_status_list_shows_superseded_keys",
]


@pytest.fixture
async def h(settings: Settings, pki: Pki) -> AsyncIterator[Harness]:
    records = RecordsSettings(
        backend="mongodb",
        mongo_uri=server_env("KURA_TEST_MONGO_URI"),
        mongo_db=f"kura_bonds_{uuid.uuid4().hex[:12]}",
    )
    write_crls(pki, [pki.revoked.cert])
    async with harness(settings.model_copy(update={"records": records}), pki) as the:
        assert type(the.container.records).__name__ == "MongoRecordStore"
        try:
            yield the
        finally:
            await the.container.records.drop_database()  # type: ignore[attr-defined]
