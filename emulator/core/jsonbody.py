"""JSON parsing that never turns a hostile body into a 500.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on deeply nested input, and a value
nested just below Python's recursion limit breaks whatever walks it next (schema validation,
``json.dumps`` into SQLite). ``loads`` here bounds the nesting depth, so every platform can keep
its single ``except ValueError`` for "this body is not acceptable JSON" and answer its own 400.

The depth bound is a guess: the vendors do not document one. 64 levels is far beyond anything
their documented payloads use (free-form maps such as PAI ``ExtraInfo`` included) and far below
the point where recursion in the standard library becomes a risk.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class JsonBodyError(ValueError):
    """The text is not JSON, or is nested deeper than ``MAX_DEPTH``."""


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True if ``value`` nests lists/dicts more than ``limit`` levels deep (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


def loads(raw: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises ``JsonBodyError`` for malformed, undecodable or too deeply nested input."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonBodyError(f"JSON nested more than {max_depth} levels deep") from None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise JsonBodyError(str(e)) from None
    if depth_exceeds(value, max_depth):
        raise JsonBodyError(f"JSON nested more than {max_depth} levels deep")
    return value
