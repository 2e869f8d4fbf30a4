"""The dbt project's vars as ``dbt_project.yml`` sets them, for the Python code that must
agree with the models (calibration, the CRM sync)."""

from __future__ import annotations

from pathlib import Path

import yaml


class DbtVarError(ValueError):
    """``dbt_project.yml`` is missing, or one of its vars has a value the code cannot use."""


def project_vars(project_dir: Path) -> dict:
    path = project_dir / "dbt_project.yml"
    if not path.exists():
        raise DbtVarError(f"dbt project file {path} does not exist")
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {}


def number_var(vars_: dict, name: str, project_dir: Path, optional: bool = False) -> float | None:
    """The number var ``name`` of ``vars_`` (read from ``project_dir``); None when it is
    absent or null and ``optional``."""
    value = vars_.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DbtVarError(
            f"{project_dir / 'dbt_project.yml'}: var {name} must be a number, got {value!r}"
        )
    return float(value)
