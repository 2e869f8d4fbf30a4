"""The bad-input corpus: export files broken the way real exports break, each tried against a
scratch home by ``lead-scoring import`` or ``lead-scoring extract``.

Every case must give one message naming the file, and the line (CSV) or row (Parquet) and the
column where there is one. A case that stops its run must leave nothing half-loaded: the raw
tables' row counts as before the attempt, no dlt load package pending. The corpus is written
from a tiny valid example (import) and the simulator's exports (extract), so it needs no files
of its own. ``lead-scoring bad-inputs`` prints ``bad_inputs_tried``, ``bad_inputs_named`` and
``bad_inputs_half_loaded`` (target: named = tried, half-loaded = 0).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lead_scoring.settings import Settings

RAW_TABLES = ("crm_contacts", "crm_companies", "crm_deals", "product_users", "product_events",
              "marketing_events", "crm_contact_attributes", "crm_company_attributes")  # fmt: skip
MAPPING = """\
defaults:
  date_formats: ["iso", "%d/%m/%Y"]
tables:
  - file: leads.csv
    kind: leads
    columns: {hs_object_id: Lead ID, email: Email, firstname: Name, createdate: Created}
  - file: accounts.csv
    kind: accounts
    columns: {hs_object_id: Account ID, name: Name, domain: Website}
    constants: {createdate: "2026-01-01"}
  - file: events.parquet
    kind: events
    columns: {contact_id: lead, event_type: action, occurred_at: at}
"""
LEADS = """\
Lead ID,Email,Name,Created
1,ana@initech.example,Ana,2026-03-02
2,bob@globex.example,Bob,03/03/2026
3,carla@umbrella.example,Carla,2026-03-04T10:00:00Z
"""
ACCOUNTS = "Account ID,Name,Website\n501,Initech,initech.example\n502,Globex,globex.example\n"
EVENTS = {"lead": ["1", "2", "3"], "action": ["demo_request", "pricing_page_view", "webinar"],
          "at": ["2026-03-05T10:00:00Z", "2026-03-06 11:00:00", "2026-03-07"]}  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    run: str  # "import" or "extract"
    file: str  # the file the message must name
    where: tuple[str, ...]  # what else it must hold: the line or row, the column, the value
    breaks: Callable[[Path], None]  # writes the bad file (into the case's folder)
    warns: bool = False  # a warning: the run goes on


@dataclass(frozen=True)
class Outcome:
    case: Case
    message: str  # the messages naming the file, one a line (else every message of the run)
    named: bool
    half_loaded: bool


def write_example(folder: Path) -> Path:
    """A tiny valid import: leads and accounts (CSV), events (Parquet) and their mapping."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_text(LEADS, encoding="utf-8")
    (folder / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    pd.DataFrame(EVENTS).to_parquet(folder / "events.parquet", index=False)
    (folder / "mapping.yml").write_text(MAPPING, encoding="utf-8")
    return folder / "mapping.yml"


def _edit(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def breaks(folder: Path) -> None:
        path = folder / name
        path.write_bytes(change(path.read_bytes()))

    return breaks


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def corrupt_page(data: bytes) -> bytes:
    """The first page header overwritten: the footer still reads, the rows do not."""
    return data[:4] + b"\xff" * 36 + data[40:]


def _bad_event_date(folder: Path) -> None:
    events = pd.DataFrame(EVENTS)
    events.loc[1, "at"] = "yesterday"
    events.to_parquet(folder / "events.parquet", index=False)


def _export(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """A new marketing export ``name``: the newest export, changed."""

    def breaks(exports_dir: Path) -> None:
        newest = sorted(exports_dir.glob("events_*.parquet"))[-1]
        (exports_dir / name).write_bytes(change(newest.read_bytes()))

    return breaks


def _empty_export(name: str) -> Callable[[Path], None]:
    def breaks(exports_dir: Path) -> None:
        newest = sorted(exports_dir.glob("events_*.parquet"))[-1]
        pd.read_parquet(newest).head(0).to_parquet(exports_dir / name, index=False)

    return breaks


CASES = (
    Case("import_truncated_parquet", "import", "events.parquet", (),
         _edit("events.parquet", truncated)),
    Case("import_corrupt_parquet", "import", "events.parquet", (),
         _edit("events.parquet", corrupt_page)),
    Case("import_truncated_csv", "import", "leads.csv", ("line 4", "truncated"),
         _edit("leads.csv", lambda d: d[: d.index(b",Carla") + 3])),
    Case("import_unclosed_quote", "import", "leads.csv", ("line 4",),
         _edit("leads.csv", lambda d: d.replace(b"3,carla", b'3,"carla'))),
    Case("import_unquoted_delimiter", "import", "leads.csv", ("line 3",),
         _edit("leads.csv", lambda d: d.replace(b",Bob,", b",Bob, Jr.,"))),
    Case("import_undecodable_byte", "import", "leads.csv", ("line 3",),
         _edit("leads.csv", lambda d: d.replace(b"Bob", b"B\x81b"))),
    Case("import_cp1252_guessed", "import", "leads.csv", ("as cp1252 (not valid UTF-8)", "line 2"),
         _edit("leads.csv", lambda d: d.replace(b"Ana", b"Ana Mar\xeda")), warns=True),
    Case("import_date_in_no_format", "import", "leads.csv",
         ("line 4", "column 'Created'", "'the fourth'"),
         _edit("leads.csv", lambda d: d.replace(b"2026-03-04T10:00:00Z", b"the fourth"))),
    Case("import_date_in_no_format_parquet", "import", "events.parquet",
         ("row 2", "column 'at'", "'yesterday'"), _bad_event_date),
    Case("import_required_value_missing", "import", "leads.csv", ("line 3", "column 'Lead ID'"),
         _edit("leads.csv", lambda d: d.replace(b"2,bob", b"N/A,bob"))),
    Case("import_header_only_leads", "import", "leads.csv", ("no data rows",),
         _edit("leads.csv", lambda d: d.splitlines(keepends=True)[0])),
    Case("import_header_only_accounts", "import", "accounts.csv", ("no data rows",),
         _edit("accounts.csv", lambda d: d.splitlines(keepends=True)[0]), warns=True),
    Case("import_empty_file", "import", "leads.csv", ("empty",), _edit("leads.csv", lambda d: b"")),
    Case("extract_truncated_export", "extract", "events_2099-01-01.parquet", (),
         _export("events_2099-01-01.parquet", truncated)),
    Case("extract_corrupt_export", "extract", "events_2099-01-02.parquet", (),
         _export("events_2099-01-02.parquet", corrupt_page)),
    Case("extract_empty_export", "extract", "events_2099-01-03.parquet", ("no rows",),
         _empty_export("events_2099-01-03.parquet"), warns=True),
)  # fmt: skip


def scratch_settings(home: Path) -> Settings:
    """A home of its own: DuckDB warehouse and SQLite product database inside it."""
    return Settings(home=home, warehouse="duckdb", warehouse_url=None, product_db_url=None)


def raw_counts(settings: Settings) -> dict[str, int | None]:
    """Rows in each raw table (None: no such table)."""
    from lead_scoring.warehouse import open_warehouse

    with open_warehouse(settings) as wh:
        tables = wh.query_df(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )["table_name"]
        present = [t for t in RAW_TABLES if t in set(tables)]
        if not present:
            return dict.fromkeys(RAW_TABLES)
        counts = wh.query_df(" union all ".join(
            f"select '{t}' as name, count(*) as n from raw.{t}" for t in present
        ))  # fmt: skip
    found = dict(zip(counts["name"], counts["n"].astype(int), strict=True))
    return {table: found.get(table) for table in RAW_TABLES}


def pending_loads(settings: Settings) -> list[str]:
    """What the import's and the extract's dlt pipelines hold that is not loaded: pending
    load packages and folders a failed extract left behind."""
    from lead_scoring.byod.load import PIPELINE_NAME as IMPORT
    from lead_scoring.sources.extract import PIPELINE_NAME as EXTRACT
    from lead_scoring.sources.extract import abandoned_extracts, pending_packages, pipeline

    pending = []
    for name in (IMPORT, EXTRACT):
        if (settings.home / ".dlt" / name).exists():
            pipe = pipeline(settings, name)
            pending += [*pending_packages(pipe), *map(str, abandoned_extracts(pipe))]
    return pending


def _outcome(case: Case, messages: list[str], failed: bool, half_loaded: bool,
             clear: bool = True) -> Outcome:  # fmt: skip
    """``clear``: the product's own error (not an unexpected exception) or warnings."""
    mine = [m for m in messages if case.file in m]
    named = (
        clear
        and len(mine) == 1
        and "\n" not in mine[0]
        and failed != case.warns
        and all(part in mine[0] for part in case.where)
    )
    return Outcome(case, "\n".join(mine or messages), named, half_loaded)


def _try_import(case: Case, settings: Settings, example: Path, folder: Path) -> Outcome:
    from lead_scoring.byod import ImportMappingError, run_import

    shutil.copytree(example, folder)
    case.breaks(folder)
    before, clear = raw_counts(settings), True
    try:
        messages, failed = run_import(settings, folder / "mapping.yml").warnings, False
    except ImportMappingError as exc:
        messages, failed = [str(exc)], True
    except Exception as exc:  # not the product's message: never counts as named
        messages, failed, clear = [f"unexpected {type(exc).__name__}: {exc}"], True, False
    half_loaded = failed and (raw_counts(settings) != before or bool(pending_loads(settings)))
    return _outcome(case, messages, failed, half_loaded, clear)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _try_extract(case: Case, settings: Settings, source) -> Outcome:
    from lead_scoring.sources.errors import SourceUnavailable
    from lead_scoring.sources.extract import extract

    case.breaks(settings.marketing_exports_dir)
    before, clear = raw_counts(settings), True
    collect = _Collect()
    logger = logging.getLogger("lead_scoring.sources.marketing")
    logger.addHandler(collect)
    try:
        extract(settings, source)
        messages, failed = collect.messages, False
    except SourceUnavailable as exc:
        messages, failed = [str(exc)], True
    except Exception as exc:  # not the product's message: never counts as named
        messages, failed, clear = [f"unexpected {type(exc).__name__}: {exc}"], True, False
    finally:
        logger.removeHandler(collect)
        (settings.marketing_exports_dir / case.file).unlink(missing_ok=True)
    half_loaded = failed and (raw_counts(settings) != before or bool(pending_loads(settings)))
    return _outcome(case, messages, failed, half_loaded, clear)


def try_corpus(workdir: Path, cases: tuple[Case, ...] = CASES) -> list[Outcome]:
    """Every case against scratch homes under ``workdir``: one for the imports (after a
    valid import), one for the extracts (a small simulation, after a first extract)."""
    from lead_scoring.byod import run_import

    outcomes = []
    imports = [c for c in cases if c.run == "import"]
    if imports:
        settings = scratch_settings(workdir / "import_home")
        example = workdir / "example"
        run_import(settings, write_example(example))
        outcomes += [_try_import(c, settings, example, workdir / c.name) for c in imports]
    extracts = [c for c in cases if c.run == "extract"]
    if extracts:
        from lead_scoring.crm_sandbox import start_sandbox
        from lead_scoring.simulator import simulate, simulate_next_day
        from lead_scoring.sources.extract import CrmSource, extract

        settings = scratch_settings(workdir / "extract_home")
        simulate(settings, leads=40, accounts=10, events=400, days=5, seed=7)
        with start_sandbox(
            settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10_000
        ) as sb:
            source = CrmSource(sb.hubspot_url, sb.token, max_requests_per_second=500)
            extract(settings, source)
            simulate_next_day(settings)  # new rows that a half-done run could leave in raw
            outcomes += [_try_extract(c, settings, source) for c in extracts]
    return outcomes


def figures(outcomes: list[Outcome]) -> dict[str, int]:
    return {
        "bad_inputs_tried": len(outcomes),
        "bad_inputs_named": sum(o.named for o in outcomes),
        "bad_inputs_half_loaded": sum(o.half_loaded for o in outcomes),
    }


def run_bad_input_corpus(
    report: Callable[[str], None] | None = None, echo: Callable[[str], None] = print
) -> dict[str, int]:
    """Try the corpus in a temporary folder; ``echo`` the figures as name=value lines and
    ``report`` one line per case."""
    with tempfile.TemporaryDirectory(prefix="lead-scoring-bad-inputs-") as workdir:
        outcomes = try_corpus(Path(workdir))
    for o in outcomes if report else ():
        state = ("named" if o.named else "NOT NAMED") + (", HALF-LOADED" if o.half_loaded else "")
        report(f"{o.case.name}: {state}: {o.message or '(no message)'}")
    result = figures(outcomes)
    for name, value in result.items():
        echo(f"{name}={value}")
    return result
