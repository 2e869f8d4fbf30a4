"""Reliability tests 10 (Bulk job with failures) and 11 (UNABLE_TO_LOCK_ROW).

The bar's 50,000-row job is scaled down to 2,000 rows (same code path: one Bulk 2.0 job of
up to 10,000 rows, results joined back on the external id).
"""

from __future__ import annotations

import pytest
from crm_sync_helpers import by_key, make_target, marts, requests_to, rewrite_leads, table

from lead_scoring.crm_sync import preflight, run_sync

UPLOAD = "PUT /services/data/v{version}/jobs/ingest/{job_id}/batches"


def synced_leads(settings, crm, n: int, **options):
    leads = marts(settings, n=n)
    target = make_target(crm, "salesforce", sync_accounts=False, bulk_threshold=100, **options)
    preflight(target, settings)
    first = run_sync(settings, target, "run-1")
    assert (first.status, first.inserted) == ("success", n)
    crm.state.stats.reset()
    leads["lead_score"] += 1  # every row changed: the next run is a Bulk job again
    rewrite_leads(settings, leads)
    return leads, target


def test_bulk_job_failures_are_joined_on_the_external_id_and_retried_alone(settings, crm):
    leads, target = synced_leads(settings, crm, 2000)
    bad = ["17", "1999"]
    crm.faults.set(reject_ids=bad)

    second = run_sync(settings, target, "run-2")

    assert second.status == "partial"
    assert (second.updated, second.rejected, second.pending) == (1998, 2, 0)
    assert requests_to(crm, UPLOAD) == 1  # one upload of the 2,000 rows, no re-upload
    rejected = table(settings, "select record_id, run_id, error from sync.rejections"
                               " order by record_id")  # fmt: skip
    assert rejected["record_id"].tolist() == sorted(bad)
    assert set(rejected["run_id"]) == {"run-2"}
    assert rejected["error"].str.startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION").all()
    stored = by_key(crm, "salesforce")
    assert float(stored["18"]["Lead_Score__c"]) == pytest.approx(leads.loc[17, "lead_score"])
    assert float(stored["17"]["Lead_Score__c"]) == pytest.approx(leads.loc[16, "lead_score"] - 1)

    crm.faults.clear()
    crm.state.stats.reset()
    third = run_sync(settings, target, "run-3")

    assert (third.sent, third.updated, third.status) == (2, 2, "success")
    assert requests_to(crm, UPLOAD) == 0  # two rows go through sObject Collections
    assert requests_to(crm, "composite/sobjects") == 1


def test_unable_to_lock_row_is_retried_serially_without_duplicates(settings, crm):
    leads, target = synced_leads(settings, crm, 400)
    locked = ["3", "150", "222"]
    crm.faults.set(unable_to_lock_row_ids=locked)

    second = run_sync(settings, target, "run-2")

    assert (second.status, second.updated, second.rejected) == ("success", 400, 0)
    assert requests_to(crm, UPLOAD) == 1
    assert requests_to(crm, "composite/sobjects") == 1  # the serial retry of the 3 rows
    stored = by_key(crm, "salesforce")  # asserts no duplicate
    assert len(stored) == 400
    for lead_id in locked:
        row = leads[leads["lead_id"] == lead_id].iloc[0]
        assert float(stored[lead_id]["Lead_Score__c"]) == pytest.approx(row["lead_score"])
    log = table(settings, "select count(*) from sync.row_log where run_id = 'run-2'"
                          " and status = 'confirmed'")  # fmt: skip
    assert log.iat[0, 0] == 400


def test_unprocessed_bulk_rows_are_retried_in_the_same_run(settings, crm):
    leads, target = synced_leads(settings, crm, 600)
    crm.faults.set(bulk_fail_after_records=200)

    second = run_sync(settings, target, "run-2")

    assert (second.status, second.updated, second.pending) == ("success", 600, 0)
    assert requests_to(crm, UPLOAD) == 1
    stored = by_key(crm, "salesforce")
    assert float(stored["600"]["Lead_Score__c"]) == pytest.approx(leads.loc[599, "lead_score"])
