"""The sync tables work on the PostgreSQL warehouse too (local server, a database of its own)."""

from __future__ import annotations

from crm_sync_helpers import by_key, make_target, marts, table

from lead_scoring.crm_sync import preflight, run_sync


def test_sync_state_on_postgres(pg_settings, crm):
    leads = marts(pg_settings, n=30, quadrant={5: "unknown"})
    target = make_target(crm, "hubspot")
    preflight(target, pg_settings)

    first = run_sync(pg_settings, target, "run-1")
    second = run_sync(pg_settings, target, "run-2")

    accounts = leads["account_id"].nunique()
    assert (first.status, first.inserted, first.rejected) == ("partial", 29 + accounts, 1)
    assert (second.sent, second.rejected) == (1, 1)  # only the rejected row, retried
    assert len(by_key(crm, "hubspot")) == 29
    state = table(pg_settings, "select count(*) from sync.crm_state")
    assert state.iat[0, 0] == 29 + accounts
    attempts = table(pg_settings, "select record_id, attempts from sync.rejections")
    assert attempts.values.tolist() == [["6", 2]]
