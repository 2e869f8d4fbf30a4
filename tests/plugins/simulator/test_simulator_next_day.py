"""`simulate_next_day` appends one day: only newer rows, older data untouched."""

import json

import pandas as pd
import pytest
from conftest import END, crm_records, marketing_events, product_table, truth

from lead_scoring.simulator import SimulatorError, simulate_next_day

NEXT = pd.Timestamp(END) + pd.Timedelta(days=1)


def test_next_day_appends_only_newer_rows(small):
    settings, first = small
    contacts = crm_records(settings, "contacts").set_index("hs_object_id")
    deals = crm_records(settings, "deals").set_index("hs_object_id")
    users = product_table(settings, "app_users").set_index("user_id")
    events = product_table(settings, "app_events")
    exports = {p.name: p.read_bytes() for p in settings.marketing_exports_dir.iterdir()}
    marketing = marketing_events(settings)

    summary = simulate_next_day(settings)

    assert summary.next_day and summary.start == first.end
    manifest = json.loads((settings.sources_dir / "simulation.json").read_text())
    assert pd.Timestamp(manifest["as_of"], unit="s") == NEXT
    assert manifest["days_added"] == [END.isoformat()]

    events_after = product_table(settings, "app_events")
    added = events_after[~events_after["event_id"].isin(events["event_id"])]
    assert len(added) == summary.product_events > 0
    assert added["event_id"].min() > events["event_id"].max()
    pd.testing.assert_frame_equal(events_after.iloc[: len(events)], events)
    total = len(events) + len(marketing)
    assert 0.004 * total < summary.product_events + summary.marketing_events < 0.03 * total
    recent = pd.to_datetime(added["occurred_at"])
    known = added["event_type"].isin(events["event_type"].unique())
    assert recent[known].between(pd.Timestamp(END), NEXT).mean() > 0.99

    new_files = {p.name for p in settings.marketing_exports_dir.iterdir()} - set(exports)
    assert new_files == {f"events_{END.isoformat()}.parquet"}
    assert all((settings.marketing_exports_dir / n).read_bytes() == b for n, b in exports.items())
    new_marketing = marketing_events(settings)
    assert len(new_marketing) == len(marketing) + summary.marketing_events
    assert not set(new_marketing["event_id"][len(marketing) :]) & set(marketing["event_id"])

    after = crm_records(settings, "contacts").set_index("hs_object_id")
    changed = after.index[
        ~after.index.isin(contacts.index)
        | (after["lastmodifieddate"] != contacts["lastmodifieddate"].reindex(after.index))
    ]
    assert len(after) == len(contacts) + summary.leads
    assert len(changed) == summary.leads + summary.updated_leads
    assert (after.loc[changed, "lastmodifieddate"] >= f"{END.isoformat()}T").all()
    assert (after.loc[changed, "lastmodifieddate"] < f"{NEXT.date().isoformat()}T").all()
    unchanged = after.index.difference(changed)
    pd.testing.assert_frame_equal(after.loc[unchanged], contacts.loc[unchanged])
    assert (contacts["lastmodifieddate"] < f"{END.isoformat()}T").all()

    deals_after = crm_records(settings, "deals").set_index("hs_object_id")
    assert len(deals_after) == len(deals) + summary.deals
    moved = deals_after["lastmodifieddate"] >= f"{END.isoformat()}T"
    kept = deals_after.index[~moved]
    pd.testing.assert_frame_equal(deals_after.loc[kept], deals.loc[kept])

    users_after = product_table(settings, "app_users").set_index("user_id")
    assert len(users_after) == len(users) + summary.product_users
    newer = pd.to_datetime(users_after["updated_at"]) >= pd.Timestamp(END)
    assert newer.sum() >= summary.product_users
    pd.testing.assert_frame_equal(users_after[~newer], users.loc[users_after.index[~newer]])

    leads = truth(settings, "leads")
    assert len(leads) == len(contacts) + summary.leads


def test_two_next_days_continue_the_ids(small):
    settings, _ = small
    simulate_next_day(settings)
    second = simulate_next_day(settings)
    events = product_table(settings, "app_events")
    assert events["event_id"].is_unique and events["event_id"].is_monotonic_increasing
    contacts = crm_records(settings, "contacts")
    assert contacts["hs_object_id"].is_unique
    assert second.end == pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=2)


def test_next_day_without_a_simulation_names_the_folder(settings):
    with pytest.raises(SimulatorError, match=f"no simulation in {settings.sources_dir}"):
        simulate_next_day(settings)
