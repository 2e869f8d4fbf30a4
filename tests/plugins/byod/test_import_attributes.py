"""`lead-scoring import`: extra export columns kept as lead / account attributes in the long
raw tables, ids from row positions (`row_ids`), and the mapping errors about both."""

import pytest

from lead_scoring.byod import ImportMappingError, load_mapping, run_import
from lead_scoring.warehouse import open_warehouse

# A snapshot export: one row per lead, aggregates and an outcome, no id and no dates.
BANK = """\
age;job;campaign;pdays;Lead Origin;y
30;admin.;1;-1;API;no
45;N/A;3;999;Landing Page Submission;yes

;blue-collar;2;5;;no
"""
LEADS = """\
  - file: bank.csv
    kind: leads
    csv: {delimiter: ";"}
    row_ids: hs_object_id
    constants: {createdate: "2010-01-01"}
    attributes: [age, job, campaign, pdays, Lead Origin]
    activity: [campaign, pdays]
    values:
      job: {"admin.": admin}
"""
OUTCOMES = """\
  - file: bank.csv
    kind: outcomes
    csv: {delimiter: ";"}
    row_ids: [hs_object_id, ls_contact_id]
    columns: {dealstage: y}
    constants: {createdate: "2010-01-01"}
    values:
      dealstage: {"yes": closedwon, "no": closedlost}
"""
ACCOUNTS_CSV = """\
Account ID,Name,Tech Stack,Segment
501,Initech,,SMB
502,Globex,,Enterprise
"""
ACCOUNTS = """\
  - file: accounts.csv
    kind: accounts
    columns: {hs_object_id: Account ID, name: Name}
    constants: {createdate: "2010-01-01"}
    attributes: {tech_stack: Tech Stack, segment_name: Segment}
    values:
      segment_name: {"smb": small_business}
"""
START = "2010-01-01T00:00:00.000Z"


def _mapping(folder, *entries: str):
    (folder / "bank.csv").write_text(BANK, encoding="utf-8")
    (folder / "accounts.csv").write_text(ACCOUNTS_CSV, encoding="utf-8")
    path = folder / "mapping.yml"
    path.write_text("tables:\n" + "".join(entries), encoding="utf-8")
    return path


def _rows(settings, table: str) -> set[tuple]:
    with open_warehouse(settings) as wh:
        df = wh.query_df(
            f"select hs_object_id, attribute, value, kind, valid_from from raw.{table}"
        )
    return set(df.itertuples(index=False, name=None))


def test_a_snapshot_export_feeds_leads_attributes_and_outcomes(settings, tmp_path):
    result = run_import(settings, _mapping(tmp_path, LEADS, OUTCOMES))
    assert result.rows == {"crm_contacts": 3, "crm_deals": 3, "crm_contact_attributes": 12}
    assert "raw.crm_company_attributes" in result.created_empty
    assert _rows(settings, "crm_contact_attributes") == {
        ("2", "age", "30", "fit", START),
        ("2", "job", "admin", "fit", START),  # value map, keyed by attribute name
        ("2", "campaign", "1", "pain", START),
        ("2", "pdays", "-1", "pain", START),
        ("2", "lead_origin", "API", "fit", START),  # "Lead Origin" in lower snake case
        ("3", "age", "45", "fit", START),  # job 'N/A': a placeholder, no row
        ("3", "campaign", "3", "pain", START),
        ("3", "pdays", "999", "pain", START),
        ("3", "lead_origin", "Landing Page Submission", "fit", START),
        ("5", "job", "blue-collar", "fit", START),  # line 5 (line 4 is blank)
        ("5", "campaign", "2", "pain", START),
        ("5", "pdays", "5", "pain", START),
    }
    with open_warehouse(settings) as wh:
        leads = wh.query_df("select hs_object_id, createdate from raw.crm_contacts order by 1")
        deals = wh.query_df(
            "select hs_object_id, ls_contact_id, dealstage from raw.crm_deals order by 1"
        )
    assert leads.values.tolist() == [["2", START], ["3", START], ["5", START]]
    assert deals.values.tolist() == [
        ["2", "2", "closedlost"],
        ["3", "3", "closedwon"],
        ["5", "5", "closedlost"],
    ]


def test_reimporting_attributes_changes_nothing(settings, tmp_path):
    path = _mapping(tmp_path, LEADS, ACCOUNTS)
    first = run_import(settings, path)
    before = {t: _rows(settings, t) for t in ("crm_contact_attributes", "crm_company_attributes")}
    again = run_import(settings, path)
    assert again.rows == first.rows
    assert {t: _rows(settings, t) for t in before} == before
    with open_warehouse(settings) as wh:
        assert wh.scalar("select count(*) from raw.crm_contact_attributes") == 12


def test_attributes_as_a_mapping_with_value_maps_and_an_empty_column(settings, tmp_path):
    result = run_import(settings, _mapping(tmp_path, LEADS, ACCOUNTS))
    assert _rows(settings, "crm_company_attributes") == {
        ("501", "segment_name", "small_business", "fit", START),  # valid from its creation
        ("502", "segment_name", "Enterprise", "fit", START),
    }
    accounts = (tmp_path / "accounts.csv").resolve()
    assert (f"{accounts}: column 'Tech Stack': empty in every row; attribute tech_stack gets no"
            " values") in result.warnings  # fmt: skip


def test_skipped_rows_give_no_attribute_rows(settings, tmp_path):
    (tmp_path / "visits.csv").write_text(
        "Lead ID,Created,Visits\n1,2026-01-05,3\n2,,4\n3,2026-01-07,5\n", encoding="utf-8"
    )
    path = _mapping(tmp_path, """\
  - file: visits.csv
    kind: leads
    columns: {hs_object_id: Lead ID, createdate: Created}
    skip_rows_missing: [createdate]
    attributes: [Visits]
    activity: [visits]
""")  # fmt: skip
    run_import(settings, path)
    assert _rows(settings, "crm_contact_attributes") == {
        ("1", "visits", "3", "pain", "2026-01-05T00:00:00.000Z"),
        ("3", "visits", "5", "pain", "2026-01-07T00:00:00.000Z"),
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (ACCOUNTS.replace("Segment}", "Segment, tier: Tier}"),
         r"accounts.csv: column 'Tier' not in the file \(columns: Account ID, Name, Tech Stack,"),
        (LEADS.replace("Lead Origin]", "Lead Origin, 1st Touch]"),
         r"mapping.yml: tables\[0\].attributes.1st_touch: attribute name '1st_touch' is not"
         r" lower snake case .* \(column '1st Touch'\)"),
        (ACCOUNTS.replace("segment_name:", "Segment Name:").replace("segment_name", "x"),
         r"tables\[0\].attributes.Segment Name: attribute name 'Segment Name' is not lower"
         r" snake case"),
        (LEADS.replace("Lead Origin]", "Lead Origin, Country Code]"),
         r"tables\[0\].attributes.country_code: attribute name 'country_code' is a built-in"
         r" attribute; choose another"),
        (LEADS.replace("Lead Origin]", "Lead Origin, LEAD ORIGIN]"),
         r"tables\[0\].attributes.lead_origin: columns 'Lead Origin' and 'LEAD ORIGIN' both give"
         r" attribute 'lead_origin'"),
        (LEADS.replace("[campaign, pdays]", "[campaign, visits]"),
         r"tables\[0\].activity: 'visits' is not one of the attributes \(age, job, campaign,"
         r" pdays, lead_origin\)"),
        (OUTCOMES + "    attributes: [age]\n",
         r"tables\[0\].attributes: only leads and accounts take attributes, not outcomes"),
        (OUTCOMES.replace("{dealstage: y}", "{dealstage: y, ls_contact_id: age}"),
         r"tables\[0\].row_ids: 'ls_contact_id' is also mapped under columns"),
    ],
)  # fmt: skip
def test_attribute_and_row_id_mistakes_name_the_entry(settings, tmp_path, entry, message):
    with pytest.raises(ImportMappingError, match=message):
        run_import(settings, _mapping(tmp_path, entry))


def test_row_ids_count_as_the_id_mapping(tmp_path):
    (table,) = load_mapping(_mapping(tmp_path, OUTCOMES))
    assert table.row_ids == ("hs_object_id", "ls_contact_id")
    assert table.attributes == {}
