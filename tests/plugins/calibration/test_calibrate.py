"""`run_calibration` end to end on the scored warehouse: proposal files, policy, report."""

import json
import shutil
from dataclasses import replace

import pandas as pd
import pytest

from lead_scoring.calibration import (
    CalibrationConfig,
    CalibrationError,
    calibration_summary_html,
    run_calibration,
)
from lead_scoring.calibration.rules import read_seed
from lead_scoring.warehouse import open_warehouse


@pytest.fixture(scope="module")
def calibrated(scored_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("calibrated")
    shutil.copyfile(scored_home.warehouse_path, home / "warehouse.duckdb")
    settings = replace(scored_home, home=home)
    return settings, run_calibration(settings, CalibrationConfig(), mode="challenger")


def test_proposal_seeds_keep_the_format_and_change_only_points(calibrated):
    settings, result = calibrated
    seeds = settings.dbt_project_dir / "seeds"
    for name, keys, points in (
        ("event_weights", ["event_type"], {"points", "max_points"}),
        ("fit_rules", ["dimension", "dimension_value"], {"points"}),
    ):
        current, proposed = read_seed(seeds / f"{name}.csv"), read_seed(
            result.proposal_dir / "seeds" / f"{name}.csv")  # fmt: skip
        assert list(proposed.columns) == list(current.columns)
        assert proposed[keys].equals(current[keys])
        unchanged = [c for c in current.columns if c not in points]
        assert proposed[unchanged].equals(current[unchanged])
        raw = (result.proposal_dir / "seeds" / f"{name}.csv").read_text()
        assert raw.endswith("\n") and "\r" not in raw and ".0," not in raw
    assert not read_seed(result.proposal_dir / "seeds" / "event_weights.csv")["points"].equals(
        read_seed(seeds / "event_weights.csv")["points"]
    )


def test_every_rule_gets_a_lift_and_the_drop_policy_holds(calibrated):
    settings, result = calibrated
    signals = pd.read_csv(result.proposal_dir / "signals.csv")
    events = read_seed(settings.dbt_project_dir / "seeds" / "event_weights.csv")
    fits = read_seed(settings.dbt_project_dir / "seeds" / "fit_rules.csv")
    assert set(signals["signal"]) == set(events["event_type"]) | set(
        fits["dimension"] + ":" + fits["dimension_value"]
    )
    seen = signals[signals["n_with"] > 0]
    assert (seen["ci_low_pp"] <= seen["lift_pp"]).all() and (
        seen["lift_pp"] <= seen["ci_high_pp"]
    ).all()
    positive = signals[signals["category"] != "negative"]
    scored = positive[positive["proposed_points"] != 0]
    assert (scored["lift_pp"].abs() >= 5 - 0.5).all()
    assert (scored[["n_with", "n_without"]].min(axis=1) >= 30).all()
    weak = positive[positive["lift_pp"].abs() < 4.5]
    assert (weak["proposed_points"] == 0).all() and weak["status"].str.startswith("dropped").all()
    trivial = signals[signals["category"] == "trivial"]
    assert (trivial["proposed_points"] == 0).all()
    negative = signals[signals["category"] == "negative"]
    assert (negative["proposed_points"] < 0).all()
    assert (signals["proposed_points"] != 0).sum() <= 20
    assert result.summary["seed_rule_violations"] == []


def test_factor_limit(scored_home, tmp_path):
    shutil.copyfile(scored_home.warehouse_path, tmp_path / "warehouse.duckdb")
    settings = replace(scored_home, home=tmp_path)
    result = run_calibration(settings, CalibrationConfig(max_factors=4, min_lift_points=1))
    signals = pd.read_csv(result.proposal_dir / "signals.csv")
    assert (signals["proposed_points"] != 0).sum() <= 4
    assert signals["status"].str.contains("beyond the 4 strongest").any()


def test_threshold_backtest_and_challenger_in_the_summary(calibrated):
    settings, result = calibrated
    s = json.loads((result.proposal_dir / "proposal.json").read_text())
    assert s["proposed_threshold"] == result.summary["proposed_threshold"]
    at = s["proposed_at_threshold"]
    assert at["sdr_ready_leads"] > 0 and 0 <= at["close_rate"] <= 1
    if s["threshold_status"] == "in_band":
        assert 0.10 <= at["close_rate"] <= 0.15
        assert at["volume_per_week"] <= 250
    for key in ("profile_only_share", "bad_fit_low_pain_share"):
        assert 0 <= at[key] <= 1
    metrics = pd.read_csv(result.proposal_dir / "backtest_metrics.csv").set_index("model")
    assert set(metrics.index) == {"current", "proposed", "challenger"}
    assert (metrics["auc"] > 0.6).all(), metrics["auc"]
    assert s["backtest"]["train_period"][1] <= s["backtest"]["test_period"][0]
    deciles = pd.read_csv(result.proposal_dir / "backtest_deciles.csv")
    assert set(deciles.groupby("model")["decile"].nunique()) == {10}
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


def test_a_clear_penalty_is_sized_by_its_lift_and_an_unclear_one_keeps_the_current_points():
    from lead_scoring.calibration.propose import propose_points

    lifts = pd.DataFrame({
        "signal": ["careers_page_view", "unsubscribe", "email_bounce", "demo_request"],
        "source": ["marketing"] * 4,
        "category": ["negative", "negative", "negative", "marketing_engagement"],
        "current_points": [-15.0, -20.0, -10.0, 20.0],
        "n_with": [5000, 400, 20, 3000], "n_without": [90000] * 4,
        "lift_pp": [-2.49, -0.3, -4.0, 12.4],
        "ci_high_pp": [-2.2, 0.1, -0.5, 13.0],
    })  # fmt: skip
    table = propose_points(lifts, CalibrationConfig()).set_index("signal")
    assert table.loc["careers_page_view", "proposed_points"] == -2  # clear: the measured lift
    assert table.loc["careers_page_view", "status"] == "kept: measured penalty"
    assert table.loc["unsubscribe", "proposed_points"] == -20  # interval reaches 0: current
    assert table.loc["email_bounce", "proposed_points"] == -10  # too few samples: current
    assert table.loc["demo_request", "proposed_points"] == 12
