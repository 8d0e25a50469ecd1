"""``aimodels recover --stack X``: clear the stack lock a dead ``pulumi`` left behind, and say so.

A ``pulumi up`` or ``destroy`` that was killed (SIGKILL, a runner that died, a second Ctrl-C)
leaves its lock in a self-managed backend: ``<backend>/.pulumi/locks/<org>/<project>/<stack>/
<id>.json``, which names the process (pid, user, host, time). Every later command is refused
until the lock is gone. ``pulumi cancel`` deletes every lock of the stack without looking;
this command deletes a lock only when it can prove the run is over:

* the lock was taken on **this host** and its **process is gone** (or the pid now belongs to a
  process that is not ``pulumi``): the lock is deleted, with one line saying whose it was;
* the process is **alive**: refused, that run is still going (wait for it, or stop it first);
* the lock was taken on **another host**: refused, liveness cannot be checked from here (if you
  know that run is dead, ``pulumi cancel --stack X``).

Then ``pulumi up`` finishes the job (docs/interrupted-runs.md). Only ``file://`` backends (the
project's default) can be inspected here; for an object-store backend the command says what to
check and prints the ``pulumi cancel`` command. No state is read or written: Pulumi's lock files
are the only thing this touches.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse


class RecoverError(Exception):
    """Refused: one line saying why and what to do instead."""


@dataclass
class Lock:
    path: Path
    pid: int
    username: str
    hostname: str
    timestamp: str

    def owner(self) -> str:
        return f"{self.username}@{self.hostname} (pid {self.pid}) since {self.timestamp}"


def backend_url(project_dir: Path, environ: dict[str, str] | os._Environ = os.environ) -> str:
    """The backend the CLI would use: $PULUMI_BACKEND_URL, Pulumi.yaml's backend.url, or the
    current login in ~/.pulumi/credentials.json ($PULUMI_HOME)."""
    url = environ.get("PULUMI_BACKEND_URL", "")
    if url:
        return url
    for name in ("Pulumi.yaml", "Pulumi.yml"):
        project = project_dir / name
        if project.is_file():
            import yaml

            doc = yaml.safe_load(project.read_text()) or {}
            url = ((doc.get("backend") or {}).get("url") or "") if isinstance(doc, dict) else ""
            if url:
                return url
    home = Path(environ.get("PULUMI_HOME") or Path.home() / ".pulumi")
    try:
        return json.loads((home / "credentials.json").read_text()).get("current") or ""
    except (OSError, ValueError):
        return ""


def backend_root(url: str, stack: str = "<stack>") -> Path:
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise RecoverError(f"the backend {url or '(none)'} is not a file:// backend, so its lock cannot be checked "
                           "from here; make sure no run of the stack is still going (CI jobs, other machines), "
                           f"then run `pulumi cancel --stack {stack}`")
    path = unquote(parsed.path)
    if parsed.netloc and parsed.netloc != "localhost":
        path = parsed.netloc + path  # file://relative/path
    if path.startswith("/~"):
        path = path[1:]
    return Path(os.path.expanduser(path))


def locks(root: Path, stack: str) -> list[Lock]:
    """Every lock file of ``stack`` (``name``, ``project/name`` or ``org/project/name``)."""
    base = root / ".pulumi" / "locks"
    parts = [p for p in stack.split("/") if p]
    pattern = "/".join(["*"] * (3 - len(parts)) + parts) if len(parts) <= 3 else stack
    found = []
    for directory in sorted(base.glob(pattern)):
        for path in sorted(directory.glob("*.json")):
            try:
                doc = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            found.append(Lock(path, int(doc.get("pid") or 0), str(doc.get("username") or "?"),
                              str(doc.get("hostname") or "?"), str(doc.get("timestamp") or "?")))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running ``pulumi`` process on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: assume it is the run
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return True  # no /proc: a live pid is taken as the run
    return b"pulumi" in os.path.basename(cmdline)


def recover(stack: str, project_dir: Path, say=print, host: str | None = None) -> int:
    """Clear the locks of ``stack`` that belong to dead runs on this host; refuse otherwise.
    Returns the number of locks removed."""
    root = backend_root(backend_url(project_dir), stack)
    found = locks(root, stack)
    if not found:
        say(f"stack {stack}: no lock in {root}; nothing to clear. Next: pulumi up --stack {stack}")
        return 0
    here = host or socket.gethostname()
    for lock in found:
        if lock.hostname != here:
            raise RecoverError(f"stack {stack} is locked by {lock.owner()}, a run on another host; its liveness "
                               f"cannot be checked from {here}. If you know that run is over, run "
                               f"`pulumi cancel --stack {stack}`")
        if alive(lock.pid):
            raise RecoverError(f"stack {stack} is locked by {lock.owner()}, which is still running on this host; "
                               "wait for it to end (or stop it), then run this again")
    for lock in found:
        lock.path.unlink(missing_ok=True)
        say(f"stack {stack}: cleared the lock of {lock.owner()}: that process is gone")
    say(f"Next: pulumi up --stack {stack} (it finishes what the interrupted run left; see docs/interrupted-runs.md)")
    return len(found)


def register(sub, common) -> None:
    """``aimodels recover --stack X`` (wired by aimodels/cli.py's build_parser)."""
    parser = sub.add_parser("recover", parents=[common], help="clear the stack lock of a run that died on this "
                                                              "host (then pulumi up)")
    parser.add_argument("--stack", required=True)
    parser.set_defaults(func=_cmd)


def _cmd(args) -> int:
    from aimodels.pulumi_cli import Project, UserError

    project_dir = Project.find(Path(args.project_dir) if args.project_dir else None).root
    try:
        recover(args.stack, project_dir, say=lambda line: print(line, flush=True))
    except RecoverError as exc:
        raise UserError(str(exc)) from None
    return 0
