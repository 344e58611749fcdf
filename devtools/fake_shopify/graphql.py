"""A small GraphQL reader: enough of the language for the queries cartwheel sends, plus costs.

Supported: one operation (`query`/`mutation`, or the `{ ... }` shorthand) with variable
definitions and defaults, fields with aliases, arguments (variables, strings, block strings,
numbers, booleans, null, enums, lists, objects), nested selections and inline fragments
(`... on Refund { id }`, applied only to nodes of that type). Not supported: named fragments,
directives, subscriptions, several operations in one document.

Costs follow Shopify's published rules: scalars and enums 0, objects 1, connections
2 + first (or last) x the cost of one node, mutations 10; the inline fragments of an object
cost as much as the dearest of them (a node is of one type only), and `nodes(ids:)` costs one
object per id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MUTATION_COST = 10
CONNECTION_MARKERS = frozenset({"edges", "nodes", "pageInfo"})

_TOKEN = re.compile(
    r'(?P<skip>[\s,]+|\#[^\n]*)|(?P<block>"""(?:[^"\\]|\\.|"(?!""))*""")'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>\.\.\.|[{}():!$\[\]=@])"
)


class GraphQLSyntaxError(ValueError):
    """The document is not GraphQL this reader understands."""


@dataclass
class Field:
    """One selected field, arguments already resolved against the variables."""

    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] = field(default_factory=list)
    on: str | None = None  # an inline fragment's type condition (its name is "...")

    @property
    def key(self) -> str:
        return self.alias or self.name

    @property
    def is_connection(self) -> bool:
        return any(s.name in CONNECTION_MARKERS for s in self.selections)

    def child(self, name: str) -> Field | None:
        return next((s for s in self.selections if s.name == name), None)

    def node_selection(self) -> list[Field]:
        """The selection applied to each node of a connection (`edges { node }` or `nodes`)."""
        edges = self.child("edges")
        node = edges.child("node") if edges else None
        if node is None:
            node = self.child("nodes")
        return node.selections if node else []


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    fields: list[Field]


class _Variable:
    def __init__(self, name: str) -> None:
        self.name = name


class _Enum(str):
    """An unquoted enum value (kept apart from strings only for error messages)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise GraphQLSyntaxError(f"Parse error on {text[pos : pos + 20]!r} (offset {pos})")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "skip":
            out.append((kind, m.group()))
    return out


class _Parser:
    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.variables = dict(variables)

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise GraphQLSyntaxError("Parse error: unexpected end of document")
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise GraphQLSyntaxError(f"Parse error on {tok[1]!r}: expected {expected!r}")
        self.i += 1
        return tok

    def operation(self) -> Operation:
        kind = "query"
        if self.peek() in ("query", "mutation"):
            kind = self.take()[1]
            if self.peek() not in ("{", "("):
                self.take()  # operation name
            if self.peek() == "(":
                self.variable_definitions()
        elif self.peek() in ("subscription", "fragment"):
            raise GraphQLSyntaxError(f"{self.peek()} is not supported")
        fields = self.selection_set()
        if self.peek() is not None:
            raise GraphQLSyntaxError("only one operation per document is supported")
        return Operation(kind, fields)

    def variable_definitions(self) -> None:
        self.take("(")
        while self.peek() != ")":
            self.take("$")
            name = self.take()[1]
            self.take(":")
            self.type_ref()
            if self.peek() == "=":
                self.take("=")
                default = self.value()
                self.variables.setdefault(name, default)
        self.take(")")

    def type_ref(self) -> None:
        if self.peek() == "[":
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.take()
        if self.peek() == "!":
            self.take("!")

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields = []
        while self.peek() != "}":
            if self.peek() == "@":
                raise GraphQLSyntaxError("directives are not supported")
            fields.append(self.inline_fragment() if self.peek() == "..." else self.field())
        self.take("}")
        if not fields:
            raise GraphQLSyntaxError("Parse error: empty selection set")
        return fields

    def inline_fragment(self) -> Field:
        self.take("...")
        if self.peek() != "on":
            raise GraphQLSyntaxError("named fragments are not supported")
        self.take("on")
        kind, type_name = self.take()
        if kind != "name":
            raise GraphQLSyntaxError(f"Parse error on {type_name!r}: expected a type name")
        return Field("...", selections=self.selection_set(), on=type_name)

    def field(self) -> Field:
        kind, name = self.take()
        if kind != "name":
            raise GraphQLSyntaxError(f"Parse error on {name!r}: expected a field name")
        alias = None
        if self.peek() == ":":
            self.take(":")
            alias, name = name, self.take()[1]
        args: dict[str, Any] = {}
        if self.peek() == "(":
            self.take("(")
            while self.peek() != ")":
                arg = self.take()[1]
                self.take(":")
                args[arg] = self.value()
            self.take(")")
        selections = self.selection_set() if self.peek() == "{" else []
        return Field(name, alias, args, selections)

    def value(self) -> Any:
        kind, text = self.take()
        if text == "$":
            name = self.take()[1]
            return self.variables.get(name)
        if kind == "string":
            return _unescape(text[1:-1])
        if kind == "block":
            return _block_string(text[3:-3])
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if text == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            obj = {}
            while self.peek() != "}":
                key = self.take()[1]
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, _Enum(text))
        raise GraphQLSyntaxError(f"Parse error on {text!r}: expected a value")


def _unescape(body: str) -> str:
    simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _block_string(body: str) -> str:
    lines = body.replace('\\"""', '"""').splitlines()
    indents = [len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()]
    common = min(indents) if indents else 0
    lines = lines[:1] + [ln[common:] for ln in lines[1:]]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def parse(text: str, variables: dict[str, Any] | None = None) -> Operation:
    """Parse one operation; variables are substituted into the arguments."""
    return _Parser(text, variables or {}).operation()


def requested_cost(operation: Operation) -> int:
    """The cost Shopify charges up front: connections priced at their full page size."""
    if operation.kind == "mutation":
        return MUTATION_COST * len(operation.fields)
    return sum(_field_cost(f) for f in operation.fields)


def _field_cost(f: Field) -> int:
    if not f.selections:
        return 0
    if f.is_connection:
        size = f.args.get("first") or f.args.get("last") or 0
        return 2 + int(size) * (1 + _selection_cost(f.node_selection()))
    if f.name == "nodes" and isinstance(f.args.get("ids"), list):
        return len(f.args["ids"]) * (1 + _selection_cost(f.selections))
    return 1 + _selection_cost(f.selections)


def _selection_cost(selections: list[Field]) -> int:
    fragments = [_selection_cost(s.selections) for s in selections if s.on is not None]
    fields = sum(_field_cost(s) for s in selections if s.on is None)
    return fields + max(fragments, default=0)


def connection_count(fields: list[Field]) -> int:
    """How many connections a selection holds (bulk queries allow at most five)."""
    return sum(
        (1 if f.is_connection else 0)
        + connection_count(f.node_selection() if f.is_connection else f.selections)
        for f in fields
    )


def connection_depth(fields: list[Field]) -> int:
    """The deepest nesting of connections in a selection."""
    deepest = 0
    for f in fields:
        if f.is_connection:
            deepest = max(deepest, 1 + connection_depth(f.node_selection()))
        else:
            deepest = max(deepest, connection_depth(f.selections))
    return deepest
