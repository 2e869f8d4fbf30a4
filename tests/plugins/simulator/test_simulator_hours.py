"""`simulate_next_day(hours=...)`: part of a day, each hour with its own draws and export file;
24 hours are the next day as it always was."""

import dataclasses

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import END, SMALL, crm_records, marketing_events, product_table, sources, truth

from lead_scoring.simulator import SimulatorError, simulate, simulate_next_day
from lead_scoring.simulator.run import NEXT_DAY_EVENT_SHARE, _step_rng

START = pd.Timestamp(END)
HOUR = pd.Timedelta(hours=1)


def _future(settings) -> set[str]:
    """Event ids (product: the number, marketing: ``me-<n>``) injected as future events."""
    events = truth(settings, "events")
    return set(events.loc[events["injected_error"] == "future_event", "event_id"])


def test_an_hour_adds_about_a_24th_of_a_day_all_within_that_hour(settings):
    simulate(settings, leads=600, accounts=120, events=120_000, days=60, end_date=END, seed=3)
    events = product_table(settings, "app_events")
    contacts = crm_records(settings, "contacts").set_index("hs_object_id")
    day_budget = NEXT_DAY_EVENT_SHARE * (len(events) + len(marketing_events(settings)))

    hour = simulate_next_day(settings, hours=1)

    assert (hour.start, hour.end) == (START.tz_localize("UTC"), (START + HOUR).tz_localize("UTC"))
    assert hour.lines()[0].startswith("next 1 h: 2026-11-01 00:00 .. 2026-11-01 01:00")
    added = hour.product_events + hour.marketing_events
    assert 0.6 * day_budget / 24 < added < 1.5 * day_budget / 24  # about 50 of 1,200
    future = _future(settings)
    new_events = product_table(settings, "app_events").iloc[len(events) :]
    assert len(new_events) == hour.product_events
    on_time = new_events[~new_events["event_id"].astype(str).isin(future)]
    assert pd.to_datetime(on_time["occurred_at"]).between(START, START + HOUR, "left").all()
    (export,) = settings.marketing_exports_dir.glob(f"events_{END}T*.parquet")
    assert export.name == f"events_{END}T00.parquet"
    marketing = pd.read_parquet(export)
    assert len(marketing) == hour.marketing_events
    on_time = marketing[~marketing["event_id"].isin(future)]
    assert pd.to_datetime(on_time["occurred_at"]).between(START, START + HOUR, "left").all()
    after = crm_records(settings, "contacts").set_index("hs_object_id")
    changed = after["lastmodifieddate"] != contacts["lastmodifieddate"].reindex(after.index)
    assert changed.sum() == hour.leads + hour.updated_leads
    moments = pd.to_datetime(after.loc[changed, "lastmodifieddate"]).dt.tz_localize(None)
    assert moments.between(START, START + HOUR, "left").all()


def test_consecutive_hours_differ_and_keep_their_own_files(small):
    settings, _ = small
    first = simulate_next_day(settings, hours=1)
    first_file = settings.marketing_exports_dir / f"events_{END}T00.parquet"
    first_bytes = first_file.read_bytes()
    events = product_table(settings, "app_events")
    second = simulate_next_day(settings, hours=1)

    assert second.start == first.end and second.end - second.start == HOUR
    assert first_file.read_bytes() == first_bytes  # the second hour wrote its own file
    hourly = sorted(p.name for p in settings.marketing_exports_dir.glob(f"events_{END}*"))
    assert hourly == [f"events_{END}T00.parquet", f"events_{END}T01.parquet"]
    one, two = (pq.read_table(settings.marketing_exports_dir / name) for name in hourly)
    assert not set(one.column("event_id").to_pylist()) & set(two.column("event_id").to_pylist())
    assert len(marketing_events(settings)) == len(marketing_events(settings).drop_duplicates())
    after = product_table(settings, "app_events")
    assert after["event_id"].is_unique and after["event_id"].is_monotonic_increasing
    # other draws, not the first hour's shifted by an hour
    offsets = [
        (frame["user_id"].tolist(), (pd.to_datetime(frame["occurred_at"]) - start).tolist())
        for frame, start in ((after.iloc[len(events) - first.product_events : len(events)],
                              START), (after.iloc[len(events) :], START + HOUR))
    ]  # fmt: skip
    assert offsets[0] != offsets[1]
    manifest = pd.read_json(settings.sources_dir / "simulation.json", typ="series")
    assert manifest["days_added"] == [f"{END}T00:00Z/PT1H", f"{END}T01:00Z/PT1H"]


def test_each_hour_draws_from_a_stream_of_its_own_and_a_day_from_the_days():
    day = 86_400
    first = _step_rng(7, 30 * day, 1).random(5)
    second = _step_rng(7, 30 * day + 3600, 1).random(5)
    assert not np.allclose(first, second)
    # a whole day from midnight: the stream simulate_next_day has always used
    whole = _step_rng(7, 30 * day, 24).random(5)
    np.testing.assert_array_equal(whole, np.random.default_rng([7, 30]).random(5))
    assert not np.allclose(_step_rng(7, 30 * day + 3600, 24).random(5), whole)


def test_24_hours_are_the_next_day(settings, tmp_path):
    twin = dataclasses.replace(settings, home=tmp_path / "twin")
    for home in (settings, twin):
        simulate(home, seed=11, **SMALL)
    day = simulate_next_day(settings)
    hours = simulate_next_day(twin, hours=24)
    assert day.lines()[0].startswith("next day: 2026-11-01 .. 2026-11-02")
    assert dataclasses.replace(hours, home=day.home, seconds=day.seconds, crm_store=day.crm_store,
                               product_db=day.product_db, marketing_dir=day.marketing_dir,
                               truth_dir=day.truth_dir) == day  # fmt: skip
    expected = sources(twin)
    for name, frame in sources(settings).items():
        pd.testing.assert_frame_equal(frame, expected[name], obj=name)
    assert {p.name for p in twin.marketing_exports_dir.iterdir()} == {
        p.name for p in settings.marketing_exports_dir.iterdir()
    }
    assert f"events_{END}.parquet" in {p.name for p in settings.marketing_exports_dir.iterdir()}


@pytest.mark.parametrize("hours", [0, 25, 1.5])
def test_hours_outside_a_day_are_refused(settings, hours):
    with pytest.raises(SimulatorError, match=f"hours must be 1 to 24, got {hours}"):
        simulate_next_day(settings, hours=hours)
