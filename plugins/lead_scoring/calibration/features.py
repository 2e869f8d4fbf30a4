"""Point-in-time features: what each lead had done by the end of its score date.

For every lead and event type: the number of events and their decayed count, the sum of
0.5 ^ (age_days / half_life_days) over the events on or before the lead's score date, with
age_days the whole days from the event's date to the score date (the dbt models' decay).
Events after a lead's score date are not read at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def event_features(
    events: pd.DataFrame, score_dates: pd.Series, half_lives: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decayed counts, event counts): one row per lead of ``score_dates`` (indexed by
    lead_id), one column per event type of ``half_lives`` (indexed by event_type)."""
    dates = score_dates.rename("score_date").astype("datetime64[s]")
    known = events[events["event_type"].isin(half_lives.index)]
    # a merge on columns (not on dates' index): with no events at all, a merge on the
    # index would leave a lead_id index beside the lead_id column, which pivot_table rejects
    by_lead = dates.rename_axis("lead_id").reset_index()
    known = known.merge(by_lead, on="lead_id", how="inner")
    known = known[known["occurred_on"] <= known["score_date"]]
    age_days = (known["score_date"] - known["occurred_on"]).dt.days.to_numpy(dtype=float)
    half_life = half_lives.reindex(known["event_type"]).to_numpy(dtype=float)
    known = known.assign(decayed=np.power(0.5, age_days / half_life), n=1)
    shape = {"index": dates.index, "columns": half_lives.index}
    decayed = known.pivot_table(index="lead_id", columns="event_type", values="decayed",
                                aggfunc="sum", fill_value=0.0)  # fmt: skip
    counts = known.pivot_table(index="lead_id", columns="event_type", values="n",
                               aggfunc="sum", fill_value=0)  # fmt: skip
    return (
        decayed.reindex(**shape, fill_value=0.0).astype(float),
        counts.reindex(**shape, fill_value=0).astype(int),
    )
