"""Strict request input: what the API refuses before any view, schema or database sees it.

Python's json accepts things that later fail far from the input, as a 500: nesting deep enough to
exhaust the interpreter's recursion (RecursionError is not a ValueError, so nothing catches it),
`NaN` and `1e999999` (infinity), integers of thousands of digits (PostgreSQL overflows, Python's
int-digit limit raises), duplicate keys (silently last-wins, so two readers may disagree), NUL
characters and lone surrogates (PostgreSQL text holds neither; the driver raises). The body is
parsed here once, strictly, with limits; webargs parses the same bytes again after it passed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 32
MAX_ITEMS = 10_000  # per array or object; no endpoint takes more than a few hundred
INT_LIMIT = 2**63  # the widest integer column is a bigint
_INT_DIGITS = len(str(INT_LIMIT)) + 1  # sign included: longer strings are refused unparsed
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class BadInput(ValueError):
    """Input the API refuses, with a message meant for the client."""


def parse_body(data: bytes) -> Any:
    """The JSON value of a request body, or BadInput saying what is wrong with it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise BadInput(f"The body nests deeper than {MAX_DEPTH} levels.") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"The body is not valid JSON: {exc.msg} at character {exc.pos}.") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Refuse nesting past MAX_DEPTH, containers past MAX_ITEMS and text PostgreSQL cannot hold.

    Iterative, so that the check itself cannot run out of stack.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            check_text(item)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise BadInput(f"The body nests deeper than {MAX_DEPTH} levels.")
        if len(item) > MAX_ITEMS:
            raise BadInput(f"An array or object in the body has more than {MAX_ITEMS} items.")
        children: Iterable[Any] = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict):
            for key in item:
                check_text(key)
        pending.extend((child, depth + 1) for child in children)


def check_text(text: str) -> None:
    """PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return
    if found.group() == "\x00":
        raise BadInput("Strings must not contain NUL (U+0000) characters.")
    raise BadInput("Strings must be valid Unicode: a lone surrogate escape is not.")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise BadInput(f"The body repeats the key {json.dumps(key[:50])} in one object.")
        seen.add(key)
    return out


def _bounded_int(digits: str) -> int:
    if len(digits) <= _INT_DIGITS:
        number = int(digits)
        if -INT_LIMIT <= number < INT_LIMIT:
            return number
    raise BadInput("Integers in the body must fit in 64 bits.")


def _finite_float(digits: str) -> float:
    number = float(digits)
    if not math.isfinite(number):
        raise BadInput("Numbers in the body must be finite.")
    return number


def _no_constant(name: str) -> Any:
    raise BadInput(f"{name} is not a JSON number.")
