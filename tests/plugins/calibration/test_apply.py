"""`calibration-apply`: seeds copied, only the threshold line of dbt_project.yml edited,
and the model_version the dbt models derive changes."""

import json
import shutil
from dataclasses import replace
from datetime import date

import pytest

from lead_scoring.bench import run_dbt
from lead_scoring.calibration import CalibrationConfig, CalibrationError, apply_proposal
from lead_scoring.calibration.rules import FLOOR_VAR, THRESHOLD_VAR
from lead_scoring.calibration.run import run_calibration
from lead_scoring.warehouse import open_warehouse

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("calibration")


def _model_version(settings) -> str:
    as_of = date(2026, 6, 1)  # any date: model_version depends on the rules only
    run_dbt(settings, as_of, "build", "--select", "+int_scoring_rules_versioned",
            "--exclude-resource-type", "test")  # fmt: skip
    with open_warehouse(settings) as wh:
        return wh.scalar("select model_version from intermediate.int_scoring_rules_versioned")


@pytest.fixture
def project_copy(scored_home, tmp_path):
    """A copy of the dbt project and a home holding the scored warehouse."""
    project = tmp_path / "dbt_project"
    shutil.copytree(scored_home.dbt_project_dir, project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(scored_home.warehouse_path, home / "warehouse.duckdb")
    return replace(scored_home, home=home, dbt_project_dir=project)


def test_apply_copies_seeds_sets_threshold_and_changes_model_version(project_copy, tmp_path):
    settings = project_copy
    version_home = replace(settings, home=tmp_path / "versions")
    version_home.home.mkdir()
    before = _model_version(version_home)
    project_file = settings.dbt_project_dir / "dbt_project.yml"
    original = project_file.read_text()
    result = run_calibration(settings, CalibrationConfig())
    assert project_file.read_text() == original, "calibrate alone changes nothing"

    applied = apply_proposal(settings, result.proposal_dir.name)
    for name in ("event_weights", "signal_rules"):
        assert (settings.dbt_project_dir / "seeds" / f"{name}.csv").read_bytes() == (
            result.proposal_dir / "seeds" / f"{name}.csv"
        ).read_bytes()
        assert (result.proposal_dir / "replaced_seeds" / f"{name}.csv").exists()
    old_lines, new_lines = original.splitlines(True), project_file.read_text().splitlines(True)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=False) if a != b]
    floor = result.summary["proposed_score_floor"]
    expected = [f"  {THRESHOLD_VAR}: {result.summary['proposed_threshold']:g}\n"]
    if floor != result.summary["current_score_floor"]:  # the proposal drops the floor
        expected.append(f"  {FLOOR_VAR}: null\n")
    assert len(old_lines) == len(new_lines) and [new for _, new in changed] == expected
    assert applied["previous_threshold"] == "100"
    assert _model_version(version_home) != before


def test_apply_refuses_stale_or_unknown_proposals(project_copy):
    settings = project_copy
    run_calibration(settings, CalibrationConfig())
    project_file = settings.dbt_project_dir / "dbt_project.yml"
    original = project_file.read_text()
    with pytest.raises(CalibrationError, match="is not a calibration proposal"):
        apply_proposal(settings, "20990101T000000Z")
    seeds = settings.dbt_project_dir / "seeds" / "event_weights.csv"
    seeds.write_text(seeds.read_text() + "chat_started,marketing,marketing_engagement,5,14,10,,,"
                     "started a chat\n")  # fmt: skip
    with pytest.raises(CalibrationError, match="differ from the current event_weights.csv"):
        apply_proposal(settings, "latest")
    assert project_file.read_text() == original


def test_a_proposal_without_signal_is_never_applied(project_copy):
    settings = project_copy
    result = run_calibration(settings, CalibrationConfig())
    summary_file = result.proposal_dir / "proposal.json"
    summary = json.loads(summary_file.read_text())
    summary_file.write_text(json.dumps({**summary, "no_signal": True}))
    seeds = (settings.dbt_project_dir / "seeds" / "signal_rules.csv").read_bytes()
    with pytest.raises(CalibrationError, match="no signal"):
        apply_proposal(settings, "latest")
    assert (settings.dbt_project_dir / "seeds" / "signal_rules.csv").read_bytes() == seeds
