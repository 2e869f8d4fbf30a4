"""Bring your own data: lead, account, event and outcome exports (CSV / Parquet) into the
``raw`` schema through a column-mapping YAML (see docs/import.md)."""

from lead_scoring.byod.load import ImportResult, run_import
from lead_scoring.byod.mapping import ImportMappingError, load_mapping

__all__ = ["ImportMappingError", "ImportResult", "load_mapping", "run_import"]
