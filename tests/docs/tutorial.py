"""Read and run the command transcripts of a Markdown page (docs/getting-started.md).

The convention, stated on the page itself:

* Only fenced blocks whose info string is ``console`` are transcripts; ``sh``/``yaml`` blocks are
  for reading only.
* In a transcript, a line starting with ``$ `` is a command. The lines after it, up to the next
  command, are lines its output (stdout and stderr together) must contain, in that order; other
  output lines may come between them. Blank lines are ignored.
* In an expected line, runs of spaces match any run of spaces, a colon may have spaces before it
  (Pulumi aligns its columns to the longest key), and ``...`` matches any text (ids, times,
  counts that change from run to run).
* A command must exit 0, unless it ends with a comment ``# exit N``: then it must exit N.

Commands run one after the other in one working directory through ``bash``; what one command
exports (``export X=...``) and a ``cd`` carry over to the next, as in a terminal.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
EXIT = re.compile(r"#\s*exit\s+(?P<code>\d+)\s*$")


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0
    line: int = 0  # line of the command in the page (1-based)


def parse(text: str) -> list[Step]:
    """Every command of every ``console`` block, with the output lines shown under it."""
    steps: list[Step] = []
    in_block: str | None = None  # the closing fence while inside a block
    is_console = False
    block_start = 0  # index of the block's first step
    for number, raw in enumerate(text.splitlines(), start=1):
        m = FENCE.match(raw)
        if in_block is None:
            if m:
                in_block = m["fence"]
                is_console = m["info"].strip().split(" ")[0] == "console"
                block_start = len(steps)
            continue
        if m and m["fence"].startswith(in_block) and not m["info"].strip():
            in_block = None
            continue
        if not is_console:
            continue
        line = raw.rstrip()
        if line.startswith("$ "):
            command = line[2:].strip()
            code = EXIT.search(command)
            steps.append(Step(command, [], int(code["code"]) if code else 0, number))
        elif line.strip():
            if len(steps) == block_start:
                raise ValueError(f"line {number}: output line before any command in a console block: {line!r}")
            steps[-1].expected.append(line)
    return steps


def pattern(expected: str) -> re.Pattern[str]:
    def words(chunk: str) -> str:
        rx = r"\s+".join(re.escape(word) for word in chunk.split())
        return re.sub(r"\\s\+:|(?<!\\s\+):", r"\\s*:", rx)  # "key:" and "key  :" both match

    parts = [words(chunk) for chunk in expected.strip().split("...")]
    return re.compile(r"^\s*" + r".*?".join(parts) + r"\s*$")


def missing(expected: list[str], output: str) -> str | None:
    """The first expected line not found (in order) in ``output``, or None when all are there."""
    lines = output.splitlines()
    at = 0
    for want in expected:
        rx = pattern(want)
        while at < len(lines) and not rx.match(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


class Shell:
    """Runs commands as a terminal would: one cwd and one set of exported variables throughout."""

    def __init__(self, cwd: Path, env: dict[str, str], state_dir: Path) -> None:
        self.env = env
        self.state = state_dir / "exports.sh"
        self.cwd_file = state_dir / "cwd"
        self.state.write_text("")
        self.cwd_file.write_text(str(cwd))

    def run(self, command: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        script = (f'. "{self.state}"\ncd "$(cat "{self.cwd_file}")" || exit 97\n'
                  f"{command}\n"
                  f'__rc=$?\nexport -p | grep -v -E "^declare -x (OLDPWD|PWD|SHLVL|_)=" > "{self.state}.new"\n'
                  f'mv "{self.state}.new" "{self.state}"\npwd > "{self.cwd_file}"\nexit $__rc\n')
        return subprocess.run(["bash", "-c", script], env=self.env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)


def clean_env(extra: dict[str, str], drop_path_dirs: list[Path]) -> dict[str, str]:
    """The environment of a fresh terminal: no Pulumi or aimodels settings inherited from the test
    run, and none of ``drop_path_dirs`` on PATH (the page must put its tools there itself)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULUMI_", "AIMODELS_", "PYTEST_", "VIRTUAL_ENV"))}
    dropped = {str(d.resolve()) for d in drop_path_dirs}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and str(Path(p).resolve()) not in dropped)
    env.update(extra)
    return env
