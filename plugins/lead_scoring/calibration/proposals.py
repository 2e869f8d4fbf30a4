"""Proposals on disk, and applying one: nothing reaches the dbt project without a person.

A proposal is a folder ``<home>/calibration/proposals/<timestamp>/`` holding the proposed
seeds (same CSV format as dbt_project/seeds: event_weights.csv with only its point columns
changed, signal_rules.csv with the factors the calibration chose), the threshold and every
figure behind them (proposal.json, CSVs, report.html). ``apply_proposal`` copies the seeds
into the dbt project and sets the threshold var's default (and the score floor's, when the
proposal drops it) in dbt_project.yml; the models derive model_version from both, so the
next dbt build scores under a new version. A proposal that found no signal is never applied.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lead_scoring.calibration.config import CalibrationError
from lead_scoring.calibration.rules import (
    FLOOR_VAR,
    THRESHOLD_VAR,
    WEIGHT_SEEDS,
    load_rules,
    read_seed,
    set_var_default,
)
from lead_scoring.settings import Settings

SUMMARY = "proposal.json"
APPLIED = "applied.json"
SAME_ROWS = {"event_weights": ["event_type"]}  # seeds whose rows a proposal never changes


def proposals_dir(settings: Settings) -> Path:
    return settings.home / "calibration" / "proposals"


def new_proposal_dir(settings: Settings) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = proposals_dir(settings) / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = proposals_dir(settings) / f"{stamp}-{suffix}"
    path.mkdir(parents=True)
    return path


def latest_proposal(settings: Settings) -> Path | None:
    root = proposals_dir(settings)
    found = sorted(p.parent for p in root.glob(f"*/{SUMMARY}")) if root.is_dir() else []
    return found[-1] if found else None


def resolve_proposal(settings: Settings, proposal: str) -> Path:
    """A proposal folder from a path, a folder name under the proposals folder or 'latest'."""
    if proposal == "latest":
        path = latest_proposal(settings)
        if path is None:
            raise CalibrationError(f"no proposal in {proposals_dir(settings)}: run calibrate first")
        return path
    path = Path(proposal)
    if not path.is_dir():
        path = proposals_dir(settings) / proposal
    if not (path / SUMMARY).exists():
        raise CalibrationError(
            f"{proposal!r} is not a calibration proposal (no {SUMMARY} in {path})"
        )
    return path


def read_summary(path: Path) -> dict:
    return json.loads((path / SUMMARY).read_text(encoding="utf-8"))


def _check_seed(name: str, current: pd.DataFrame, proposed: pd.DataFrame, path: Path):
    keys = SAME_ROWS.get(name)
    if list(current.columns) != list(proposed.columns) or (
        keys and not current[keys].equals(proposed[keys])
    ):
        raise CalibrationError(
            f"{path}: its rows or columns differ from the current {name}.csv (the seeds"
            " changed since this proposal was made); run calibrate again"
        )
    for column in ("points", "max_points", "min_value", "max_value"):
        if column not in proposed.columns:
            continue
        text = proposed[column]
        bad = pd.to_numeric(text, errors="coerce").isna() & ((text != "") | (column == "points"))
        if bad.any():
            raise CalibrationError(
                f"{path}: column {column} holds {text[bad].iloc[0]!r}, not a number"
            )


def apply_proposal(settings: Settings, proposal: str, force: bool = False) -> dict:
    """Copy a proposal's seeds and threshold into the dbt project; returns what changed."""
    path = resolve_proposal(settings, proposal)
    summary = read_summary(path)
    if summary.get("no_signal"):
        raise CalibrationError(
            f"{path}: the calibration found no signal in the outcomes (its scores rank leads no"
            " better than chance on the held-out leads); there is nothing to apply"
        )
    if summary.get("seed_rule_violations") and not force:
        broken = "; ".join(summary["seed_rule_violations"])
        raise CalibrationError(
            f"{path}: the proposal breaks seed rules ({broken}); edit its seeds or pass --force"
        )
    project = settings.dbt_project_dir
    seeds_dir = project / "seeds"
    backup = path / "replaced_seeds"
    for name in WEIGHT_SEEDS:
        source = path / "seeds" / f"{name}.csv"
        _check_seed(name, read_seed(seeds_dir / f"{name}.csv"), read_seed(source), source)
    backup.mkdir(exist_ok=True)
    for name in WEIGHT_SEEDS:
        shutil.copyfile(seeds_dir / f"{name}.csv", backup / f"{name}.csv")
        shutil.copyfile(path / "seeds" / f"{name}.csv", seeds_dir / f"{name}.csv")
    threshold = float(summary["proposed_threshold"])
    previous = set_var_default(project / "dbt_project.yml", THRESHOLD_VAR, threshold)
    floor = summary.get("proposed_score_floor")
    if floor != summary.get("current_score_floor"):
        set_var_default(project / "dbt_project.yml", FLOOR_VAR, floor)
    load_rules(project)  # the project still reads
    applied = {
        "applied_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "proposal": str(path),
        "previous_threshold": previous,
        "threshold": threshold,
        "score_floor": floor,
        "seeds": [str(seeds_dir / f"{name}.csv") for name in WEIGHT_SEEDS],
        "replaced_seeds": str(backup),
    }
    (path / APPLIED).write_text(json.dumps(applied, indent=2), encoding="utf-8")
    return applied
