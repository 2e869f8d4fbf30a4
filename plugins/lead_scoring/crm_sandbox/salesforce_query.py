"""SOQL run inside SQLite, for ``/query``, ``/queryAll`` and Bulk API 2.0 query jobs.

A query becomes one SQL statement over the store's ``objects`` table: fields are
``json_extract`` of the record's properties (``Id``, ``SystemModstamp`` and ``IsDeleted``
are columns, so ``WHERE SystemModstamp > x ORDER BY SystemModstamp, Id`` runs on an index),
parent fields (``Account.Website``) are scalar subqueries. The matching rows are fixed
when the query runs (``snapshot``: their rowids, in order), as a Salesforce query cursor is;
pages then read those rows by rowid.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lead_scoring.crm_sandbox import soql
from lead_scoring.crm_sandbox.salesforce_schema import (
    OBJECT_OF_PREFIX,
    SalesforceError,
    SalesforceSchema,
    SfField,
    salesforce_datetime,
)
from lead_scoring.crm_sandbox.store import SALESFORCE_ONLY, CrmStore

API_PATH = "/services/data/v59.0"
PAGE_SIZE = 2000  # records per /query page, Salesforce's default and maximum
MIN_PAGE_SIZE = 200
CURSORS_KEPT = 10  # open /query cursors per user, as Salesforce: a new one releases the oldest
_CASELESS = {"string", "email", "phone", "url", "picklist", "textarea"}
_NUMBERS = {"double", "currency", "percent", "int"}
_HINT = (
    " If you are attempting to use a custom field, be sure to append the '__c' after the"
    " custom field name. Please reference your WSDL or the describe call for the"
    " appropriate names."
)


@dataclass
class Column:
    name: str  # as Salesforce names it in results: ``Email``, ``Account.Website``
    field: SfField  # the field read (the parent's, for a parent field)
    sql: str
    reference: SfField | None = None  # for a parent field: the reference field to the parent


@dataclass
class Plan:
    object: str
    columns: list[Column]
    count_only: bool
    source: str  # ``from objects o where ...``
    params: list[Any]
    order: str
    limit: int | None
    offset: int | None


@dataclass
class Cursor:
    plan: Plan
    rowids: Sequence[int]


def url(obj: str, record_id: str) -> str:
    return f"{API_PATH}/sobjects/{obj}/{record_id}"


def _sql(f: SfField, alias: str) -> str:
    if f.name == "Id":
        return f"{alias}.id"
    if f.name == "SystemModstamp":
        return f"{alias}.updated_at"
    if f.name == "IsDeleted":
        return f"{alias}.archived"
    value = f"json_extract({alias}.properties, '$.{f.name}')"
    return f"coalesce({value}, 0)" if f.type == "boolean" else value


class _Compiler:
    def __init__(self, schema: SalesforceSchema, obj: str):
        self.schema, self.obj = schema, obj
        self.params: list[Any] = []

    def column(self, name: str) -> Column:
        relationship, _, leaf = name.rpartition(".")
        if not relationship:
            f = self.schema.field(self.obj, name)
            if f is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{self.obj}'.{_HINT}"
                )
            return Column(f.name, f, _sql(f, "o"))
        reference = next(
            (f for f in self.schema.fields(self.obj).values()
             if f.relationship_name and f.relationship_name.lower() == relationship.lower()),
            None,
        )  # fmt: skip
        if reference is None:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"Didn't understand relationship '{relationship}' in field path. If you are"
                " attempting to use a custom relationship, be sure to append the '__r' after"
                " the custom relationship name. Please reference your WSDL or the describe"
                " call for the appropriate names.",
            )
        for parent in reference.parents:  # a polymorphic one's field is on each parent
            f = self.schema.field(parent, leaf)
            if f is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{leaf}' on entity '{parent}'.{_HINT}"
                )
        types = ", ".join(f"'sf:{parent}'" for parent in reference.parents)
        sql = (
            f"(select {_sql(f, 'p')} from objects p where p.object_type in ({types})"
            f" and p.id = {_sql(reference, 'o')})"
        )
        return Column(f"{reference.relationship_name}.{f.name}", f, sql, reference)

    def value(self, f: SfField, literal: soql.Literal) -> Any:
        expected = (
            "dateTime" if f.type == "datetime"
            else "date" if f.type == "date"
            else "boolean" if f.type == "boolean"
            else "double" if f.type in _NUMBERS
            else "string"
        )  # fmt: skip
        kind = {"dateTime": "datetime", "double": "number", "string": "string"}.get(
            expected, expected
        )
        if literal.kind != kind:
            quotes = "be enclosed" if kind == "string" else "not be enclosed"
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"value of filter criterion for field '{f.name}' must be of type {expected}"
                f" and should {quotes} in quotes",
            )
        if kind == "datetime":
            return salesforce_datetime(datetime.fromisoformat(literal.value))
        if kind == "boolean":
            return int(literal.value)
        return literal.value

    def condition(self, node: soql.Condition | soql.BoolOp) -> str:
        if isinstance(node, soql.BoolOp):
            parts = [self.condition(item) for item in node.items]
            if node.op == "not":
                return f"not ({parts[0]})"
            return "(" + f" {node.op} ".join(parts) + ")"
        column = self.column(node.field)
        f, expr = column.field, column.sql
        caseless = " collate nocase" if f.type in _CASELESS else ""
        if node.op in ("in", "not in"):
            values = [v for v in node.value if v.kind != "null"]
            self.params.extend(self.value(f, v) for v in values)
            listed = f"{expr}{caseless} {node.op} ({','.join('?' * len(values))})"
            return listed if node.op == "in" else f"coalesce({listed}, 1)"
        if node.value.kind == "null":
            if node.op not in ("=", "!="):
                raise SalesforceError(400, "MALFORMED_QUERY", f"null with operator {node.op}")
            return f"{expr} is {'not ' if node.op == '!=' else ''}null"
        if node.op == "like" and f.type not in _CASELESS | {"id", "reference"}:
            raise SalesforceError(
                400, "INVALID_FIELD", f"invalid operator on {f.type} field: {f.name}"
            )
        self.params.append(self.value(f, node.value))
        if node.op == "!=":
            return f"coalesce({expr} != ?{caseless}, 1)"
        return f"{expr} {node.op} ?{caseless}"


def plan(schema: SalesforceSchema, text: str, all_rows: bool) -> tuple[Plan, soql.Query]:
    """Compile a query; ``all_rows``: deleted records too (``queryAll``)."""
    try:
        query = soql.parse(text)
    except soql.SoqlError as exc:
        raise SalesforceError(400, "MALFORMED_QUERY", str(exc)) from exc
    known = next((o for o in schema.objects if o.lower() == query.object.lower()), None)
    if known is None:
        raise SalesforceError(
            400,
            "INVALID_TYPE",
            f"sObject type '{query.object}' is not supported. If you are attempting to use a"
            " custom object, be sure to append the '__c' after the entity name. Please"
            " reference your WSDL or the describe call for the appropriate names.",
        )
    query.object = known  # object names are case-insensitive
    compiler = _Compiler(schema, query.object)
    columns = [compiler.column(name) for name in query.fields]
    where = compiler.condition(query.where) if query.where else "1 = 1"
    live = "" if all_rows else " and o.archived = 0"
    source = f"from objects o where o.object_type = ? and o.{SALESFORCE_ONLY}{live} and ({where})"
    order = ", ".join(
        f"{compiler.column(name).sql}{' desc' if descending else ''}"
        f"{f' nulls {nulls}' if nulls else ''}"
        for name, descending, nulls in query.order_by
    ) or "+o.id"  # unary +: the WHERE, not the primary key, picks the index  # fmt: skip
    result = Plan(
        object=query.object,
        columns=columns,
        count_only=query.count_only,
        source=source,
        params=[f"sf:{query.object}", *compiler.params],
        order=order,
        limit=query.limit,
        offset=query.offset,
    )
    return result, query


def snapshot(store: CrmStore, plan: Plan) -> Sequence[int]:
    """The rowids of the matching records, in the query's order."""
    limit = -1 if plan.limit is None else plan.limit
    return store.rowids(
        f"select o.rowid {plan.source} order by {plan.order} limit ? offset ?",
        [*plan.params, limit, plan.offset or 0],
    )


def count(store: CrmStore, plan: Plan) -> int:
    (total,) = store.fetch(f"select count(*) {plan.source}", plan.params)[0]
    total = max(0, total - (plan.offset or 0))
    return total if plan.limit is None else min(total, plan.limit)


def _rows(store: CrmStore, rowids: Sequence[int], sql: list[str]) -> list[tuple[Any, ...]]:
    return store.fetch(
        f"select {', '.join(sql)} from json_each(?) j cross join objects o"
        " on o.rowid = j.value order by j.key",
        [json.dumps(list(rowids))],
    )


def records(store: CrmStore, plan: Plan, rowids: Sequence[int]) -> list[dict[str, Any]]:
    """The REST API's records: ``attributes``, then the fields; a parent's fields as a
    nested record (``"Account": {"attributes": ..., "Website": ...}``, or null)."""
    references = {c.reference.name: c.reference for c in plan.columns if c.reference}
    sql = ["o.id", *(_sql(r, "o") for r in references.values()), *(c.sql for c in plan.columns)]
    found = []
    for row in _rows(store, rowids, sql):
        parent_ids = dict(zip(references, row[1 : 1 + len(references)], strict=True))
        record: dict[str, Any] = {
            "attributes": {"type": plan.object, "url": url(plan.object, row[0])}
        }
        for column, value in zip(plan.columns, row[1 + len(references) :], strict=True):
            if column.field.type == "boolean" and value is not None:
                value = bool(value)
            if column.reference is None:
                record[column.name] = value
                continue
            relationship, leaf = column.name.split(".")
            parent_id = parent_ids[column.reference.name]
            if parent_id is None:
                record[relationship] = None
                continue
            parent = OBJECT_OF_PREFIX.get(parent_id[:3], column.reference.reference_to or "")
            nested = record.get(relationship) or {
                "attributes": {"type": parent, "url": url(parent, parent_id)}
            }
            nested[leaf] = value
            record[relationship] = nested
        found.append(record)
    return found


def csv_text(
    store: CrmStore, plan: Plan, rowids: Sequence[int], delimiter: str, line_ending: str
) -> str:
    """Bulk API 2.0 result CSV: a header of the field names, every value quoted,
    booleans ``true``/``false``, nulls empty."""
    sql = [
        f"case {c.sql} when 1 then 'true' when 0 then 'false' end"
        if c.field.type == "boolean" else c.sql
        for c in plan.columns
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
    writer.writerow([c.name for c in plan.columns])
    writer.writerows(_rows(store, rowids, sql))
    return out.getvalue()


# -- /query and /queryAll with their cursors ---------------------------------------------
def batch_size(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N`` (200 to 2000; default 2000)."""
    for option in (header or "").split(","):
        name, _, value = option.partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_PAGE_SIZE, min(PAGE_SIZE, int(value)))
    return PAGE_SIZE


def run_query(
    store: CrmStore,
    schema: SalesforceSchema,
    cursors: dict[str, Cursor],
    text: str,
    all_rows: bool,
    size: int = PAGE_SIZE,
) -> dict[str, Any]:
    query_plan, query = plan(schema, text, all_rows)
    if query.aggregate or query.group_by or query.subquery:
        raise SalesforceError(
            400,
            "MALFORMED_QUERY",
            "the sandbox supports neither aggregate functions other than COUNT(), GROUP BY"
            " nor relationship subqueries",
        )
    if query_plan.count_only:
        return {"totalSize": count(store, query_plan), "done": True, "records": []}
    if query.offset is not None and query.offset > 2000:
        raise SalesforceError(
            400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"
        )
    cursor = Cursor(query_plan, snapshot(store, query_plan))
    locator = "01g" + secrets.token_hex(8).upper()[:15]
    cursors[locator] = cursor
    while len(cursors) > CURSORS_KEPT:
        del cursors[next(iter(cursors))]
    return page(store, cursors, locator, 0, size)


def next_page(
    store: CrmStore, cursors: dict[str, Cursor], path_locator: str, size: int = PAGE_SIZE
) -> dict[str, Any]:
    """``GET /query/<locator>-<position>``."""
    locator, _, position = path_locator.rpartition("-")
    if locator not in cursors or not position.isdigit():
        raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return page(store, cursors, locator, int(position), size)


def page(
    store: CrmStore, cursors: dict[str, Cursor], locator: str, start: int, size: int
) -> dict[str, Any]:
    cursor = cursors[locator]
    end = min(start + size, len(cursor.rowids))
    answer: dict[str, Any] = {"totalSize": len(cursor.rowids), "done": end >= len(cursor.rowids)}
    if answer["done"]:
        del cursors[locator]
    else:
        answer["nextRecordsUrl"] = f"{API_PATH}/query/{locator}-{end}"
    answer["records"] = records(store, cursor.plan, cursor.rowids[start:end])
    return answer
