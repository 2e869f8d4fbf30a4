"""The ``realdata`` benchmark section: public marketing-conversion data sets imported with
their example mappings (docs/examples/realdata/) and run through the documented commands.

For each set, in a scratch home: ``lead-scoring import``, ``lead-scoring quality-check``,
``dbt build`` and ``lead-scoring calibrate`` as child processes, then the figures
(name=value lines): leads scored, the proposal's backtest AUCs, factors and no-signal
verdict, and a reference AUC of a plain logistic regression on the imported attributes,
fitted and tested on the same leads as the calibration's backtest.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lead_scoring.bench import bench_settings, emit
from lead_scoring.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

SETS = ("bank_marketing", "crm_sales_opportunities")
EXAMPLES_DIR = PROJECT_ROOT / "docs" / "examples" / "realdata"
MISSING = "(missing)"
TAIL_LINES = 30
SUMMARY_FILES = ("summary.json", "proposal.json")  # the proposal's summary, by either name
SUMMARY_KEYS = ("auc_proposed", "auc_challenger", "factors_kept", "no_signal")


def realdata_dir() -> Path:
    """Where the data sets are: LEAD_SCORING_REALDATA_DIR, else shared/realdata beside the
    repository. A set's files are in a folder named like the set with dashes."""
    configured = os.environ.get("LEAD_SCORING_REALDATA_DIR", "").strip()
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "realdata"


def bench_realdata(root: Path, sets: tuple[str, ...] = SETS) -> dict[str, dict]:
    """Run every set found; a set whose data is absent is skipped with a warning."""
    return {name: figures for name in sets if (figures := bench_realdata_set(name, root))}


def bench_realdata_set(name: str, root: Path) -> dict[str, float | int] | None:
    data = realdata_dir() / name.replace("_", "-")
    if not data.is_dir():
        log.warning("bench: realdata %s skipped: no data folder %s (set LEAD_SCORING_REALDATA_DIR)",
                    name, data)  # fmt: skip
        return None
    started = time.monotonic()
    home = root / name / "home"
    mapping = _stage_mapping(EXAMPLES_DIR / name / "mapping.yml", data, root / name / "files")
    env = os.environ | {
        "LEAD_SCORING_HOME": str(home), "LEAD_SCORING_WAREHOUSE": "duckdb",
        "LEAD_SCORING_DBT_TARGET": "duckdb", "DO_NOT_TRACK": "1",
    }  # fmt: skip
    today = datetime.now(UTC).date().isoformat()
    project = str(PROJECT_ROOT / "dbt_project")
    steps = [
        ["lead-scoring", "import", "--mapping", str(mapping)],
        ["lead-scoring", "quality-check", "--as-of", today, "--run-id", f"realdata__{name}"],
        ["dbt", "build", "--project-dir", project, "--profiles-dir", project,
         "--vars", json.dumps({"lead_scoring__as_of_date": today}),
         "--target-path", str(home / "dbt_target"), "--log-path", str(home / "dbt_logs")],
        ["lead-scoring", "calibrate"],
    ]  # fmt: skip
    for step in steps:
        if not _run(name, step, env):
            return None
    settings = bench_settings(home)
    try:
        proposal = _newest_proposal(home)
        summary_file = next((proposal / n for n in SUMMARY_FILES if (proposal / n).exists()),
                            proposal / SUMMARY_FILES[0])  # fmt: skip
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        split = pd.read_csv(proposal / "backtest_split.csv", dtype={"lead_id": str})
    except (OSError, IndexError, ValueError) as exc:
        log.warning("bench: realdata %s: no readable calibration proposal (%s)", name, exc)
        return None
    missing = [key for key in SUMMARY_KEYS if key not in summary]
    if missing:
        log.warning("bench: realdata %s: %s has no %s", name, summary_file,
                    ", ".join(missing))  # fmt: skip
        return None
    reference = reference_auc(settings, split)
    figures = {
        "leads_scored": _count(settings, "marts.lead_scores"),
        "points_auc": round(float(summary["auc_proposed"]), 4),
        "challenger_auc": round(float(summary["auc_challenger"]), 4),
        "reference_auc": round(reference, 4),
        "factors": int(summary["factors_kept"]),
        "no_signal": int(bool(summary["no_signal"])),
        "s": round(time.monotonic() - started, 1),
    }
    for figure, value in figures.items():
        emit(f"realdata_{name}_{figure}", value)
    return figures


def _stage_mapping(mapping: Path, data: Path, folder: Path) -> Path:
    """The mapping copied into ``folder`` with the data files linked beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(data.iterdir()):
        if path.is_file():
            (folder / path.name).symlink_to(path.resolve())
    return Path(shutil.copy(mapping, folder / mapping.name))


def _run(name: str, step: list[str], env: dict[str, str]) -> bool:
    """One documented command as a child process; a failure is logged with its output's tail."""
    command = [str(Path(sys.executable).with_name(step[0])), *step[1:]]
    log.info("bench: realdata %s: %s %s", name, step[0], step[1])
    started = time.monotonic()
    process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if process.returncode == 0:
        log.info("bench: realdata %s: %s %s done in %.0f s", name, step[0], step[1],
                 time.monotonic() - started)  # fmt: skip
        return True
    tail = (process.stderr.strip() or process.stdout.strip()).splitlines()[-TAIL_LINES:]
    log.warning("bench: realdata %s: %s %s failed (exit %s); the set stops here:\n%s",
                name, step[0], step[1], process.returncode, "\n".join(tail))  # fmt: skip
    return False


def _newest_proposal(home: Path) -> Path:
    proposals = sorted(p for p in (home / "calibration" / "proposals").iterdir() if p.is_dir())
    return proposals[-1]


def _count(settings, table: str) -> int:
    from lead_scoring.warehouse import open_warehouse

    with open_warehouse(settings, read_only=True) as wh:
        return int(wh.query_df(f"select count(*) as n from {table}")["n"].iloc[0])


# -- the reference: a plain logistic regression on the imported attributes ------------------
def reference_auc(settings, split: pd.DataFrame) -> float:
    """ROC AUC on the split's test leads of a logistic regression fitted on its train leads,
    with the custom attributes the import stored as features (docs/benchmarks.md)."""
    long = _attribute_values(settings, split["lead_id"])
    wide = reference_features(long, split["lead_id"], split["split"] == "train")
    return fit_reference(wide, split["is_won"].astype(int).to_numpy(),
                         (split["split"] == "train").to_numpy())  # fmt: skip


def _attribute_values(settings, lead_ids: pd.Series) -> pd.DataFrame:
    """(lead_id, attribute, attribute_value, value_number) as of the build, for the custom
    attributes: the contact attributes by name, the company ones as ``account.<name>``."""
    from lead_scoring.warehouse import open_warehouse

    with open_warehouse(settings, read_only=True) as wh:
        values = wh.query_df(
            "select lead_id, attribute, attribute_value, value_number"
            " from intermediate.int_lead_attributes_resolved"
            " where offset_days = 0 and attribute in ("
            "  select attribute from raw.crm_contact_attributes"
            "  union select 'account.' || attribute from raw.crm_company_attributes)"
        )
    values["lead_id"] = values["lead_id"].astype(str)
    return values[values["lead_id"].isin(set(lead_ids.astype(str)))]


def reference_features(
    long: pd.DataFrame, lead_ids: pd.Series, is_train: pd.Series
) -> pd.DataFrame:
    """One row per lead of ``lead_ids`` (in that order), one column per attribute. An
    attribute is numeric when every present value has a number, else categorical. A missing
    categorical is the level '(missing)'; a missing number the median of the train leads
    (``is_train``, aligned with ``lead_ids``). Attributes no lead has are left out."""
    long = long[long["attribute_value"].notna()]
    index = pd.Index(lead_ids.astype(str).to_list(), name="lead_id")
    train = pd.Series(is_train.to_numpy(), index=index)
    columns = {}
    for attribute, rows in long.groupby("attribute", sort=True):
        rows = rows.drop_duplicates("lead_id", keep="last").set_index("lead_id")
        if rows["value_number"].notna().all():
            column = rows["value_number"].astype(float).reindex(index)
            median = column[train].median()
            columns[attribute] = column.fillna(0.0 if pd.isna(median) else median)
        else:
            column = rows["attribute_value"].astype(str).reindex(index)
            columns[attribute] = column.fillna(MISSING)
    return pd.DataFrame(columns, index=index)


def fit_reference(wide: pd.DataFrame, is_won, is_train) -> float:
    """The reference pipeline (one-hot categoricals with min_frequency=20, standardised
    numbers, LogisticRegression(max_iter=2000)) fitted on the train rows; test ROC AUC."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in wide.columns if pd.api.types.is_numeric_dtype(wide[c])]
    categorical = [c for c in wide.columns if c not in numeric]
    model = Pipeline([
        ("features", ColumnTransformer([
            ("categorical", OneHotEncoder(min_frequency=20, handle_unknown="infrequent_if_exist"),
             categorical),
            ("numeric", StandardScaler(), numeric),
        ])),
        ("model", LogisticRegression(max_iter=2000)),
    ])  # fmt: skip
    test = ~is_train
    if wide.empty or len(set(is_won[is_train])) < 2 or len(set(is_won[test])) < 2:
        return float("nan")
    model.fit(wide[is_train], is_won[is_train])
    return float(roc_auc_score(is_won[test], model.predict_proba(wide[test])[:, 1]))
