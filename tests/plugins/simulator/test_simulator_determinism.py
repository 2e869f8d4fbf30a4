"""Same seed, same sources (CRM, product DB, exports, truth); another seed, other data."""

import dataclasses

import pandas as pd
from conftest import SMALL, crm_records, marketing_events, product_table, truth

from lead_scoring.simulator import simulate


def _sources(settings) -> dict[str, pd.DataFrame]:
    return {
        "contacts": crm_records(settings, "contacts"),
        "companies": crm_records(settings, "companies"),
        "deals": crm_records(settings, "deals"),
        "app_users": product_table(settings, "app_users"),
        "app_events": product_table(settings, "app_events"),
        "marketing": marketing_events(settings),
        "truth_leads": truth(settings, "leads"),
        "truth_events": truth(settings, "events"),
    }


def test_same_seed_gives_identical_sources_and_another_seed_differs(settings, tmp_path):
    twin = dataclasses.replace(settings, home=tmp_path / "twin")
    other = dataclasses.replace(settings, home=tmp_path / "other")
    simulate(settings, seed=5, **SMALL)
    simulate(twin, seed=5, **SMALL)
    simulate(other, seed=6, **SMALL)

    first, second, third = _sources(settings), _sources(twin), _sources(other)
    for name, frame in first.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(frame, second[name], obj=name)
    exported = sorted(p.name for p in settings.marketing_exports_dir.iterdir())
    assert exported == sorted(p.name for p in twin.marketing_exports_dir.iterdir())

    assert set(first["contacts"]["email"]) != set(third["contacts"]["email"])
    assert len(first["app_events"]) != len(third["app_events"]) or not first["app_events"].equals(
        third["app_events"]
    )
