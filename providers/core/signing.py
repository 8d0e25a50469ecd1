"""Pieces every HMAC request-signing scheme shares: RFC 3986 encoding, the canonical query
string, and a UTC clock that tests can replace. The schemes themselves live with their platform."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import quote, unquote_to_bytes

Clock = Callable[[], "datetime | float"]


def rfc3986_encode(value: str | bytes) -> str:
    """Percent-encode everything except ``A-Za-z0-9-_.~`` (UTF-8, upper-case hex)."""
    return quote(value, safe="-_.~")


def parse_query(raw_query: str) -> list[tuple[bytes, bytes]]:
    """Split a raw query into decoded (name, value) byte pairs, order kept.

    ``+`` is read as a space (httpx writes spaces in ``params=`` that way);
    a bare ``name`` has the empty value; empty ``&&`` segments are skipped.
    """
    pairs: list[tuple[bytes, bytes]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_to_bytes(name.replace("+", " ")), unquote_to_bytes(value.replace("+", " "))))
    return pairs


def join_pairs(pairs: list[tuple[bytes, bytes]]) -> str:
    return "&".join(f"{rfc3986_encode(k)}={rfc3986_encode(v)}" for k, v in pairs)


def canonical_query_string(raw_query: str) -> str:
    """Canonical query string of a raw query (without the leading ``?``): pairs sorted by
    decoded name then value, both RFC 3986-encoded, joined with ``&``."""
    return join_pairs(sorted(parse_query(raw_query)))


def utc_now(clock: Clock | None) -> datetime:
    value = clock() if clock is not None else datetime.now(timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
