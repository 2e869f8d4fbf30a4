"""Run the expectation suites with Great Expectations and turn the results into hits.

An ephemeral context (nothing persisted but the Data Docs) validates each check frame
with ``result_format`` COMPLETE and ``unexpected_index_column_names=["record_id"]``
(the frame's named index), so every failing record id comes back from GX. Unexpected
values are left out of the results (they are status codes; the quality tables report the
raw value instead), which also keeps GX's index collection vectorised. The Data Docs
get a slim copy of the results: counts and the first ids, no full id lists.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lead_scoring.quality.checks import INDEX, Batch

log = logging.getLogger(__name__)
logging.getLogger("great_expectations").setLevel(logging.WARNING)  # INFO is import chatter

RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [INDEX],
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}
# Result keys left out of the Data Docs: the full id list and any unexpected value.
NOT_IN_DOCS = frozenset({"unexpected_index_list", "unexpected_list", "partial_unexpected_list",
                         "partial_unexpected_counts", "unexpected_index_query"})  # fmt: skip
DOCS_SITE = "run"
DOCS_SAMPLE = 20


class ValidationError(RuntimeError):
    """Great Expectations could not evaluate an expectation (a bug, not bad data)."""


@dataclass(frozen=True)
class Hit:
    """The records of one record type that failed one expectation."""

    record_type: str
    rule: str
    field: str
    normalised: str | None
    record_ids: list[str]


def _context(docs_dir: Path):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _hits(batch: Batch, results) -> list[Hit]:
    hits = []
    for result in results.results:
        config = result.expectation_config
        if result.exception_info and result.exception_info.get("raised_exception"):
            raise ValidationError(
                f"{config.type} on {batch.record_type}.{config.kwargs.get('column')} failed"
                f" to run: {result.exception_info.get('exception_message')}"
            )
        index_list = result.result.get("unexpected_index_list") or [{INDEX: []}]
        ids = [str(i) for i in index_list[0][INDEX]]
        if ids:
            hits.append(
                Hit(
                    batch.record_type,
                    config.meta["rule"],
                    config.meta["field"],
                    config.meta.get("normalised"),
                    ids,
                )  # fmt: skip
            )
    return hits


def _slim(results):
    """A copy for the Data Docs: counts and the first record ids only, never a value (the
    suites test codes, but a value must not reach the Data Docs even if one tested raw
    personal data)."""
    slim = copy.copy(results)
    slim.results = []
    for result in results.results:
        light = copy.copy(result)
        light.result = {k: v for k, v in result.result.items() if k not in NOT_IN_DOCS}
        sample = light.result.get("partial_unexpected_index_list")
        if sample:
            first = sample[0][INDEX][:DOCS_SAMPLE]
            light.result["partial_unexpected_index_list"] = [{INDEX: first}]
        slim.results.append(light)
    return slim


class Validator:
    """One run's GX context: validates check frames one batch (or chunk) at a time, each
    with its suite, and keeps a validation result per batch for the Data Docs."""

    def __init__(self, expectations: dict[str, list], run_id: str, docs_dir: Path | None):
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        self.expectations, self.docs_dir = expectations, docs_dir
        self.context = _context(docs_dir or Path("."))
        self.suites = {
            name: self.context.suites.add(gx.ExpectationSuite(name=name, expectations=items))
            for name, items in expectations.items()
        }
        self.run = RunIdentifier(run_name=run_id, run_time=datetime.now(UTC))
        self.batches: dict[str, int] = {}  # record type -> batches validated

    def validate(self, batch: Batch) -> list[Hit]:
        """The hits of one batch; the second and later batches of a record type (chunks)
        are named ``<record type>_2``, ``_3``... in the Data Docs. Each batch gets a data
        source of its own, deleted after it: GX keeps every batch a source has loaded."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        number = self.batches[batch.record_type] = self.batches.get(batch.record_type, 0) + 1
        name = batch.record_type if number == 1 else f"{batch.record_type}_{number}"
        source = self.context.data_sources.add_pandas(f"raw_{name}")
        definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        tested = sorted({e.column for e in self.expectations[batch.suite]})
        data = definition.get_batch(batch_parameters={"dataframe": batch.checks[tested]})
        results = data.validate(self.suites[batch.suite], result_format=RESULT_FORMAT)
        del data, definition, source
        self.context.data_sources.delete(f"raw_{name}")
        found = _hits(batch, results)
        log.info(
            "%s: %d records, %d expectations, %d failing",
            name, len(batch.checks), len(results.results),
            sum(not r.success for r in results.results),
        )  # fmt: skip
        if self.docs_dir is not None:
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=batch.suite),
                run_id=self.run,
                batch_identifier=name,
            )
            self.context.validation_results_store.set(key, _slim(results))
        return found

    def finish(self) -> Path | None:
        """Write the Data Docs; their index page (None without a docs folder)."""
        if self.docs_dir is None:
            return None
        self.context.build_data_docs(site_names=[DOCS_SITE])
        index = self.docs_dir / "index.html"
        log.info("Data Docs written to %s", index)
        return index
