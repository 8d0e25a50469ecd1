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

Reading is best effort: when the CLI or the backend cannot answer, ``held`` says nothing
(``None``) and the caller behaves as it would without state.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import threading
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


def from_file_backend(stack: str, project: str) -> dict[str, Any] | None:
    """The checkpoint straight from a ``file://`` backend named by PULUMI_BACKEND_URL (no CLI
    process): ``.pulumi/stacks/<project>/<stack>.json`` (``.gz`` when the backend compresses).
    None when the backend is another kind or the file is not where the layout puts it."""
    url = os.environ.get("PULUMI_BACKEND_URL", "")
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


_cache: dict[tuple[str, str], dict[str, Held] | None] = {}
_lock = threading.Lock()


def held(urn: str) -> Held | None:
    """What the state of ``urn``'s stack holds for ``urn`` (read once per process and stack)."""
    where = parse_urn(urn)
    if where is None:
        return None
    with _lock:
        if where not in _cache:
            deployment = export(*where)
            if deployment is None:
                progress(f"could not read the state of stack {where[0]!r}: a targeted replacement "
                         "(`--replace`, a tainted resource) cannot be told from a new resource")
            _cache[where] = resources_of(deployment) if deployment is not None else None
        resources = _cache[where]
    return None if resources is None else resources.get(urn)
