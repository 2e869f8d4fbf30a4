"""Enough SOQL to read records back: ``SELECT f1, f2 | COUNT() FROM Obj [WHERE a = 'x' AND ...]
[ORDER BY f [ASC|DESC]] [LIMIT n]``; conditions use =, !=, <>, <, <=, >, >=, IN, LIKE."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_QUERY = re.compile(
    r"^\s*select\s+(?P<fields>.+?)\s+from\s+(?P<object>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?"
    r"(?:\s+order\s+by\s+(?P<order>\w+)(?:\s+(?P<direction>asc|desc))?)?"
    r"(?:\s+limit\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"\s*(?P<field>\w+)\s*(?P<op>!=|<>|<=|>=|=|<|>|\bin\b|\blike\b)\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\([^)]*\)|[^\s()]+)\s*",
    re.IGNORECASE,
)
_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'|([^,\s]+)")


class SoqlError(ValueError):
    """A query the sandbox cannot parse (Salesforce's MALFORMED_QUERY)."""


@dataclass
class Query:
    object: str
    fields: list[str]
    count_only: bool = False
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)
    order_by: str | None = None
    descending: bool = False
    limit: int | None = None


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    lowered = text.lower()
    if lowered == "null":
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return float(text)
    except ValueError:
        return text


def parse(soql: str) -> Query:
    match = _QUERY.match(soql)
    if not match:
        raise SoqlError(f"unexpected token in query: {soql[:80]!r}")
    fields = [f.strip() for f in match["fields"].split(",") if f.strip()]
    query = Query(object=match["object"], fields=fields)
    if [f.lower() for f in fields] == ["count()"]:
        query.count_only, query.fields = True, []
    elif any(not re.fullmatch(r"\w+", f) for f in fields):
        raise SoqlError(f"only plain field names are supported in SELECT: {match['fields']!r}")
    if match["where"]:
        where, position = match["where"], 0
        while position < len(where):
            cond = _CONDITION.match(where, position)
            if not cond:
                raise SoqlError(f"unexpected token in WHERE near {where[position:][:40]!r}")
            op = cond["op"].lower()
            raw = cond["value"]
            if op == "in":
                if not raw.startswith("("):
                    raise SoqlError(f"IN needs a parenthesised list: {raw!r}")
                value: Any = [
                    _literal(bare) if bare else _literal(f"'{quoted}'")
                    for quoted, bare in _ITEM.findall(raw[1:-1])
                ]
            else:
                value = _literal(raw)
            query.conditions.append((cond["field"], "!=" if op == "<>" else op, value))
            position = cond.end()
            rest = re.match(r"and\b\s*", where[position:], re.IGNORECASE)
            if position < len(where):
                if not rest:
                    raise SoqlError(f"only AND is supported between conditions: {where!r}")
                position += rest.end()
    query.order_by = match["order"]
    query.descending = (match["direction"] or "").lower() == "desc"
    query.limit = int(match["limit"]) if match["limit"] else None
    return query


def matches(value: Any, op: str, wanted: Any) -> bool:
    def norm(v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    if op == "in":
        return norm(value) in [norm(w) for w in wanted]
    if op == "like":
        pattern = re.escape(str(wanted).lower()).replace("%", ".*").replace("_", ".")
        return value is not None and re.fullmatch(pattern, str(value).lower()) is not None
    if wanted is None or value is None:
        return (
            (value is None) == (wanted is None)
            if op == "="
            else (value is None) != (wanted is None)
        )
    a, b = norm(value), norm(wanted)
    if isinstance(a, int | float) and not isinstance(a, bool) and isinstance(b, str):
        return False
    try:
        return {
            "=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b,
        }[op]  # fmt: skip
    except TypeError:
        return False
