"""``bench_quality``: the whole gate on a synthetic raw schema of ``leads`` contacts.

The raw tables are built with numpy in a temporary home (about 4% of the contacts carry a
defect: bad e-mails, disposable and personal domains, placeholder names, country
spellings, impossible company sizes, duplicates, future dates; 55% have a phone), then
``run_quality_gate`` runs on them. Prints ``dq_validate_1m_s=`` (seconds for the gate,
scaled to one million contacts when ``leads`` differs), ``dq_validate_1m_cpu_s=`` (CPU
seconds, all processes: the figure that does not depend on other load on the machine)
and ``dq_leads_per_s=``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from lead_scoring.settings import Settings

AS_OF = datetime(2026, 11, 1, 6, tzinfo=UTC)
FIRST = np.array(
    "Alice Bob Chloé Dmitri Emma François Greta Hiroshi Ines Jonas Karin Liam Mia Noah Olga"
    " Pedro Quinn Rosa Sven Tara Ugo Vera Wim Yara Zoë".split(),
    dtype=object,
)
LAST = np.array(
    "Baker Schmidt Dubois van-Dijk García Rossi Nowak Johansson Tanaka O'Brien Müller Martin"
    " de-la-Cruz Smith Kowalski Jensen Silva Costa Novak Fischer".split(),
    dtype=object,
)
COUNTRIES = np.array(["US", "GB", "DE", "FR", "NL", "CA", "AU", "SE", "ES", "IT"], dtype=object)
CALLING = {"US": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31", "CA": "1", "AU": "61",
           "SE": "46", "ES": "34", "IT": "39"}  # fmt: skip
BAD = {
    "email": ["jane.doe at acme.com", "jane@@acme.com", "jane@acme", "jane@acme.com."],
    "name": [("test", "test"), ("asdf", "asdf"), ("Mickey", "Mouse"), ("qwerty", "uiop")],
    "country": ["Deutschland", "U.S.A.", "UK", "Holland", "Narnia", "N/A"],
}


def _wire(moments: np.ndarray) -> np.ndarray:
    return pd.Series(moments).dt.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_numpy(dtype=object)


def synthetic_raw(leads: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Raw tables (contract columns, text CRM values) with ``leads`` contacts."""
    from lead_scoring.quality.schema import TABLES

    rng = np.random.default_rng(seed)
    n, n_companies = leads, max(1, leads // 20)
    ids = np.arange(100_000_001, 100_000_001 + n).astype(str).astype(object)
    company = rng.integers(0, n_companies, n)
    domains = np.array([f"company{i}.com" for i in range(n_companies)], dtype=object)
    first, last = FIRST[rng.integers(0, len(FIRST), n)], LAST[rng.integers(0, len(LAST), n)]
    email = np.array(
        [
            f"{f[0].lower()}.{i}@{d}"
            for i, (f, d) in enumerate(zip(first, domains[company], strict=True))
        ],
        dtype=object,
    )
    created = AS_OF.replace(tzinfo=None) - pd.to_timedelta(rng.integers(0, 700 * 86400, n), "s")
    kind = rng.choice(8, size=n, p=[0.955, 0.005, 0.004, 0.012, 0.005, 0.008, 0.006, 0.005])
    email[kind == 1] = np.array(BAD["email"], dtype=object)[np.arange((kind == 1).sum()) % 4]
    email[kind == 2] = [e.split("@")[0] + "@mailinator.com" for e in email[kind == 2]]
    email[kind == 3] = [e.split("@")[0] + "@gmail.com" for e in email[kind == 3]]
    for i, k in zip(np.flatnonzero(kind == 4), range(n), strict=False):
        first[i], last[i] = BAD["name"][k % 4]
    country = COUNTRIES[rng.integers(0, len(COUNTRIES), n)]
    codes = country.copy()
    country[kind == 5] = np.array(BAD["country"], dtype=object)[np.arange((kind == 5).sum()) % 6]
    country[rng.random(n) < 0.08] = ""
    dup = np.flatnonzero(kind == 6)
    email[dup] = [f" {e.upper()}" for e in email[np.maximum(dup - 1, 0)]]
    created = pd.Series(created)
    created[kind == 7] = AS_OF.replace(tzinfo=None) + timedelta(days=30)
    has_phone = rng.random(n) < 0.55
    number = rng.integers(200_000_0000, 999_999_9999, n)
    phone = np.array([f"+{CALLING[c]} {x}" if h else "" for c, x, h in
                      zip(codes, number, has_phone, strict=True)], dtype=object)  # fmt: skip
    contacts = pd.DataFrame({c: "" for c in TABLES["crm_contacts"]}, index=range(n))
    contacts = contacts.assign(
        hs_object_id=ids, email=email, firstname=first, lastname=last, phone=phone,
        country=country, associatedcompanyid=(300_000_001 + company).astype(str),
        createdate=_wire(created.to_numpy()), lastmodifieddate=_wire(created.to_numpy()),
    )  # fmt: skip
    employees = rng.integers(1, 5000, n_companies).astype(str).astype(object)
    employees[rng.random(n_companies) < 0.004] = "-12"
    companies = pd.DataFrame({c: "" for c in TABLES["crm_companies"]}, index=range(n_companies))
    companies = companies.assign(
        hs_object_id=(300_000_001 + np.arange(n_companies)).astype(str), domain=domains,
        numberofemployees=employees, country=COUNTRIES[rng.integers(0, 10, n_companies)],
        createdate=_wire(np.full(n_companies, np.datetime64("2024-01-01"))),
        lastmodifieddate=_wire(np.full(n_companies, np.datetime64("2026-10-31"))),
    )  # fmt: skip
    return {"crm_contacts": contacts.astype("str"), "crm_companies": companies.astype("str")}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the phone workers)."""
    import resource

    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))  # fmt: skip
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_quality(leads: int = 1_000_000) -> dict:
    """Time ``run_quality_gate`` on ``leads`` synthetic contacts; prints name=value lines."""
    import great_expectations  # noqa: F401  (imported once per process, not part of a run)

    from lead_scoring.bench import bench_env
    from lead_scoring.quality.config import load_config
    from lead_scoring.quality.gate import QualityGateFailed, run_quality_gate
    from lead_scoring.warehouse import open_warehouse

    with tempfile.TemporaryDirectory() as home:
        settings = replace(Settings(), home=Path(home))
        with open_warehouse(settings) as wh:
            for table, frame in synthetic_raw(leads).items():
                wh.write_df(frame, "raw", table, mode="replace")
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        try:
            result = run_quality_gate(settings, "bench", AS_OF, config=load_config(bench_env()))
        except QualityGateFailed as exc:
            result = exc.result
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
    figures = {
        "dq_validate_1m_s": round(seconds * 1_000_000 / leads, 2),
        "dq_validate_1m_cpu_s": round(cpu * 1_000_000 / leads, 2),
        "dq_leads_per_s": round(leads / seconds),
        "dq_records_quarantined": result.records_quarantined,
    }
    for name, value in figures.items():
        print(f"{name}={value}")
    return figures | {"counts_by_rule": result.counts_by_rule}
