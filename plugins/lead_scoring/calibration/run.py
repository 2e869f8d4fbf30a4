"""One calibration: outcomes -> candidate factors -> joint fit -> proposed points and
threshold -> backtest -> report (and the verdict when the scores carry no signal).

Writes a proposal folder and never touches the dbt project (see ``proposals``). With
``mode="challenger"`` it also writes the challenger's close probabilities for every lead
scored by the last dbt build to ``calibration.challenger_scores``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lead_scoring.calibration import challenger
from lead_scoring.calibration.backtest import run_backtest
from lead_scoring.calibration.capacity import (
    capacity_verdict,
    team_capacity,
    threshold_within_capacity,
)
from lead_scoring.calibration.config import CalibrationConfig, CalibrationError
from lead_scoring.calibration.dataset import CalibrationData, prepare
from lead_scoring.calibration.features import event_features
from lead_scoring.calibration.fit import Design, design, propose, seed_rule_violations
from lead_scoring.calibration.inputs import ScoringInputs, load_inputs
from lead_scoring.calibration.proposals import SUMMARY, new_proposal_dir
from lead_scoring.calibration.report import write_report
from lead_scoring.calibration.rules import (
    SCALED_VARS,
    WEIGHT_SEEDS,
    Rules,
    load_rules,
    project_vars,
    write_seed,
)
from lead_scoring.calibration.scoring import score_leads
from lead_scoring.calibration.threshold import describe_threshold, tradeoff
from lead_scoring.settings import Settings

log = logging.getLogger(__name__)
MODES = ("points", "challenger")


@dataclass(frozen=True)
class CalibrationResult:
    proposal_dir: Path
    summary: dict

    @property
    def report_path(self) -> Path:
        return self.proposal_dir / "report.html"


def run_calibration(
    settings: Settings, config: CalibrationConfig | None = None, mode: str = "points"
) -> CalibrationResult:
    """Calibrate on the outcomes in the warehouse and write a proposal (never applied)."""
    if mode not in MODES:
        raise CalibrationError(f"calibrate: mode must be one of {', '.join(MODES)}, got {mode!r}")
    config = config or CalibrationConfig()
    started = time.monotonic()
    rules = load_rules(settings.dbt_project_dir)
    inputs = load_inputs(settings)
    capacity = team_capacity(settings, config)
    data = prepare(inputs, rules, config)
    log.info("calibration: %s decided leads (%s won) as of %s", len(data.decided),
             int(data.is_won.sum()), data.as_of_date)  # fmt: skip
    decisions, proposed, factors = propose(data, rules, config)
    current_scores = score_leads(rules, data.attributes, data.decayed)
    proposed_scores = score_leads(proposed, data.attributes, data.decayed)
    log.info("calibration: backtest on a time split (test share %s)", config.test_share)
    backtest = run_backtest(data, rules, config, capacity.follow_up_per_week)
    no_signal = judge_signal(backtest, decisions)
    current = describe_threshold(current_scores, data.is_won, rules.threshold,
                                 data.leads_per_week, rules)  # fmt: skip
    if no_signal:
        choice = describe_threshold(proposed_scores, data.is_won, rules.threshold,
                                    data.leads_per_week, proposed, "no_signal")  # fmt: skip
        curve = tradeoff(proposed_scores, data.is_won, data.leads_per_week)
        verdict = capacity_verdict(capacity, curve, current.as_dict(), None, None)
    else:
        choice, curve, verdict = threshold_within_capacity(
            proposed_scores, data.is_won, data.leads_per_week, proposed, config, capacity,
            current,
        )  # fmt: skip
    proposed = proposed.with_threshold(choice.threshold)
    model = challenger.fit_challenger(factors.matrix, data.is_won)

    path = new_proposal_dir(settings)
    for name in WEIGHT_SEEDS:
        write_seed(getattr(proposed, name), path / "seeds" / f"{name}.csv")
    decisions.to_csv(path / "signals.csv", index=False)
    curve.to_csv(path / "threshold_tradeoff.csv", index=False)
    backtest.metrics.to_csv(path / "backtest_metrics.csv", index=False)
    backtest.deciles.to_csv(path / "backtest_deciles.csv", index=False)
    backtest.split.to_csv(path / "backtest_split.csv", index=False)
    coefficients = challenger.coefficients(model, factors.matrix.columns)
    coefficients.to_csv(path / "challenger_coefficients.csv", index=False)
    summary = _summary(path, config, data, rules, proposed, decisions, current, choice,
                       backtest, mode, no_signal)  # fmt: skip
    summary["suggested_vars"] = suggested_vars(settings, rules, choice.threshold)
    summary["capacity"] = verdict
    log.info("calibration: %s", summary["capacity"]["reason"])
    if mode == "challenger":
        summary["challenger_scores"] = write_challenger_scores(settings, inputs, rules, model,
                                                               factors, path)  # fmt: skip
    (path / SUMMARY).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    write_report(path, summary, decisions, curve, backtest, proposed_scores, data.is_won,
                 current_scores)  # fmt: skip
    log.info("calibration: proposal %s written in %.1f s (report %s)", path.name,
             time.monotonic() - started, path / "report.html")  # fmt: skip
    return CalibrationResult(path, summary)


def judge_signal(backtest, decisions) -> bool:
    """True when the proposed scores carry no signal: no factor keeps points, or the
    backtest's AUC of the proposed points on the held-out leads is not surely above 0.5
    (its 95% interval reaches it)."""
    metrics = backtest.metrics.set_index("model")
    low = metrics.loc["proposed", "auc_low"]
    kept = (decisions["status"] == "kept").sum()
    return bool(kept == 0 or not low > 0.5)


def _summary(path, config, data: CalibrationData, rules: Rules, proposed: Rules, decisions,
             current, choice, backtest, mode, no_signal: bool) -> dict:  # fmt: skip
    metrics = backtest.metrics.set_index("model")
    kept = decisions[decisions["status"].str.startswith(("kept", "lowered"))]
    return {
        "proposal": path.name,
        "proposal_dir": str(path),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "as_of_date": data.as_of_date.isoformat(),
        "config": {
            k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(config).items()
        },  # fmt: skip
        "decided_leads": len(data.decided),
        "won_leads": int(data.is_won.sum()),
        "leads_per_week": round(data.leads_per_week, 1),
        "factors_kept": len(kept),
        "signals_changed": int((decisions["proposed_points"] != decisions["current_points"]).sum()),
        "candidates": len(decisions),
        "no_signal": no_signal,
        "current_score_floor": rules.score_floor,
        "proposed_score_floor": proposed.score_floor,
        "current_threshold": rules.threshold,
        "proposed_threshold": choice.threshold,
        "threshold_status": choice.status,
        "current_at_threshold": current.as_dict(),
        "proposed_at_threshold": choice.as_dict(),
        "backtest": {
            "train_period": backtest.train_period,
            "test_period": backtest.test_period,
            "metrics": json.loads(backtest.metrics.to_json(orient="records")),
        },
        "auc_current": float(metrics.loc["current", "auc"]),
        "auc_proposed": float(metrics.loc["proposed", "auc"]),
        "auc_challenger": float(metrics.loc["challenger", "auc"]),
        "auc_proposed_interval": [
            float(metrics.loc["proposed", "auc_low"]),
            float(metrics.loc["proposed", "auc_high"]),
        ],
        "seed_rule_violations": seed_rule_violations(proposed),
        "apply_command": f"lead-scoring calibration-apply {path.name}",
    }


def suggested_vars(settings: Settings, rules: Rules, threshold: float) -> dict:
    """The other score-scale vars, scaled like the threshold (reported, never applied)."""
    vars_ = project_vars(settings.dbt_project_dir)
    scale = threshold / rules.var_threshold if rules.var_threshold else 1.0
    return {
        name: round(float(vars_[name]) * scale)
        for name in SCALED_VARS
        if isinstance(vars_.get(name), int | float) and not isinstance(vars_.get(name), bool)
    }


def write_challenger_scores(
    settings: Settings, inputs: ScoringInputs, rules: Rules, model, factors: Design, path: Path
) -> dict:
    """Close probabilities of every lead as of the build's as-of date -> the warehouse."""
    from lead_scoring.warehouse import open_warehouse

    lead_ids = pd.Index(inputs.leads["lead_id"], name="lead_id")
    dates = pd.Series(pd.Timestamp(inputs.as_of_date), index=lead_ids)
    decayed, _ = event_features(inputs.events, dates, rules.event_table().set_index(
        "event_type")["half_life_days"])  # fmt: skip
    features = design(factors.rules, rules, inputs.attributes, decayed).matrix
    probability = challenger.predict(model, features)
    table = pd.DataFrame({
        "lead_id": probability.index,
        "close_probability": probability.to_numpy(),
        "challenger_score": (100 * probability).round(2).to_numpy(),
        "as_of_date": pd.Timestamp(inputs.as_of_date),
        "proposal": path.name,
        "scored_at": pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)),
    })  # fmt: skip
    with open_warehouse(settings) as wh:
        wh.write_df(table, challenger.SCHEMA, challenger.TABLE, mode="replace")
    log.info("calibration: %s challenger scores -> %s.%s", len(table), challenger.SCHEMA,
             challenger.TABLE)  # fmt: skip
    return {"table": f"{challenger.SCHEMA}.{challenger.TABLE}", "rows": len(table)}


def calibrate_from_env() -> dict:
    """The weekly DAG's task body: calibrate with the environment's settings and config
    (mode from LEAD_SCORING_CALIBRATION_MODE, default points); a small JSON-able summary."""
    import os

    from lead_scoring.calibration.config import config_from_env
    from lead_scoring.settings import get_settings

    mode = os.environ.get("LEAD_SCORING_CALIBRATION_MODE") or "points"
    result = run_calibration(get_settings(), config_from_env(), mode=mode)
    keys = ("proposal", "proposal_dir", "as_of_date", "decided_leads", "won_leads",
            "current_threshold", "proposed_threshold", "threshold_status", "auc_current",
            "auc_proposed", "auc_challenger", "no_signal", "seed_rule_violations",
            "apply_command")  # fmt: skip
    return {key: result.summary[key] for key in keys} | {"report": str(result.report_path)}
