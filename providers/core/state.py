"""What the stack's state holds for a resource, read from the engine's own backend.

The engine tells a provider what state holds for a resource through the old inputs of Check and
through Diff. For a *targeted* replacement (`pulumi up --replace <urn>`, a resource marked with
`pulumi state taint`) it does neither: it checks the new inputs without old ones and calls no
Diff, so a Check cannot tell that replacement from a new resource. The durable create handle
(providers/core/create.py) needs that difference, or the replacement would take its original for
its own. This module asks the backend, once per provider process (the resources a run can
replace are all in the state it started from): a ``file://`` backend named by PULUMI_BACKEND_URL
is read directly; any other through ``pulumi stack export`` of the URN's stack, run by the same
CLI that runs the engine, with the engine's environment (backend, credentials) and working
directory. Neither takes a lock, so both work while the engine holds the stack's.

The same read answers a second question (``pending_create``): did an interrupted run of this
resource begin a create? The engine records a create as pending, with the resource's inputs,
before it calls the provider; a killed run leaves that record behind, and ``aimodels recover``
keeps a copy of it when it clears it (the recovery record below). For objects the platform gives
no field for a marker, that record is what proves the object holding the resource's name is the
one this resource asked for.

Reading is best effort: when the CLI or the backend cannot answer, ``held`` and
``pending_create`` say nothing (``None``) and the caller behaves as it would without state.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from providers.core.progress import progress

EXPORT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Held:
    """A resource as the stack's state holds it."""

    id: str
    inputs: dict[str, Any]


def parse_urn(urn: str) -> tuple[str, str] | None:
    """(stack, project) of ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    if not urn.startswith("urn:pulumi:"):
        return None
    parts = urn[len("urn:pulumi:"):].split("::")
    return (parts[0], parts[1]) if len(parts) >= 4 and parts[0] and parts[1] else None


def engine_cli() -> str | None:
    """The `pulumi` executable running this process's engine (an ancestor process), else PATH's."""
    pid = os.getppid()
    for _ in range(8):
        if pid <= 1:
            break
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
                stat = f.read()
        except OSError:
            break
        if os.path.basename(exe) == "pulumi":
            return exe
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the parent's pid follows the state field
    return shutil.which("pulumi")


def resources_of(deployment: dict[str, Any]) -> dict[str, Held]:
    """URN -> what the state holds for it: live resources only (not those waiting to be deleted)."""
    held: dict[str, Held] = {}
    for res in deployment.get("resources") or []:
        if res.get("delete") or not res.get("id") or not isinstance(res.get("urn"), str):
            continue
        held[res["urn"]] = Held(str(res["id"]), dict(res.get("inputs") or {}))
    return held


def from_file_backend(stack: str, project: str, url: str | None = None) -> dict[str, Any] | None:
    """The checkpoint straight from a ``file://`` backend (``url``, else PULUMI_BACKEND_URL; no CLI
    process): ``.pulumi/stacks/<project>/<stack>.json`` (``.gz`` when the backend compresses).
    None when the backend is another kind or the file is not where the layout puts it."""
    url = os.environ.get("PULUMI_BACKEND_URL", "") if url is None else url
    if not url.startswith("file://"):
        return None
    root = urllib.parse.urlparse(url).path or "/"
    if url.startswith("file://~"):
        root = os.path.expanduser("~" + url[len("file://~"):])
    base = os.path.join(root, ".pulumi", "stacks", project, stack + ".json")
    for path, opener in ((base, open), (base + ".gz", gzip.open)):
        try:
            with opener(path, "rt", encoding="utf-8") as f:
                return dict((json.load(f).get("checkpoint") or {}).get("latest") or {})
        except FileNotFoundError:
            continue
        except (OSError, ValueError, AttributeError):
            return None
    return None


def export(stack: str, project: str) -> dict[str, Any] | None:
    """The stack's last checkpoint (``deployment``), or None when it cannot be read."""
    local = from_file_backend(stack, project)
    if local is not None:
        return local
    cli = engine_cli()
    if cli is None:
        return None
    for ref in (stack, f"organization/{project}/{stack}"):
        try:
            done = subprocess.run([cli, "stack", "export", "--stack", ref], capture_output=True, text=True,
                                  timeout=EXPORT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                                  env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"})
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode == 0:
            try:
                return dict(json.loads(done.stdout).get("deployment") or {})
            except (ValueError, AttributeError):
                return None
    return None


def pending_creates_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """URN -> the inputs of a create the engine began and never saw finish (``pending_operations``
    of type ``creating``: the engine records them before it calls the provider's Create)."""
    found: dict[str, dict[str, Any]] = {}
    for op in deployment.get("pending_operations") or []:
        res = op.get("resource") or {}
        if op.get("type") == "creating" and isinstance(res.get("urn"), str):
            found[res["urn"]] = dict(res.get("inputs") or {})
    return found


# -- the recovery record ------------------------------------------------------------------------
# `aimodels recover` clears the pending creates of a killed run (every later `up` would warn about
# them forever); before it does, it keeps them here, in the project, for the `pulumi up` that
# follows on the same machine: <project root>/.aimodels/pending-creates/<stack>.json,
# {"written": <unix time>, "pending_operations": [<as exported>]}.
RECORD_DIR = os.path.join(".aimodels", "pending-creates")
RECORD_MAX_AGE_S = 24 * 3600.0


def project_root(start: str | None = None) -> str | None:
    """The nearest directory at or above ``start`` (the working directory) holding Pulumi.yaml."""
    d = os.path.abspath(start or os.getcwd())
    while True:
        if any(os.path.isfile(os.path.join(d, n)) for n in ("Pulumi.yaml", "Pulumi.yml")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def record_path(root: str, stack: str) -> str:
    return os.path.join(root, RECORD_DIR, f"{stack}.json")


def write_record(root: str, stack: str, pending_operations: list[dict[str, Any]]) -> str:
    """Keep the pending creates ``aimodels recover`` is about to clear (see above)."""
    path = record_path(root, stack)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"written": time.time(), "pending_operations": pending_operations}, f)
    os.replace(tmp, path)
    return path


def read_record_at(root: str, stack: str) -> list[dict[str, Any]]:
    """The pending operations kept by the last recovery of ``stack``, unless older than a day."""
    try:
        with open(record_path(root, stack), encoding="utf-8") as f:
            record = json.load(f)
        if time.time() - float(record.get("written") or 0) > RECORD_MAX_AGE_S:
            return []
        return [op for op in record.get("pending_operations") or [] if isinstance(op, dict)]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def read_record(stack: str) -> dict[str, dict[str, Any]]:
    """URN -> inputs of the creates the last recovery of ``stack`` kept (the working directory's
    project)."""
    root = project_root()
    return {} if root is None else pending_creates_of({"pending_operations": read_record_at(root, stack)})


@dataclass(frozen=True)
class Stack:
    resources: dict[str, Held]  # live resources
    pending: dict[str, dict[str, Any]]  # creates an interrupted run began: URN -> inputs


_cache: dict[tuple[str, str], Stack | None] = {}
_lock = threading.Lock()


def _stack(urn: str) -> Stack | None:
    where = parse_urn(urn)
    if where is None:
        return None
    with _lock:
        if where not in _cache:
            deployment = export(*where)
            if deployment is None:
                progress(f"could not read the state of stack {where[0]!r}: a targeted replacement "
                         "(`--replace`, a tainted resource) cannot be told from a new resource")
                _cache[where] = None
            else:
                pending = {**read_record(where[0]), **pending_creates_of(deployment)}
                _cache[where] = Stack(resources_of(deployment), pending)
        return _cache[where]


def held(urn: str) -> Held | None:
    """What the state of ``urn``'s stack holds for ``urn`` (read once per process and stack)."""
    stack = _stack(urn)
    return None if stack is None else stack.resources.get(urn)


def pending_create(urn: str) -> dict[str, Any] | None:
    """The inputs of a create of ``urn`` that an interrupted run began and never finished: a
    pending create in the stack's state, or one ``aimodels recover`` kept before clearing it."""
    stack = _stack(urn)
    return None if stack is None else stack.pending.get(urn)
