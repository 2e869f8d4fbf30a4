"""One typed settings object, read from the environment.

Every path defaults to a folder under ``LEAD_SCORING_HOME`` (``./data``), so the
embedded default needs no server: a DuckDB warehouse file, source files and a
local CRM sandbox.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The variables listing the extra CRM properties the extract keeps as attributes, per object.
ATTRIBUTE_ENV = {
    "contacts": "LEAD_SCORING_CONTACT_ATTRIBUTES",
    "companies": "LEAD_SCORING_COMPANY_ATTRIBUTES",
}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _attributes(object_type: str) -> dict[str, str]:
    """The CRM properties listed as attributes: ``lifecyclestage,num_visits:pain`` ->
    ``{"lifecyclestage": "fit", "num_visits": "pain"}`` (the extract checks the names)."""
    listed = {}
    for item in (_env(ATTRIBUTE_ENV[object_type]) or "").split(","):
        prop, _, kind = item.partition(":")
        if prop.strip():
            listed[prop.strip()] = kind.strip().lower() or "fit"
    return listed


def _retention_days(name: str) -> int | None:
    """A number of days from ``name``, or None when unset (keep everything)."""
    raw = _env(name)
    if raw is None:
        return None
    try:
        days = int(raw.strip())
    except ValueError:
        days = 0
    if days < 1:
        raise ValueError(f"{name}={raw!r}: expected a whole number of days (1 or more), or unset")
    return days


def redact_url(url: str | None) -> str | None:
    """``url`` with its password shown as ``***``, for reprs and logs."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
    except ValueError:
        return "<unparsable URL>"
    if not has_password:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path(_env("LEAD_SCORING_HOME", "data")).resolve())
    # Warehouse: "duckdb" (default, a file), "postgres" (WAREHOUSE_URL) or "spark" (a local
    # Spark, or a Spark Thrift server at WAREHOUSE_URL hive://host:port).
    warehouse: str = field(default_factory=lambda: _env("LEAD_SCORING_WAREHOUSE", "duckdb"))
    warehouse_url: str | None = field(default_factory=lambda: _env("LEAD_SCORING_WAREHOUSE_URL"))
    # The product database: a PostgreSQL URL, or a local SQLite file when unset.
    product_db_url: str | None = field(default_factory=lambda: _env("LEAD_SCORING_PRODUCT_DB_URL"))
    dbt_project_dir: Path = PROJECT_ROOT / "dbt_project"
    # Extra CRM properties the extract keeps as attributes: object type -> property -> kind
    # (fit, or pain for activity aggregates).
    crm_attributes: dict[str, dict[str, str]] = field(
        default_factory=lambda: {kind: _attributes(kind) for kind in ATTRIBUTE_ENV}
    )
    # Raw history kept this many days (superseded versions, old events), unset: all
    # (lead_scoring.privacy.retention, docs/privacy.md).
    raw_retention_days: int | None = field(
        default_factory=lambda: _retention_days("LEAD_SCORING_RAW_RETENTION_DAYS")
    )

    def __repr__(self) -> str:
        """The fields, with the database URLs' passwords masked."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("warehouse_url", "product_db_url"):
            shown[name] = redact_url(shown[name])
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def spark_thrift(self) -> bool:
        """A Spark warehouse reached through a Thrift server (a cluster), not in-process."""
        return self.warehouse == "spark" and bool(self.warehouse_url)

    @property
    def dbt_target(self) -> str:
        """The dbt_project/profiles.yml target of this warehouse (``LEAD_SCORING_DBT_TARGET``
        overrides it): ``spark_thrift`` for a Spark Thrift server, else the warehouse kind."""
        default = "spark_thrift" if self.spark_thrift else self.warehouse
        return _env("LEAD_SCORING_DBT_TARGET", default)

    @property
    def sources_dir(self) -> Path:
        return self.home / "sources"

    @property
    def marketing_exports_dir(self) -> Path:
        return self.sources_dir / "marketing_events"

    @property
    def truth_dir(self) -> Path:
        return self.sources_dir / "truth"

    @property
    def product_db(self) -> str:
        return self.product_db_url or f"sqlite:///{self.sources_dir / 'product.db'}"

    @property
    def crm_sandbox_dir(self) -> Path:
        return self.home / "crm_sandbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def get_settings() -> Settings:
    return Settings()
