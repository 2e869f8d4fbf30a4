"""`run_calibration` end to end on the scored warehouse: proposal files, policy, report."""

import json
import shutil
from dataclasses import replace

import pandas as pd
import pytest
from markupsafe import escape

from lead_scoring.calibration import (
    CalibrationConfig,
    CalibrationError,
    calibration_summary_html,
    run_calibration,
)
from lead_scoring.calibration.rules import read_seed
from lead_scoring.warehouse import open_warehouse

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("calibration")


@pytest.fixture(scope="session")
def calibrated(scored_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("calibrated")
    shutil.copyfile(scored_home.warehouse_path, home / "warehouse.duckdb")
    settings = replace(scored_home, home=home)
    return settings, run_calibration(settings, CalibrationConfig(), mode="challenger")


def test_proposal_seeds_keep_the_format(calibrated):
    settings, result = calibrated
    seeds = settings.dbt_project_dir / "seeds"
    current = read_seed(seeds / "event_weights.csv")
    proposed = read_seed(result.proposal_dir / "seeds" / "event_weights.csv")
    assert list(proposed.columns) == list(current.columns)
    unchanged = [c for c in current.columns if c not in ("points", "max_points")]
    assert proposed[unchanged].equals(current[unchanged])
    assert not proposed["points"].equals(current["points"])
    rules = read_seed(result.proposal_dir / "seeds" / "signal_rules.csv")
    assert list(rules.columns) == list(read_seed(seeds / "signal_rules.csv").columns)
    assert set(rules["transform"]) <= {"equals", "between", "present", "missing"}
    assert (rules.groupby("signal")["points"].nunique() == 1).all()
    for name in ("event_weights", "signal_rules"):
        raw = (result.proposal_dir / "seeds" / f"{name}.csv").read_text()
        assert raw.endswith("\n") and "\r" not in raw and ".0," not in raw


def test_candidates_selection_rule_and_joint_points(calibrated):
    settings, result = calibrated
    signals = pd.read_csv(result.proposal_dir / "signals.csv")
    rules = read_seed(settings.dbt_project_dir / "seeds" / "signal_rules.csv")
    events = read_seed(settings.dbt_project_dir / "seeds" / "event_weights.csv")
    candidates = set(signals["signal"])
    assert set(rules["signal"]) <= candidates  # every rule in force is judged
    assert {"event:" + t for t in events.loc[events["signal_category"] != "trivial",
                                              "event_type"]} <= candidates  # fmt: skip
    assert len(candidates) > len(set(rules["signal"])) + 10  # and values no rule names yet
    seen = signals[signals["n_with"] > 0]
    assert (seen["ci_low_pp"] <= seen["lift_pp"]).all() and (
        seen["lift_pp"] <= seen["ci_high_pp"]
    ).all()
    kept = signals[signals["status"].isin(["kept"]) | signals["status"].str.startswith("lowered")]
    assert 0 < len(kept) <= 20
    assert (kept["lift_pp"].abs() >= 5).all()  # the lift floor is a selection rule
    assert (kept[["n_with", "n_without"]].min(axis=1) >= 30).all()
    assert kept["weight"].notna().all() and (kept["proposed_points"].abs() <= 30).all()
    scale = 30 / kept["weight"].abs().max()  # the strongest factor is worth 30 points
    as_fitted = kept[kept["status"] == "kept"]
    assert (as_fitted["proposed_points"] == (as_fitted["weight"] * scale).round()).all()
    proposed = read_seed(result.proposal_dir / "seeds" / "signal_rules.csv")
    chosen = set(kept.loc[kept["source"] == "attribute", "signal"])
    assert set(proposed["signal"]) == chosen
    proposed_events = read_seed(result.proposal_dir / "seeds" / "event_weights.csv")
    points = proposed_events.set_index("event_type")["points"].astype(float)
    category = proposed_events.set_index("event_type")["signal_category"]
    assert (points[category == "trivial"] == 0).all()
    assert (points[category == "negative"] < 0).all()
    assert result.summary["seed_rule_violations"] == []
    assert result.summary["no_signal"] is False


def test_factor_limit(scored_home, tmp_path):
    shutil.copyfile(scored_home.warehouse_path, tmp_path / "warehouse.duckdb")
    settings = replace(scored_home, home=tmp_path)
    result = run_calibration(settings, CalibrationConfig(max_factors=4, min_lift_points=1))
    signals = pd.read_csv(result.proposal_dir / "signals.csv")
    chosen = signals[signals["status"] == "kept"]
    assert 0 < len(chosen) <= 4
    assert signals["status"].str.contains("not among the factors chosen jointly").any()


def test_threshold_backtest_and_challenger_in_the_summary(calibrated):
    settings, result = calibrated
    s = json.loads((result.proposal_dir / "proposal.json").read_text())
    assert s["proposed_threshold"] == result.summary["proposed_threshold"]
    at = s["proposed_at_threshold"]
    assert at["sdr_ready_leads"] > 0 and 0 <= at["close_rate"] <= 1
    # no roster table in this build: the seed file's reps, no follow-up measured yet
    capacity = s["capacity"]
    assert capacity["source"] == "seeds/sales_reps.csv" and capacity["within_sla_rate"] is None
    assert capacity["follow_up_per_week"] == capacity["per_week"] > 0
    if s["threshold_status"] == "in_band":
        assert 0.10 <= at["close_rate"] <= 0.15
        assert at["volume_per_week"] <= capacity["follow_up_per_week"]
    for key in ("profile_only_share", "bad_fit_low_pain_share"):
        assert 0 <= at[key] <= 1
    metrics = pd.read_csv(result.proposal_dir / "backtest_metrics.csv").set_index("model")
    assert set(metrics.index) == {"current", "proposed", "challenger"}
    assert (metrics["auc"] > 0.6).all(), metrics["auc"]
    assert s["backtest"]["train_period"][1] <= s["backtest"]["test_period"][0]
    deciles = pd.read_csv(result.proposal_dir / "backtest_deciles.csv")
    split = pd.read_csv(result.proposal_dir / "backtest_split.csv")
    test_leads = (split["split"] == "test").sum()
    assert set(deciles.groupby("model")["leads"].sum()) == {test_leads}
    assert deciles.groupby("model")["decile"].nunique()["challenger"] == 10
    assert split["lead_id"].is_unique and len(split) == s["decided_leads"]
    with open_warehouse(settings) as wh:
        scores = wh.query_df("select * from calibration.challenger_scores")
        leads = wh.scalar("select count(*) from marts.lead_scores")
    assert len(scores) == leads and scores["lead_id"].is_unique
    assert scores["close_probability"].between(0, 1).all()
    assert s["challenger_scores"]["rows"] == leads


def test_report_and_run_report_section(calibrated):
    settings, result = calibrated
    html = result.report_path.read_text()
    for image in ("score_distribution.png", "conversion_by_band.png", "lift_chart.png",
                  "calibration_curve.png", "threshold_tradeoff.png"):  # fmt: skip
        assert f'src="{image}"' in html
        assert (result.proposal_dir / image).stat().st_size > 5_000
    assert "calibration-apply" in html and "demo_request" in html
    section = calibration_summary_html(settings)
    assert result.proposal_dir.name in section
    assert f"{result.summary['auc_proposed']:.3f}" in section
    assert f"{result.summary['proposed_threshold']:g}" in section
    capacity = result.summary["capacity"]
    assert "<h2>SDR capacity</h2>" in html and str(escape(capacity["reason"])) in html
    assert f"the team follows up {capacity['follow_up_per_week']:,.0f} within the SLA" in section


def test_run_report_section_without_a_proposal(settings):
    assert "No calibration proposal yet" in calibration_summary_html(settings)


def test_clear_errors(settings, scored_home, tmp_path):
    with pytest.raises(CalibrationError, match="missing; run the nightly pipeline"):
        run_calibration(settings)
    shutil.copyfile(scored_home.warehouse_path, tmp_path / "warehouse.duckdb")
    with pytest.raises(CalibrationError, match="decided leads"):
        run_calibration(replace(scored_home, home=tmp_path), CalibrationConfig(
            min_decided_leads=10**6))  # fmt: skip
    with pytest.raises(CalibrationError, match="mode must be one of"):
        run_calibration(settings, mode="magic")
