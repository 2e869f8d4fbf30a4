"""`lead-scoring import`: local times around daylight-saving changes, and rows without a
required value (skipped with `skip_rows_missing`, else the import stops)."""

import pytest

from lead_scoring.byod import ImportMappingError, load_mapping, run_import
from lead_scoring.warehouse import open_warehouse

LEADS = """\
Lead ID,Email,Created
1,ana@initech.example,2026-03-08 01:59
2,bob@globex.example,2026-03-08 02:30
3,carla@umbrella.example,2026-11-01 01:30
4,dan@hooli.example,2026-11-01 02:30
"""


def _mapping(folder, leads, extra=""):
    (folder / "leads.csv").write_text(leads, encoding="utf-8")
    path = folder / "mapping.yml"
    path.write_text(
        "defaults:\n"
        "  timezone: America/New_York\n"
        "tables:\n"
        "  - file: leads.csv\n"
        "    kind: leads\n"
        "    columns: {hs_object_id: Lead ID, email: Email, createdate: Created}\n" + extra,
        encoding="utf-8",
    )
    return path


def _created(settings):
    with open_warehouse(settings) as wh:
        df = wh.query_df("select hs_object_id, createdate from raw.crm_contacts order by 1")
    return dict(zip(df["hs_object_id"], df["createdate"], strict=True))


def test_local_times_in_a_daylight_saving_gap_or_overlap(settings, tmp_path):
    run_import(settings, _mapping(tmp_path, LEADS))
    assert _created(settings) == {
        "1": "2026-03-08T06:59:00.000Z",  # 01:59 EST, just before the gap
        "2": "2026-03-08T07:30:00.000Z",  # 02:30 does not exist: 03:30 EDT
        "3": "2026-11-01T05:30:00.000Z",  # 01:30 happens twice: the first, EDT
        "4": "2026-11-01T07:30:00.000Z",  # 02:30 EST, after the repeated hour
    }


def test_an_unknown_time_zone_names_the_mapping(tmp_path):
    path = _mapping(tmp_path, LEADS)
    path.write_text(path.read_text().replace("America/New_York", "America/Gotham"))
    with pytest.raises(ImportMappingError, match=r"mapping.yml: defaults.timezone: unknown time"
                                                 r" zone 'America/Gotham'"):  # fmt: skip
        load_mapping(path)


MISSING = LEADS.replace("2,bob@globex.example,2026-03-08 02:30",
                        "2,bob@globex.example,N/A").replace("4,dan", ",dan")  # fmt: skip


def test_rows_without_a_required_value_stop_the_import(settings, tmp_path):
    with pytest.raises(
        ImportMappingError,
        match=r"leads.csv: line 5, column 'Lead ID': no usable value for raw hs_object_id",
    ):
        run_import(settings, _mapping(tmp_path, MISSING))


def test_rows_without_a_required_value_can_be_skipped(settings, tmp_path):
    path = _mapping(tmp_path, MISSING, "    skip_rows_missing: [hs_object_id, createdate]\n")
    result = run_import(settings, path)
    assert result.rows == {"crm_contacts": 2}
    assert sorted(_created(settings)) == ["1", "3"]
    leads = (tmp_path / "leads.csv").resolve()
    skipped = [w for w in result.warnings if "skip_rows_missing" in w]
    assert skipped == [
        f"{leads}: column 'Lead ID': 1 row(s) without a value for raw"
        " hs_object_id skipped (skip_rows_missing), the first on line 5",
        f"{leads}: column 'Created': 1 row(s) without a value for raw"
        " createdate skipped (skip_rows_missing), the first on line 3",
    ]


def test_only_required_columns_can_be_skipped_on(tmp_path):
    path = _mapping(tmp_path, LEADS, "    skip_rows_missing: [email]\n")
    with pytest.raises(ImportMappingError, match=r"tables\[0\].skip_rows_missing: 'email' is not"
                                                 r" a required column of leads"):  # fmt: skip
        load_mapping(path)


def test_skipping_every_lead_still_stops_the_import(settings, tmp_path):
    path = _mapping(tmp_path, "Lead ID,Email,Created\n,ana@initech.example,2026-03-02\n",
                    "    skip_rows_missing: hs_object_id\n")  # fmt: skip
    with pytest.raises(ImportMappingError, match=r"no data rows \(every row is empty or skipped\)"):
        run_import(settings, path)
