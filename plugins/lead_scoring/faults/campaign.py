"""``run_campaign``: a clean nightly run, then one killed-and-rerun copy per kill point.

1. Simulate the source systems once (fixed seed and as-of date) into ``source``.
2. The clean run: a copy of ``source`` runs every stage (extract, gate, dbt, preflight,
   sync); the home is copied before each stage that has kill points (``before_<stage>``),
   and its marts and CRM records are the reference.
3. Each kill point: a copy of the home before its stage runs the stage and is killed at the
   point, then the date is rerun as Airflow reruns a failed task: that stage again, then
   every stage after it. The rerun must succeed (the quality gate must pass), and its marts
   and CRM must equal the reference.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from lead_scoring.faults import compare
from lead_scoring.faults.points import KillPoint
from lead_scoring.faults.stages import AS_OF, STAGES, STOPPING, Nightly, Stopped

log = logging.getLogger("lead_scoring.faults")


class CampaignError(RuntimeError):
    """The campaign could not run (the clean run failed): no figures."""


@dataclass
class PointResult:
    point: KillPoint
    killed: bool = False
    kill_seen: str = ""
    equal: bool = False
    duplicates: int = 0
    resent: int = 0
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        """One progress line: the point, where the kill landed, the verdict."""
        head = f"{self.point.label}: "
        if not self.killed:
            return head + "NOT KILLED: " + "; ".join(self.differences)
        kill = f"killed at {_shown(self.kill_seen)!r}"
        if self.equal:
            again = f"; {self.resent} records sent again (updated by id)" if self.resent else ""
            return f"{head}{kill}; rerun equal (marts, CRM){again}; {self.seconds:.0f} s"
        return (f"{head}{kill}; rerun DIFFERS: " + "; ".join(self.differences)
                + f"; CRM duplicates {self.duplicates}")  # fmt: skip


def _shown(seen: str) -> str:
    """What fired the kill, without dbt's clock, dot leaders and timing."""
    seen = re.sub(r"^\d\d:\d\d:\d\d\s+", "", seen)
    return re.sub(r"[\s.]*(\[.*)?$", "", seen)[:100]


@dataclass
class CampaignResult:
    points: list[PointResult]
    seconds: float

    @property
    def kill_points(self) -> int:
        return len(self.points)

    @property
    def reruns_equal(self) -> int:
        return sum(p.killed and p.equal for p in self.points)

    @property
    def crm_duplicates(self) -> int:
        return sum(p.duplicates for p in self.points)

    def figures(self) -> dict[str, int]:
        return {
            "faults_kill_points": self.kill_points,
            "faults_reruns_equal": self.reruns_equal,
            "faults_crm_duplicates": self.crm_duplicates,
        }


def simulate_source(home: Path, leads: int, accounts: int, seed: int) -> None:
    from lead_scoring.settings import Settings
    from lead_scoring.simulator import simulate

    settings = replace(Settings(), home=home, warehouse="duckdb", product_db_url=None)
    simulate(settings, leads=leads, accounts=accounts, end_date=AS_OF, seed=seed)


def clean_run(source: Path, home: Path, snapshot_before: set[str], root: Path) -> None:
    """The reference run; copies the home before each stage named in ``snapshot_before``."""
    shutil.copytree(source, home)
    nightly = Nightly(home, "clean")
    for stage in STAGES:
        if stage in snapshot_before and stage != STAGES[0]:
            shutil.copytree(home, root / f"before_{stage}")
        started = time.monotonic()
        run = nightly.run(stage)
        if not run.ok:
            raise CampaignError(f"the clean run failed in stage {stage}: {run.failure()}")
        log.info("faults: clean run, %s done in %.0f s", stage, time.monotonic() - started)


def run_point(point: KillPoint, before: Path, home: Path, reference: compare.State) -> PointResult:
    """Kill the stage at the point, rerun it and every later stage, compare with the clean run."""
    started = time.monotonic()
    result = PointResult(point)
    log.info("faults: %s: kill when %s", point.label, point.what)
    try:
        _kill_and_rerun(point, before, home, reference, result)
    except Stopped:
        raise
    except Exception as exc:  # one broken point is reported; the campaign goes on
        log.exception("faults: %s", point.label)
        result.differences.append(f"{type(exc).__name__}: {exc}")
        result.equal = False
    result.seconds = time.monotonic() - started
    return result


def _kill_and_rerun(point: KillPoint, before: Path, home: Path, reference: compare.State,
                    result: PointResult) -> None:  # fmt: skip
    shutil.copytree(before, home)
    nightly = Nightly(home, "killed")
    # One sandbox for the killed run and the rerun: requests in flight at the kill still
    # reach the CRM, as they would reach a real one.
    with nightly.crm_sandbox() as sandbox:
        sandbox.faults.set(delay_seconds=point.crm_delay_s)
        killed = nightly.run(point.stage, point.watch)
        sandbox.faults.clear()
        result.killed, result.kill_seen = killed.killed, killed.seen
        if not killed.killed:
            result.differences.append(
                "the stage ended before the kill point was reached" if killed.ok
                else f"the stage failed before the kill point: {killed.failure()}"
            )
            return
        log.info("faults: %s killed (%s); rerunning", point.label, _shown(killed.seen))
        time.sleep(2 * point.crm_delay_s)  # requests in flight at the kill reach the store
        after_kill = (compare.read_crm(nightly.store_path), compare.updated_at(nightly.store_path))
        for stage in STAGES[STAGES.index(point.stage):]:
            rerun = nightly.run(stage)
            if not rerun.ok:
                result.differences.append(f"the rerun of {stage} failed: {rerun.failure()}")
                return
    state = compare.read_state(home)
    verdict = compare.compare(reference, state)
    result.equal, result.duplicates = verdict.equal, verdict.duplicates
    result.differences = verdict.differences
    result.resent = compare.resent(*after_kill, state.crm, compare.updated_at(nightly.store_path))


def run_campaign(
    root: Path,
    points: list[KillPoint],
    leads: int,
    accounts: int,
    seed: int = 42,
    jobs: int = 3,
    on_result: Callable[[PointResult], None] | None = None,
) -> CampaignResult:
    """Run every kill point in ``points`` (``jobs`` at a time) against one clean run."""
    started = time.monotonic()
    STOPPING.clear()
    root.mkdir(parents=True, exist_ok=True)
    source, clean = root / "source", root / "clean"
    log.info("faults: simulating %s leads and %s accounts (seed %s) as of %s in %s",
             f"{leads:,}", f"{accounts:,}", seed, AS_OF, root)  # fmt: skip
    simulate_source(source, leads, accounts, seed)
    clean_run(source, clean, {p.stage for p in points}, root)
    reference = compare.read_state(clean)

    def before(stage: str) -> Path:
        return source if stage == STAGES[0] else root / f"before_{stage}"

    results: list[PointResult] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [
            pool.submit(run_point, point, before(point.stage),
                        root / f"killed_{point.stage}_{point.name}", reference)
            for point in points
        ]  # fmt: skip
        try:
            for future in as_completed(futures):
                results.append(future.result())
                if on_result:
                    on_result(results[-1])
        except BaseException:  # an interrupt: kill the stages under way, start no more
            STOPPING.set()
            pool.shutdown(cancel_futures=True)
            raise
    order = {p.label: n for n, p in enumerate(points)}
    results.sort(key=lambda r: order[r.point.label])
    return CampaignResult(results, time.monotonic() - started)
