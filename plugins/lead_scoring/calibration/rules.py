"""The scoring rules as the dbt project holds them: weight seeds (CSV) and threshold vars.

Seeds are read as text and written back column for column, so a proposed seed differs
from the current one only in the cells calibration changed (points and the cap).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from lead_scoring.calibration.config import CalibrationError
from lead_scoring.dbt_vars import DbtVarError, number_var, project_vars

WEIGHT_SEEDS = ("event_weights", "signal_rules")
THRESHOLD_VAR = "lead_scoring__sdr_ready_threshold"
FLOOR_VAR = "lead_scoring__score_floor"
GOOD_FIT_VAR = "lead_scoring__good_fit_threshold"
HIGH_PAIN_VAR = "lead_scoring__high_pain_threshold"
# Vars on the score's scale: a proposal whose threshold moves suggests them scaled alike.
SCALED_VARS = (
    GOOD_FIT_VAR,
    HIGH_PAIN_VAR,
    "lead_scoring__mql_score_threshold",
    "lead_scoring__account_sdr_ready_threshold",
)
EVENT_COLUMNS = ("event_type", "signal_category", "points", "half_life_days", "max_points")
SIGNAL_COLUMNS = ("signal", "attribute", "transform", "value", "min_value", "max_value", "kind",
                  "points", "reason_label")  # fmt: skip


@dataclass(frozen=True)
class Rules:
    """Weights (seed tables, all cells text as in the CSV) and the vars scoring reads."""

    event_weights: pd.DataFrame
    signal_rules: pd.DataFrame
    threshold: float
    score_floor: float | None
    good_fit_threshold: float
    high_pain_threshold: float
    # The threshold var as dbt_project.yml sets it: the scale the other score vars are on.
    var_threshold: float

    def quadrant_cutoffs(self, threshold: float) -> tuple[float, float]:
        """Good-fit and high-pain cut-offs for a model whose SDR-ready threshold is
        ``threshold``: the same fractions of it as the vars are of the threshold var."""
        scale = threshold / self.var_threshold if self.var_threshold else 1.0
        return self.good_fit_threshold * scale, self.high_pain_threshold * scale

    def with_threshold(self, threshold: float) -> Rules:
        return replace(self, threshold=threshold)

    def event_table(self) -> pd.DataFrame:
        """event_type, signal_category, points, half_life_days, max_points (numbers)."""
        table = self.event_weights[list(EVENT_COLUMNS)].copy()
        for column in ("points", "half_life_days", "max_points"):
            table[column] = pd.to_numeric(table[column].replace("", None), errors="raise")
        return table

    def with_floor(self, score_floor: float | None) -> Rules:
        return replace(self, score_floor=score_floor)

    def signal_table(self) -> pd.DataFrame:
        """The attribute signal rules with points, min_value and max_value as numbers (an
        empty bound: NaN); one row per rule row (an in-list has a row per value)."""
        table = self.signal_rules[list(SIGNAL_COLUMNS)].copy()
        for column in ("points", "min_value", "max_value"):
            table[column] = pd.to_numeric(table[column].replace("", None), errors="raise")
        return table


def read_seed(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise CalibrationError(f"seed file {path} does not exist")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_seed(table: pd.DataFrame, path: Path) -> None:
    """Write a seed as dbt reads it: a header, one row per rule, ``\\n`` line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(table.astype(str).itertuples(index=False, name=None))
    path.write_text(buffer.getvalue(), encoding="utf-8")


def load_rules(project_dir: Path, seeds_dir: Path | None = None) -> Rules:
    """The rules in force: seeds from ``seeds_dir`` (default the project's) and its vars."""
    seeds_dir = seeds_dir or project_dir / "seeds"
    try:
        vars_ = project_vars(project_dir)
        threshold = number_var(vars_, THRESHOLD_VAR, project_dir)
        score_floor = number_var(vars_, FLOOR_VAR, project_dir, optional=True)
        good_fit = number_var(vars_, GOOD_FIT_VAR, project_dir)
        high_pain = number_var(vars_, HIGH_PAIN_VAR, project_dir)
    except DbtVarError as exc:
        raise CalibrationError(str(exc)) from exc
    rules = Rules(
        event_weights=read_seed(seeds_dir / "event_weights.csv"),
        signal_rules=read_seed(seeds_dir / "signal_rules.csv"),
        threshold=threshold,
        score_floor=score_floor,
        good_fit_threshold=good_fit,
        high_pain_threshold=high_pain,
        var_threshold=threshold,
    )
    for name, table, columns in (("event_weights", rules.event_weights, EVENT_COLUMNS),
                                 ("signal_rules", rules.signal_rules, SIGNAL_COLUMNS)):  # fmt: skip
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise CalibrationError(f"{seeds_dir / (name + '.csv')}: missing column(s) {missing}")
    return rules


def set_var_default(project_file: Path, name: str, value: float | None) -> str:
    """Set a number var's default in dbt_project.yml (None: null); every other byte stays
    as it was. Returns the previous value (as written in the file)."""
    text = project_file.read_text(encoding="utf-8")
    pattern = re.compile(rf"^(\s*{name}:[ \t]*)([^\s#]+)", re.MULTILINE)
    matches = pattern.findall(text)
    if len(matches) != 1:
        raise CalibrationError(
            f"{project_file}: expected exactly one line '{name}: <number>', found {len(matches)}"
        )
    previous = matches[0][1]
    written = "null" if value is None else format_points(value)
    project_file.write_text(pattern.sub(lambda m: m.group(1) + written, text), encoding="utf-8")
    return previous


def format_points(value: float) -> str:
    """Whole numbers without a decimal point (as the seeds write them), else 2 decimals."""
    rounded = round(float(value), 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.2f}"
