"""Enough SOQL to read records back: ``SELECT f, Parent.f, ... | COUNT() FROM Obj
[WHERE cond [AND|OR cond ...]] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]``; conditions use =, !=, <>, <, <=, >, >=, [NOT] IN, LIKE, NOT and
parentheses; values are quoted strings, numbers, ``true``/``false``/``null``, dates
(``2026-12-01``) and datetimes (``2026-12-01T00:00:00Z``, ``...T00:00:00.000+0000``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<symbol>!=|<>|<=|>=|[=<>(),])"
    r"|(?P<word>[^\s'(),=<>!]+))"
)
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")
_AGGREGATES = {"count", "count_distinct", "sum", "avg", "min", "max"}
_CLAUSE_END = {"group", "order", "limit", "offset", "having"}


class SoqlError(ValueError):
    """A query the sandbox cannot parse (Salesforce's MALFORMED_QUERY)."""


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime
    value: Any


@dataclass
class Condition:
    field: str
    op: str  # =, !=, <, <=, >, >=, in, not in, like
    value: Literal | list[Literal]


@dataclass
class BoolOp:
    op: str  # and, or, not
    items: list[Any]


@dataclass
class Query:
    object: str
    fields: list[str]
    count_only: bool = False
    where: Condition | BoolOp | None = None
    order_by: list[tuple[str, bool, str | None]] = field(default_factory=list)  # field, desc, nulls
    limit: int | None = None
    offset: int | None = None
    aggregate: bool = False  # aggregate functions other than a bare COUNT()
    subquery: bool = False  # parent-to-child relationship subqueries
    group_by: bool = False


def literal(token: str, quoted: bool) -> Literal:
    if quoted:
        return Literal("string", re.sub(r"\\(.)", r"\1", token[1:-1]))
    lowered = token.lower()
    if lowered == "null":
        return Literal("null", None)
    if lowered in ("true", "false"):
        return Literal("boolean", lowered == "true")
    if _NUMBER.fullmatch(token):
        return Literal("number", float(token))
    if _DATE.fullmatch(token):
        return Literal("date", token)
    if _DATETIME.fullmatch(token):
        return Literal("datetime", token)
    raise SoqlError(f"unexpected token: '{token}'")


class _Parser:
    def __init__(self, text: str):
        self.tokens: list[tuple[str, str]] = []  # (kind, text)
        position, text = 0, text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise SoqlError(f"unexpected token: '{text[position:][:20].strip()}'")
            kind = match.lastgroup or "word"
            self.tokens.append((kind, match[kind]))
            position = match.end()
        self.position = 0

    def peek(self, offset: int = 0) -> str:
        index = self.position + offset
        return self.tokens[index][1] if index < len(self.tokens) else ""

    def keyword(self, *words: str) -> bool:
        """Consume the keywords ``words`` if they come next."""
        ahead = [self.peek(i).lower() for i in range(len(words))]
        if ahead == list(words):
            self.position += len(words)
            return True
        return False

    def take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise SoqlError("unexpected end of query")
        self.position += 1
        return self.tokens[self.position - 1]

    def expect(self, text: str) -> None:
        kind, token = self.take()
        if token.lower() != text:
            raise SoqlError(f"unexpected token: '{token}', expected '{text}'")

    def name(self) -> str:
        kind, token = self.take()
        if kind != "word" or not re.fullmatch(r"[A-Za-z]\w*(\.[A-Za-z]\w*)?", token):
            raise SoqlError(f"unexpected token: '{token}'")
        return token

    def integer(self) -> int:
        kind, token = self.take()
        if not token.isdigit():
            raise SoqlError(f"unexpected token: '{token}', expected a number")
        return int(token)

    def query(self) -> Query:
        self.expect("select")
        query = Query(object="", fields=[])
        while True:
            if self.peek() == "(":  # a parent-to-child subquery: skipped, flagged
                query.subquery = True
                depth = 0
                while True:
                    token = self.take()[1]
                    depth += {"(": 1, ")": -1}.get(token, 0)
                    if depth == 0:
                        break
            elif self.peek(1) == "(":
                function = self.name().lower()
                self.expect("(")
                argument = "" if self.peek() == ")" else self.name()
                self.expect(")")
                if function not in _AGGREGATES:
                    raise SoqlError(f"unknown function: {function}")
                if function == "count" and not argument:
                    query.count_only = True
                else:
                    query.aggregate = True
                if self.peek() not in (",", "") and self.peek().lower() != "from":
                    self.name()  # an alias
            else:
                query.fields.append(self.name())
            if not self.keyword(","):
                break
        self.expect("from")
        query.object = self.name()
        if self.keyword("where"):
            query.where = self.disjunction()
        if self.keyword("group", "by"):
            query.group_by = True
            while self.peek() and self.peek().lower() not in _CLAUSE_END:
                self.take()
        if self.keyword("order", "by"):
            while True:
                name = self.name()
                descending = self.keyword("desc")
                if not descending:
                    self.keyword("asc")
                nulls = None
                if self.keyword("nulls"):
                    nulls = self.take()[1].lower()
                    if nulls not in ("first", "last"):
                        raise SoqlError(f"unexpected token: '{nulls}'")
                query.order_by.append((name, descending, nulls))
                if not self.keyword(","):
                    break
        if self.keyword("limit"):
            query.limit = self.integer()
        if self.keyword("offset"):
            query.offset = self.integer()
        if self.position < len(self.tokens):
            raise SoqlError(f"unexpected token: '{self.peek()}'")
        return query

    def disjunction(self) -> Condition | BoolOp:
        items = [self.conjunction()]
        while self.keyword("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", items)

    def conjunction(self) -> Condition | BoolOp:
        items = [self.negation()]
        while self.keyword("and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else BoolOp("and", items)

    def negation(self) -> Condition | BoolOp:
        if self.keyword("not"):
            return BoolOp("not", [self.negation()])
        if self.keyword("("):
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.condition()

    def condition(self) -> Condition:
        name = self.name()
        if self.keyword("not", "in"):
            op = "not in"
        else:
            op = self.take()[1].lower()
            op = "!=" if op == "<>" else op
            if op not in ("=", "!=", "<", "<=", ">", ">=", "in", "like"):
                raise SoqlError(f"unexpected token: '{op}'")
        if op in ("in", "not in"):
            self.expect("(")
            values = [self.value()]
            while self.keyword(","):
                values.append(self.value())
            self.expect(")")
            return Condition(name, op, values)
        return Condition(name, op, self.value())

    def value(self) -> Literal:
        kind, token = self.take()
        if kind == "symbol":
            raise SoqlError(f"unexpected token: '{token}'")
        return literal(token, kind == "string")


def parse(soql: str) -> Query:
    return _Parser(soql).query()
