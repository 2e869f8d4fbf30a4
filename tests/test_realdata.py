"""The ``realdata`` bench section on the bank sample, and its reference feature builder."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd

from lead_scoring.byod.bench import (
    EXAMPLES_DIR,
    MISSING,
    bench_realdata,
    fit_reference,
    reference_features,
)

BANK_SAMPLE = EXAMPLES_DIR / "bank_marketing" / "bank-sample.csv"
FIGURES = ("leads_scored", "points_auc", "challenger_auc", "reference_auc", "factors",
           "no_signal", "s")  # fmt: skip


def _long(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["lead_id", "attribute", "attribute_value", "value_number"])


def test_numbers_are_numeric_and_a_missing_one_is_the_train_median():
    long = _long([("1", "age", "30", 30.0), ("2", "age", "50", 50.0), ("3", "age", "90", 90.0)])
    leads = pd.Series(["1", "2", "3", "4"])
    wide = reference_features(long, leads, pd.Series([True, True, False, True]))
    assert list(wide.columns) == ["age"]
    assert pd.api.types.is_float_dtype(wide["age"])
    assert wide["age"].tolist() == [30.0, 50.0, 90.0, 40.0]  # 40: median of the train leads


def test_one_value_without_a_number_makes_the_attribute_categorical():
    long = _long([("1", "size", "10", 10.0), ("2", "size", "10-50", None),
                  ("1", "job", "admin.", None)])  # fmt: skip
    wide = reference_features(long, pd.Series(["1", "2", "3"]), pd.Series([True, True, False]))
    assert sorted(wide.columns) == ["job", "size"]
    assert wide.loc["1", "size"] == "10" and wide.loc["2", "size"] == "10-50"
    assert wide.loc["3", "size"] == MISSING
    assert wide["job"].tolist() == ["admin.", MISSING, MISSING]


def test_empty_values_are_missing_and_attributes_nobody_has_are_left_out():
    long = _long([("1", "account.sector", "retail", None), ("2", "account.sector", None, None),
                  ("1", "loan", None, None), ("2", "balance", "-5", -5.0)])  # fmt: skip
    wide = reference_features(long, pd.Series(["2", "1"]), pd.Series([True, True]))
    assert sorted(wide.columns) == ["account.sector", "balance"]
    assert wide.index.tolist() == ["2", "1"]
    assert wide["account.sector"].tolist() == [MISSING, "retail"]
    assert wide["balance"].tolist() == [-5.0, -5.0]


def test_a_numeric_attribute_without_any_train_value_gets_zero():
    long = _long([("3", "pdays", "7", 7.0)])
    wide = reference_features(long, pd.Series(["1", "2", "3"]), pd.Series([True, True, False]))
    assert wide["pdays"].tolist() == [0.0, 0.0, 7.0]


def test_the_reference_fits_categoricals_and_numbers():
    rng = np.random.default_rng(1)
    n = 600
    level = rng.choice(["a", "b", "c"], n)
    amount = rng.normal(size=n)
    is_won = (rng.random(n) < np.where(level == "a", 0.6, 0.2) + 0.1 * (amount > 0)).astype(int)
    wide = pd.DataFrame({"level": level, "amount": amount})
    auc = fit_reference(wide, is_won, np.arange(n) < 400)
    assert 0.6 < auc < 1.0
    assert math.isnan(fit_reference(wide, np.zeros(n, dtype=int), np.arange(n) < 400))


def test_the_bank_sample_goes_through_the_section(tmp_path, monkeypatch, capsys):
    data = tmp_path / "realdata" / "bank-marketing"
    data.mkdir(parents=True)
    shutil.copy(BANK_SAMPLE, data / "bank-full.csv")
    monkeypatch.setenv("LEAD_SCORING_REALDATA_DIR", str(tmp_path / "realdata"))
    rows = len(BANK_SAMPLE.read_bytes().splitlines()) - 1

    result = bench_realdata(tmp_path / "bench", sets=("bank_marketing",))

    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines()
                   if line.startswith("realdata_"))  # fmt: skip
    assert set(printed) == {f"realdata_bank_marketing_{name}" for name in FIGURES}
    figures = result["bank_marketing"]
    assert figures["leads_scored"] == rows == 3014
    assert 0 < figures["factors"] <= 20
    assert 0.5 < figures["points_auc"] <= 1 and 0.5 < figures["challenger_auc"] <= 1
    assert figures["reference_auc"] > 0.6
    assert figures["no_signal"] == 0


def test_a_set_without_its_data_prints_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEAD_SCORING_REALDATA_DIR", str(tmp_path / "nowhere"))
    assert bench_realdata(tmp_path / "bench") == {}
    assert capsys.readouterr().out == ""


def test_a_failing_step_stops_its_set_with_the_output_tail(tmp_path, monkeypatch, capsys, caplog):
    (tmp_path / "realdata" / "bank-marketing").mkdir(parents=True)  # no bank-full.csv
    monkeypatch.setenv("LEAD_SCORING_REALDATA_DIR", str(tmp_path / "realdata"))
    assert bench_realdata(tmp_path / "bench", sets=("bank_marketing",)) == {}
    assert capsys.readouterr().out == ""
    assert "lead-scoring import failed (exit 1)" in caplog.text
    assert "bank-full.csv" in caplog.text
