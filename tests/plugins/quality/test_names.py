"""Real names with apostrophes, hyphens, accents and non-Latin scripts pass the
placeholder-name rule (also as the e-mail's local part); placeholders still do not."""

import pandas as pd
import pytest
from quality_rows import AS_OF, company, contact, quality

from lead_scoring.quality.gate import run_quality_gate
from lead_scoring.quality.names import is_spelled_like_a_name, name_issues

# (first, last, e-mail local part): the local part is the name as people type it.
REAL = [
    ("Seán", "O'Brien", "o'brien"),
    ("Seán", "O'Brien", "sean.obrien"),
    ("Seán O'Brien", "", "sean"),
    ("Zoë", "Saint-Clair", "saint-clair"),
    ("Zoë", "Saint-Clair", "zoë"),
    ("José Ángel", "Núñez", "núñez"),
    ("D'Angelo", "Russell", "d'angelo"),
    ("Nguyễn Văn", "An", "an"),
    ("Nguyễn Văn An", "", "nguyen"),
    ("伟", "王", "王"),
    ("王伟", "", "wang.wei"),
    ("Алексей", "Смирнов", "смирнов"),
    ("محمد", "علي", "محمد"),
    ("O’Neil", "Hara", "o’neil"),
    ("Jean-Luc", "Picard-Martin", "jean-luc"),
    ("Ngũgĩ", "wa Thiong'o", "ngũgĩ"),
    ("अमित", "शर्मा", "अमित"),
    ("Se\u0301an", "O\u2019Brien", "se\u0301an"),  # decomposed accent, as macOS types it
]
# (first, last, local part, reason): what the rule caught before and must still catch.
FAKE = [
    ("test", "test", "", "placeholder"),
    ("Test", "User", "", "placeholder"),
    ("asdf", "asdf", "", "placeholder"),
    ("xxx", "", "", "placeholder"),
    ("N/A", "N/A", "", "placeholder"),
    ("n/a", "", "", "placeholder"),
    ("Demo", "User", "", "placeholder"),
    ("Dr. Test", "", "", "placeholder"),
    ("-", "-", "", "no_letters"),
    ("?", "", "", "no_letters"),
    ("sdfgh", "jkl", "", "keyboard_mash"),
    ("qwertyasdf", "", "", "keyboard_mash"),
    ("aaa", "bbb", "", "keyboard_mash"),
    ("Xkcdq", "Brown", "", "keyboard_mash"),
    ("Mickey", "Mouse", "", "celebrity"),
    ("John", "Doe", "", "celebrity"),
    ("jane", "R2D2", "", "digits"),
    ("jane@acme.com", "", "", "email"),
    ("j.smith", "Smith", "j.smith", "email_local_part"),
    ("jsmith_", "", "jsmith_", "email_local_part"),
    # Apostrophes and hyphens do not hide a placeholder or a mash.
    ("Te'st", "Us-er", "", "placeholder"),
    ("x-x-x", "", "", "placeholder"),
    ("a'a'a", "", "", "keyboard_mash"),
    ("O'Brien84", "", "", "digits"),
]


def _issues(rows) -> list:
    first, last, local = (pd.Series(column) for column in zip(*rows, strict=True))
    return [None if pd.isna(i) else i for i in name_issues(first, last, local)]


def test_real_names_pass():
    assert dict(zip(REAL, _issues(REAL), strict=True)) == dict.fromkeys(REAL)


def test_placeholders_are_still_caught():
    found = dict(zip(FAKE, _issues([row[:3] for row in FAKE]), strict=True))
    assert found == {row: row[3] for row in FAKE}


@pytest.mark.parametrize(
    ("local", "named"),
    [("o'brien", True), ("o’neil", True), ("saint-clair", True), ("zoë", True),
     ("王伟", True), ("अमित", True), ("j.smith", False), ("jsmith84", False),
     ("o'", False), ("-ann", False), ("ann--lee", False), ("", False)],
)  # fmt: skip
def test_spelled_like_a_name(local, named):
    assert is_spelled_like_a_name(local) is named


def test_gate_passes_real_names_and_quarantines_placeholders(settings, write_raw):
    real = [
        contact(100 + i, email=f"{local}@acme-robotics{i}.com", firstname=first, lastname=last)
        for i, (first, last, local) in enumerate(REAL)
    ]
    fake = [contact(200 + i, firstname=first, lastname=last)
            for i, (first, last, _, _) in enumerate(FAKE[:10])]  # fmt: skip
    write_raw(crm_contacts=real + fake, crm_companies=[company(900)])
    result = run_quality_gate(settings, "run-names", AS_OF)
    quarantined = quality(settings, "quarantine")
    assert set(quarantined["record_id"]) == {str(200 + i) for i in range(10)}
    assert set(quarantined["rule"]) == {"placeholder_name"}
    assert result.counts_by_rule == {"placeholder_name": 10}
