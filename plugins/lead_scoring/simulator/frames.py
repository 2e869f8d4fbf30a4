"""Column frames (dicts of equally long numpy arrays) and the small numeric helpers on them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Frame = dict[str, np.ndarray]
DAY = 86_400
NEVER = np.int64(2**62)  # "not (yet) planned" for epoch-second columns


def length(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def take(frame: Frame, index: np.ndarray) -> Frame:
    return {name: values[index] for name, values in frame.items()}


def concat(*frames: Frame) -> Frame:
    frames = tuple(f for f in frames if f and length(f))
    if not frames:
        return {}
    if len(frames) == 1:
        return dict(frames[0])
    return {name: np.concatenate([f[name] for f in frames]) for name in frames[0]}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def stochastic_round(rng: np.random.Generator, value: float) -> int:
    """Round so the expectation is exact: 0.4 becomes 1 with probability 0.4."""
    whole = int(np.floor(value))
    return whole + int(rng.random() < value - whole)


def weighted_index(rng: np.random.Generator, table: tuple, size: int) -> np.ndarray:
    """Indices into a ``(value, share, ...)`` table drawn by share."""
    shares = np.array([row[1] for row in table], dtype=float)
    return rng.choice(len(table), size=size, p=shares / shares.sum())


def pick(rng: np.random.Generator, candidates: np.ndarray, count: int, weights=None):
    """``count`` distinct elements of ``candidates`` (fewer if there are fewer)."""
    count = min(count, len(candidates))
    if count <= 0:
        return candidates[:0]
    p = None
    if weights is not None:
        p = weights / weights.sum()
        count = min(count, int(np.count_nonzero(p)))
    return rng.choice(candidates, size=count, replace=False, p=p)


def to_timestamps(seconds: np.ndarray) -> pa.Array:
    """Epoch seconds -> an Arrow timestamp array (UTC, naive), NEVER -> null."""
    mask = seconds >= NEVER
    return pa.array(np.where(mask, 0, seconds).astype("datetime64[s]"), mask=mask)


def wire_datetimes(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> HubSpot wire strings ``2026-11-01T10:00:00.000Z`` ('' for NEVER)."""
    text = to_timestamps(seconds).cast(pa.timestamp("ms")).cast(pa.string())
    text = pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), "Z", "")
    return text.fill_null("").to_numpy(zero_copy_only=False)


def sql_datetimes(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> ``2026-11-01 10:00:00`` (SQLite's timestamp text)."""
    array = pa.array(seconds.astype("datetime64[s]"))
    return array.cast(pa.string()).to_numpy(zero_copy_only=False)
