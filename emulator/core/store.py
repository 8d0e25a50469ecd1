"""SQLite-backed document store shared by every emulated platform.

Each object is a JSON document addressed by (platform, kind, id). State
survives a restart of the emulator because it lives in one SQLite file.
Settings (async timings and the like) live in the same file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    platform TEXT NOT NULL,
    kind     TEXT NOT NULL,
    id       TEXT NOT NULL,
    body     TEXT NOT NULL,
    created  REAL NOT NULL,
    updated  REAL NOT NULL,
    PRIMARY KEY (platform, kind, id)
);
CREATE TABLE IF NOT EXISTS settings (
    platform TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (platform, key)
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    platform TEXT NOT NULL,
    nonce    TEXT NOT NULL,
    expires  REAL NOT NULL,
    PRIMARY KEY (platform, nonce)
);
"""


class Store:
    """A thread-safe JSON document store on one SQLite file.

    Writes that must be atomic across several documents use ``transaction()``;
    the store's lock is re-entrant so platform code can nest calls inside it.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    # -- transactions -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Store]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    # -- documents ----------------------------------------------------------
    def put(self, platform: str, kind: str, id: str, body: dict[str, Any]) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO objects(platform, kind, id, body, created, updated) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(platform, kind, id) DO UPDATE SET body=excluded.body, updated=excluded.updated",
                (platform, kind, id, json.dumps(body, sort_keys=True), now, now),
            )

    def get(self, platform: str, kind: str, id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM objects WHERE platform=? AND kind=? AND id=?", (platform, kind, id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, platform: str, kind: str, id: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM objects WHERE platform=? AND kind=? AND id=?", (platform, kind, id)
            )
        return cur.rowcount > 0

    def list(self, platform: str, kind: str) -> list[dict[str, Any]]:
        """All documents of one kind, oldest first (insertion order)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM objects WHERE platform=? AND kind=? ORDER BY created, rowid",
                (platform, kind),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def dump(self, platform: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """Everything, as {platform: {kind: {id: body}}}; used by the admin surface."""
        sql = "SELECT platform, kind, id, body FROM objects"
        args: tuple[Any, ...] = ()
        if platform:
            sql += " WHERE platform=?"
            args = (platform,)
        out: dict[str, dict[str, dict[str, Any]]] = {}
        with self._lock:
            for plat, kind, id_, body in self._db.execute(sql + " ORDER BY created, rowid", args):
                out.setdefault(plat, {}).setdefault(kind, {})[id_] = json.loads(body)
        return out

    def reset(self, platform: str | None = None) -> None:
        with self._lock:
            if platform:
                self._db.execute("DELETE FROM objects WHERE platform=?", (platform,))
                self._db.execute("DELETE FROM settings WHERE platform=?", (platform,))
                self._db.execute("DELETE FROM nonces WHERE platform=?", (platform,))
            else:
                self._db.execute("DELETE FROM objects")
                self._db.execute("DELETE FROM settings")
                self._db.execute("DELETE FROM nonces")

    # -- settings -----------------------------------------------------------
    def setting(self, platform: str, key: str, default: Any) -> Any:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM settings WHERE platform=? AND key=?", (platform, key)
            ).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, platform: str, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO settings(platform, key, value) VALUES (?,?,?) "
                "ON CONFLICT(platform, key) DO UPDATE SET value=excluded.value",
                (platform, key, json.dumps(value)),
            )

    def settings(self, platform: str) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM settings WHERE platform=?", (platform,)
            ).fetchall()
        return {k: json.loads(v) for k, v in rows}

    # -- replay protection ----------------------------------------------------
    def claim_nonce(self, platform: str, nonce: str, ttl_s: float) -> bool:
        """Record a request nonce for ``ttl_s`` seconds; False if it is already on record.

        Kept apart from the documents so admin listings stay about the platform's objects;
        expired nonces are purged on the way. Survives a restart like everything else.
        """
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM nonces WHERE expires < ?", (now,))
            cur = self._db.execute(
                "INSERT OR IGNORE INTO nonces(platform, nonce, expires) VALUES (?,?,?)",
                (platform, nonce, now + ttl_s),
            )
        return cur.rowcount > 0

    # -- counters (ids that must be sequential) ------------------------------
    def next_counter(self, name: str) -> int:
        with self._lock:
            self._db.execute(
                "INSERT INTO counters(name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            return self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
