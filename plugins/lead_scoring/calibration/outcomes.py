"""Won/lost outcomes and the point in time each lead is judged at.

A lead is *decided* as of a date when its outcome is known by then:

* it reached SQL (its first deal was created) and every deal is closed: **won** if any deal
  was won, otherwise **lost**. Its decision date is the SQL date;
* it never reached SQL although ``decision_window_days`` have passed since it was created:
  **not won** (the funnel lost it). Its decision date is the end of that window.

Leads with an open deal, or too young to judge, are left out. Each decided lead is scored
as of ``score_date``, the day before its decision date, exactly as the nightly run would
have scored it that night: no event on or after the decision day counts, so nothing that
happened later (a customer using the product after the sale) leaks into the past.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

WON, LOST = "closedwon", "closedlost"


def decided_leads(
    leads: pd.DataFrame,
    deals: pd.DataFrame,
    as_of: date,
    decision_window_days: int | None = None,
    maturity_days: int = 0,
) -> pd.DataFrame:
    """One row per decided lead: lead_id, created_at, is_won (0/1), reached_sql,
    decision_date, score_date (dates as datetime64 at midnight)."""
    end = pd.Timestamp(as_of + timedelta(days=1))  # the as-of day counts in full
    known = deals[deals["created_at"].notna() & (deals["created_at"] < end)].copy()
    closed_by_then = known["closed_at"].notna() & (known["closed_at"] < end)
    known["won"] = closed_by_then & (known["deal_stage"] == WON)
    known["closed"] = closed_by_then & known["deal_stage"].isin([WON, LOST])
    per_lead = known.groupby("lead_id").agg(
        sql_at=("created_at", "min"), any_won=("won", "any"), all_closed=("closed", "all")
    )
    mature = leads["created_at"] < end - pd.Timedelta(days=maturity_days)
    frame = leads[mature].merge(per_lead, left_on="lead_id", right_index=True, how="left")
    reached_sql = frame["sql_at"].notna()
    if decision_window_days is None:
        decision_window_days = typical_days_to_sql(frame)
    window_end = frame["created_at"].dt.normalize() + pd.Timedelta(days=decision_window_days)
    decided_sql = reached_sql & (frame["any_won"].fillna(False) | frame["all_closed"].fillna(False))
    decided_no_sql = ~reached_sql & (window_end < end)
    frame = frame[decided_sql | decided_no_sql].copy()
    frame["reached_sql"] = frame["sql_at"].notna()
    frame["is_won"] = frame["any_won"].fillna(False).astype(int)
    frame["decision_date"] = (
        frame["sql_at"]
        .dt.normalize()
        .where(frame["reached_sql"], window_end[frame.index])
        .astype("datetime64[s]")
    )
    frame["score_date"] = frame["decision_date"] - pd.Timedelta(days=1)
    columns = ["lead_id", "created_at", "is_won", "reached_sql", "decision_date", "score_date"]
    return frame[columns].sort_values(["decision_date", "lead_id"]).reset_index(drop=True)


def typical_days_to_sql(frame: pd.DataFrame) -> int:
    """The median whole days from creation to SQL (at least 1; 30 without any SQL)."""
    days = (frame["sql_at"].dt.normalize() - frame["created_at"].dt.normalize()).dt.days
    days = days.dropna()
    return max(1, int(days.median())) if len(days) else 30
