"""Leads and outcomes alone calibrate: with no product or marketing events at all, the
proposal is learned from the attributes and every event type keeps no lift."""

import shutil
from dataclasses import replace

import pandas as pd
import pytest

from lead_scoring.calibration import CalibrationConfig, run_calibration
from lead_scoring.calibration.features import event_features
from lead_scoring.calibration.inputs import load_inputs
from lead_scoring.warehouse import open_warehouse

# the scored home (conftest.py) is session-scoped: built at most once per worker
pytestmark = pytest.mark.xdist_group("calibration")


def test_event_features_of_no_events_are_zero():
    events = pd.DataFrame({"lead_id": pd.Series(dtype=str), "event_type": pd.Series(dtype=str),
                           "occurred_on": pd.Series(dtype="datetime64[s]")})  # fmt: skip
    dates = pd.Series(pd.Timestamp("2026-05-01"), index=pd.Index(["a", "b"], name="lead_id"))
    half_lives = pd.Series([7.0, 30.0], index=pd.Index(["demo", "visit"], name="event_type"))
    decayed, counts = event_features(events, dates, half_lives)
    assert decayed.shape == counts.shape == (2, 2)
    assert list(decayed.index) == ["a", "b"] and list(decayed.columns) == ["demo", "visit"]
    assert (decayed == 0).all().all() and (counts == 0).all().all()


def test_calibration_without_events_proposes_from_attributes(scored_home, tmp_path):
    shutil.copyfile(scored_home.warehouse_path, tmp_path / "warehouse.duckdb")
    settings = replace(scored_home, home=tmp_path)
    with open_warehouse(settings) as wh:
        for table in ("raw.product_events", "raw.marketing_events",
                      "staging.stg_product__events", "staging.stg_marketing__events"):  # fmt: skip
            wh.execute(f"delete from {table}")
    assert load_inputs(settings).events.empty

    result = run_calibration(settings, CalibrationConfig())

    assert (result.proposal_dir / "seeds" / "signal_rules.csv").exists()
    signals = pd.read_csv(result.proposal_dir / "signals.csv")
    attributes = signals[signals["source"] == "attribute"]
    events = signals[signals["source"] != "attribute"]
    assert (attributes["n_with"] > 0).any() and (events["n_with"] == 0).all()
    assert (attributes["status"] == "kept").any()
    assert result.summary["decided_leads"] > 0
