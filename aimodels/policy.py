"""Running the CrossGuard pack (policy/) from ``aimodels``, and reading its results.

The engine resolves a relative ``--policy-pack`` path against the program's directory (``main:
stacks/``), not the shell's, so ``aimodels`` always passes an absolute path, and turns a relative
one given after ``--`` into an absolute one (relative to the current directory, as a user means it).

Policy results are not in ``pulumi preview --json`` (the JSON display drops policy events), so the
review runs the preview with ``--event-log`` (a flag the CLI offers with ``PULUMI_DEBUG_COMMANDS=true``,
as the Automation API runs it) and reads the ``policyEvent`` entries from there.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimodels.pulumi_cli import UserError

PACK = Path("policy") / "aimodels-policy"
SKIPPED_MESSAGE = "aimodels: policy pack skipped for prod (--skip-policy)"


def ensure_pack(root: Path) -> Path:
    """The pack's absolute path, its virtualenv made first (policy/setup.sh, idempotent)."""
    setup = root / "policy" / "setup.sh"
    pack = (root / PACK).resolve()
    if setup.is_file():
        proc = subprocess.run(["bash", str(setup)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise UserError(f"policy/setup.sh failed (exit {proc.returncode}): "
                            f"{' '.join((proc.stderr or proc.stdout).split()[-40:])}")
        printed = proc.stdout.strip().splitlines()
        if printed and Path(printed[-1]).is_file():
            pack = Path(printed[-1]).resolve()
    if not pack.exists():
        raise UserError(f"no policy pack at {pack}")
    return pack


def absolutize(extra: list[str]) -> tuple[list[str], bool]:
    """``extra`` with each ``--policy-pack`` path made absolute; also whether one was given."""
    out, given = [], False
    i = 0
    while i < len(extra):
        arg = extra[i]
        if arg == "--policy-pack" and i + 1 < len(extra):
            out += [arg, str(Path(extra[i + 1]).resolve())]
            given, i = True, i + 2
            continue
        if arg.startswith("--policy-pack="):
            out.append("--policy-pack=" + str(Path(arg.split("=", 1)[1]).resolve()))
            given = True
        else:
            out.append(arg)
        i += 1
    return out, given


@dataclass
class Violation:
    pack: str
    policy: str
    level: str
    urn: str
    message: str

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"


def policy_events(path: Path) -> list[Violation]:
    """The policy violations in a Pulumi event log (one JSON event per line)."""
    out: list[Violation] = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            event: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        pe = event.get("policyEvent")
        if not pe:
            continue
        message = " ".join(str(pe.get("message", "")).split())
        out.append(Violation(f"{pe.get('policyPackName')}@v{pe.get('policyPackVersion')}", str(pe.get("policyName")),
                             str(pe.get("enforcementLevel")), str(pe.get("resourceUrn") or ""), message))
    return out
