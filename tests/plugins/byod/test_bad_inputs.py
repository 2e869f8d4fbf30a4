"""The bad-input corpus: each broken export gives one message naming the file (and the line or
row and the column where there is one), and a stopped run leaves nothing half-loaded."""

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from lead_scoring.byod.bad_inputs import (
    CASES,
    RAW_TABLES,
    corrupt_page,
    figures,
    pending_loads,
    raw_counts,
    scratch_settings,
    try_corpus,
    write_example,
)
from lead_scoring.cli import app

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("byod_bad_inputs")

MESSAGES = {  # case -> its message, from the file's name on
    "import_truncated_parquet": r"events\.parquet: not a readable Parquet file, truncated or"
                                r" corrupt \(Parquet magic bytes not found in footer",
    "import_corrupt_parquet": r"events\.parquet: not a readable Parquet file, truncated or"
                              r" corrupt \(Couldn't deserialize thrift",
    "import_truncated_csv": r"leads\.csv: line 4: 3 fields where the header has 4; the file"
                            r" ends inside this row: it looks truncated$",
    "import_unclosed_quote": r"leads\.csv: line 4: a quoted value starting on this line is"
                             r" never closed; the file looks truncated$",
    "import_unquoted_delimiter": r"leads\.csv: line 3: 5 fields where the header has 4; a value"
                                 r" holding ',' needs quotes$",
    "import_undecodable_byte": r"leads\.csv: line 3: byte 0x81 is neither UTF-8 nor cp1252",
    "import_cp1252_guessed": r"^read .*leads\.csv as cp1252 \(not valid UTF-8\); the first"
                             r" byte that is not UTF-8 \(0xed\) is on line 2$",
    "import_date_in_no_format": r"leads\.csv: line 4, column 'Created': not a date in any of the"
                                r" formats \['iso', '%d/%m/%Y'\]; add its format to"
                                r" date_formats \(sample value: 'the fourth'\)$",
    "import_date_in_no_format_parquet": r"events\.parquet: row 2, column 'at': not a date .*"
                                        r"\(sample value: 'yesterday'\)$",
    "import_required_value_missing": r"leads\.csv: line 3, column 'Lead ID': no usable value for"
                                     r" raw hs_object_id, which is required \(sample value:"
                                     r" 'N/A'\)$",
    "import_header_only_leads": r"leads\.csv: no data rows \(only a header\); the leads export"
                                r" is required, so nothing was imported$",
    "import_header_only_accounts": r"accounts\.csv: no data rows \(only a header\);"
                                   r" raw\.crm_companies gets no rows from it$",
    "import_empty_file": r"leads\.csv: the file is empty \(not even a header\)$",
    "extract_truncated_export": r"^marketing event export .*events_2099-01-01\.parquet: not a"
                                r" readable Parquet file, truncated or corrupt \(Parquet magic"
                                r" bytes not found .*\); nothing was loaded",
    "extract_corrupt_export": r"^marketing event export .*events_2099-01-02\.parquet: not a"
                              r" readable Parquet file, truncated or corrupt \(Couldn't"
                              r" deserialize thrift.*\); nothing was loaded",
    "extract_empty_export": r"^marketing event export .*events_2099-01-03\.parquet has no rows$",
}  # fmt: skip


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bad_inputs")
    return workdir, {outcome.case.name: outcome for outcome in try_corpus(workdir)}


def test_every_case_is_named_and_nothing_is_half_loaded(corpus):
    _, outcomes = corpus
    assert list(outcomes) == [case.name for case in CASES] and set(outcomes) == set(MESSAGES)
    not_named = {name: o.message for name, o in outcomes.items() if not o.named}
    assert not not_named
    assert figures(list(outcomes.values())) == {
        "bad_inputs_tried": len(CASES),
        "bad_inputs_named": len(CASES),
        "bad_inputs_half_loaded": 0,
    }


@pytest.mark.parametrize("name", list(MESSAGES))
def test_the_message_names_the_file_and_where_in_it(corpus, name):
    message = corpus[1][name].message
    assert "\n" not in message
    assert re.search(MESSAGES[name], message), message


def test_a_failed_extract_drops_what_it_extracted_and_the_next_run_loads_it(corpus):
    """The corrupt export stopped a run after it had extracted a new day of CRM and product
    rows; those were dropped (no pending package, state rewound) and the next run loaded
    every source row exactly once."""
    from lead_scoring.crm_sandbox.store import CrmStore

    workdir, _ = corpus
    settings = scratch_settings(workdir / "extract_home")
    counts = raw_counts(settings)
    app_events = pd.read_sql("select count(*) as n from app_events", settings.product_db)
    assert counts["product_events"] == app_events["n"].iat[0]
    exports = settings.marketing_exports_dir.glob("events_*.parquet")
    assert counts["marketing_events"] == sum(len(pd.read_parquet(f)) for f in exports)
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    try:
        assert counts["crm_contacts"] == store.count("contacts")
    finally:
        store.close()
    assert pending_loads(settings) == []


def test_import_cli_prints_one_line_and_exits_1(settings, tmp_path):
    folder = tmp_path / "example"
    mapping = write_example(folder)
    leads = folder / "leads.csv"
    leads.write_text(leads.read_text().replace("03/03/2026", "3rd of March"))
    result = CliRunner().invoke(app, ["import", "--mapping", str(mapping)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # no traceback
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("import: /")]
    assert errors == [
        f"import: {leads}: line 3, column 'Created': not a date in any of the formats"
        " ['iso', '%d/%m/%Y']; add its format to date_formats (sample value: '3rd of March')"
    ]


def test_extract_cli_names_a_corrupt_export_and_leaves_nothing_pending(
    simulated, sandbox, monkeypatch
):
    """The export's footer reads, its rows do not: the run fails after extracting the CRM and
    the product database, and drops all of it."""
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_URL", sandbox.hubspot_url)
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_TOKEN", sandbox.token)
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_MAX_RPS", "500")
    exports = simulated.marketing_exports_dir
    bad = exports / "events_2099-01-02.parquet"
    bad.write_bytes(corrupt_page(sorted(exports.glob("events_*.parquet"))[-1].read_bytes()))
    result = CliRunner().invoke(app, ["extract"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # no traceback
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: marketing event export {bad}: not a readable Parquet")
    assert "Couldn't deserialize thrift" in errors[0]  # read past the footer check
    assert pending_loads(simulated) == []
    assert raw_counts(simulated) == dict.fromkeys(RAW_TABLES)  # nothing in raw
