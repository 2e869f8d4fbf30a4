"""Same seed, same sources (CRM, product DB, exports, truth); another seed, other data."""

import dataclasses

import pandas as pd
from conftest import SMALL, sources

from lead_scoring.simulator import simulate


def test_same_seed_gives_identical_sources_and_another_seed_differs(settings, tmp_path):
    twin = dataclasses.replace(settings, home=tmp_path / "twin")
    other = dataclasses.replace(settings, home=tmp_path / "other")
    simulate(settings, seed=5, **SMALL)
    simulate(twin, seed=5, **SMALL)
    simulate(other, seed=6, **SMALL)

    first, second, third = sources(settings), sources(twin), sources(other)
    for name, frame in first.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(frame, second[name], obj=name)
    exported = sorted(p.name for p in settings.marketing_exports_dir.iterdir())
    assert exported == sorted(p.name for p in twin.marketing_exports_dir.iterdir())

    assert set(first["contacts"]["email"]) != set(third["contacts"]["email"])
    assert len(first["app_events"]) != len(third["app_events"]) or not first["app_events"].equals(
        third["app_events"]
    )
