"""Extra lead and account attributes ("any field is a signal"): the long raw tables.

Beside the contract's named columns, contacts and companies carry any number of extra
attributes (custom CRM properties, extra columns of an import), one row per record,
attribute and version in ``raw.crm_contact_attributes`` / ``raw.crm_company_attributes``,
so a new property needs no schema change. Every column is text:

* ``hs_object_id``: the contact's / company's id;
* ``attribute``: the name, lower snake case;
* ``value``: the value as read (empty values are not written);
* ``kind``: ``pain`` for activity aggregates, else ``fit``;
* ``valid_from``: the record's ``lastmodifieddate`` (else ``createdate``) as the CRM writes
  it; empty when unknown, meaning "known from the start".

Rows merge on (hs_object_id, attribute, valid_from).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TABLES = {"contacts": "crm_contact_attributes", "companies": "crm_company_attributes"}
COLUMNS = ("hs_object_id", "attribute", "value", "kind", "valid_from")
KEY = ("hs_object_id", "attribute", "valid_from")
FIT, PAIN = "fit", "pain"
NAME = re.compile(r"[a-z][a-z0-9_]*")
# The attributes the scoring derives itself: a user's attribute may not take their names.
BUILT_IN = ("email_type", "seniority", "persona", "target_account", "country_tier",
            "company_size", "industry", "bant_budget", "bant_authority", "bant_need",
            "bant_timeline", "negative_domain", "lead_source", "country_code",
            "employee_count", "annual_revenue")  # fmt: skip


def snake_case(column: str) -> str:
    """An export column's name as an attribute name: "Lead Origin" -> "lead_origin"."""
    return re.sub(r"[^0-9a-z]+", "_", column.strip().lower()).strip("_")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an attribute name, or None."""
    if not NAME.fullmatch(name):
        return (f"attribute name {name!r} is not lower snake case (lower-case letters, digits"
                " and _, starting with a letter)")  # fmt: skip
    if name in BUILT_IN:
        return (f"attribute name {name!r} is a built-in attribute; choose another (built-in:"
                f" {', '.join(BUILT_IN)})")  # fmt: skip
    return None


def long_rows(
    ids: pd.Series, valid_from: pd.Series, values: pd.DataFrame, activity: Collection[str]
) -> pd.DataFrame:
    """One row per record and attribute with a value. ``values``: one text column per
    attribute (missing or '' for no value), aligned with ``ids`` and ``valid_from``."""
    import pandas as pd

    index = pd.MultiIndex.from_arrays(
        [ids.to_numpy(), valid_from.fillna("").to_numpy()], names=["hs_object_id", "valid_from"]
    )
    wide = values.set_axis(index).rename_axis(columns="attribute")
    rows = wide.stack(future_stack=True).rename("value").reset_index()
    rows = rows[rows["value"].fillna("").astype("string").str.strip() != ""]
    rows = rows.assign(kind=rows["attribute"].map(lambda a: PAIN if a in activity else FIT))
    return rows[list(COLUMNS)].astype("string").reset_index(drop=True)


def column_hints() -> dict:
    """dlt column hints: every column text (as the other CRM raw tables)."""
    return {name: {"data_type": "text", "nullable": True} for name in COLUMNS}
