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

Once no run holds the stack, the creates the dead run had started are still recorded in its state
as pending CREATE operations. The engine never clears those itself: every ``pulumi up`` copies them
into the state it writes and warns about them again (pkg/backend/snapshot.go and journal.go,
"Track pending create operations from the base snapshot"). So this command then runs the engine's
own clearing, ``pulumi refresh --clear-pending-creates --yes --skip-preview --non-interactive``,
naming each resource it clears. That is safe here: the next ``pulumi up`` creates those resources
again, and each create recognises the object its killed predecessor sent by the durable handle
(providers/core/create.py). Before clearing, it keeps the pending creates in the project
(``.aimodels/pending-creates/<stack>.json``, providers/core/state.py): for an object the platform
gives no field for a marker (an ESD role or user), that record is the proof that the object
holding the resource's name is the one this resource asked for. The refresh also reads every
other resource from its platform.

Then ``pulumi up`` finishes the job (docs/interrupted-runs.md). Only ``file://`` backends (the
project's default) can be inspected here; for an object-store backend the command says what to
check and prints the ``pulumi cancel`` command. The lock files and (through the CLI) the pending
creates are the only things this changes.
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


CLEAR_PENDING = ["refresh", "--clear-pending-creates", "--yes", "--skip-preview"]


def pending_creates(pulumi, stack: str) -> list[dict]:
    """The stack's pending CREATE operations, as exported (none for a stack not created yet)."""
    proc = pulumi.run(["stack", "export", "--stack", stack], check=False)
    if proc.returncode != 0:
        text = (proc.stderr or "") + (proc.stdout or "")
        if "no stack named" in text:
            return []
        raise RecoverError(f"pulumi stack export --stack {stack} failed (exit {proc.returncode}): "
                           + " ".join(text.split()[-40:]))
    deployment = json.loads(proc.stdout or "{}").get("deployment") or {}
    return [op for op in deployment.get("pending_operations") or [] if op.get("type") == "creating"]


def urn_of(op: dict) -> str:
    return str((op.get("resource") or {}).get("urn") or "?")


def keep_record(root: Path, stack: str, ops: list[dict]) -> None:
    """Before clearing them, keep the pending creates for the `pulumi up` that follows
    (providers/core/state.py, "the recovery record"): for a platform object with no field for a
    marker (an ESD role or user), the record is what proves this resource asked for it. Creates
    kept by an earlier recovery stay unless one of the same resource replaces them."""
    from providers.core import state

    previous = state.read_record_at(str(root), stack)
    urns = {urn_of(op) for op in ops}
    state.write_record(str(root), stack, [op for op in previous if urn_of(op) not in urns] + ops)


def clear_pending_creates(stack: str, project_dir: Path, say=print, emulator: bool = False,
                          emulator_url: str | None = None) -> int:
    """Run the engine's own clearing of the stack's pending creates, when it has any; returns how many."""
    from aimodels.pulumi_cli import Project, Pulumi, UserError

    try:
        pulumi = Pulumi(Project.find(project_dir), emulator=emulator, emulator_url=emulator_url)
    except UserError as exc:
        raise RecoverError(str(exc)) from None
    ops = pending_creates(pulumi, stack)
    if not ops:
        return 0
    urns = [urn_of(op) for op in ops]
    say(f"stack {stack}: {len(urns)} create(s) the interrupted run had started are pending in state: "
        + ", ".join(urn.split("::")[-1] for urn in urns))
    keep_record(pulumi.project.root, stack, ops)
    cfg = pulumi.config_file(stack)
    proc = pulumi.run([*CLEAR_PENDING, "--stack", stack, *pulumi.config_args(cfg)], check=False)
    left = pending_creates(pulumi, stack)
    if proc.returncode != 0 or left:
        text = " ".join(((proc.stderr or "") + (proc.stdout or "")).split()[-40:])
        raise RecoverError(f"pulumi refresh --clear-pending-creates --stack {stack} failed (exit {proc.returncode}, "
                           f"{len(left)} pending create(s) left): {text}")
    say(f"stack {stack}: cleared them with `pulumi refresh --clear-pending-creates` (the state now reads the "
        "platforms); the next up creates them again and each create continues with the object the "
        "interrupted run sent")
    return len(urns)


def recover(stack: str, project_dir: Path, say=print, host: str | None = None, emulator: bool = False,
            emulator_url: str | None = None) -> int:
    """Clear the locks of ``stack`` that belong to dead runs on this host (refuse otherwise), then
    the stack's pending creates. Returns the number of locks removed."""
    root = backend_root(backend_url(project_dir), stack)
    found = locks(root, stack)
    if not found:
        # No backend directory yet: no stack, so nothing pending either.
        cleared = clear_pending_creates(stack, project_dir, say, emulator, emulator_url) \
            if (root / ".pulumi").is_dir() else 0
        if not cleared:
            say(f"stack {stack}: no lock in {root} and no pending create; nothing to clear. "
                f"Next: pulumi up --stack {stack}")
            return 0
        say(f"Next: pulumi up --stack {stack} (it finishes what the interrupted run left; see docs/interrupted-runs.md)")
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
    clear_pending_creates(stack, project_dir, say, emulator, emulator_url)
    say(f"Next: pulumi up --stack {stack} (it finishes what the interrupted run left; see docs/interrupted-runs.md)")
    return len(found)


def register(sub, common) -> None:
    """``aimodels recover --stack X`` (wired by aimodels/cli.py's build_parser)."""
    parser = sub.add_parser("recover", parents=[common], help="clear the stack lock and pending creates of a run "
                                                              "that died on this host (then pulumi up)")
    parser.add_argument("--stack", required=True)
    parser.set_defaults(func=_cmd)


def _cmd(args) -> int:
    from aimodels.pulumi_cli import Project, UserError

    project_dir = Project.find(Path(args.project_dir) if args.project_dir else None).root
    try:
        recover(args.stack, project_dir, say=lambda line: print(line, flush=True), emulator=args.emulator,
                emulator_url=args.emulator_url)
    except RecoverError as exc:
        raise UserError(str(exc)) from None
    return 0
