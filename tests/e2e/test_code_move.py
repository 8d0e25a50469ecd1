"""Existing stacks survive the house moves of providers/ (issue 21): a stack made with the code of
before the moves (resource.py split into handler/checks/resource/program modules, resource classes
generated into providers/<platform>/resources.py) takes ``pulumi up`` with today's code with no
change and no replacement.

The old code is ``git archive`` of BEFORE into a temporary directory. Both runs use that
directory's stack program (stacks/), so only the providers (and aimodels) code differs between
them: the first run finds the old packages through PYTHONPATH, the second today's, for the program
and the provider process alike. The pickled ``__provider`` of every resource names
``providers.core.resource.DynamicProvider`` and the handler classes; both must still resolve.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from providers.core import create
from tests.e2e.conftest import REPO
from tests.e2e.test_stack import FAST, SECRETS, changes, quiet, resources, stack_config
from tests.emulator_process import Emulator

# main before the moves (the last commit with providers/core/resource.py whole and generated regions).
BEFORE = "2ed99bf5f2cb867331aa889f4806c8f21c69739c"


def _old_tree(dest: Path) -> Path:
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", BEFORE],
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the history holding {BEFORE[:12]} is not available here ({exc})")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    (dest / ".venv").symlink_to(REPO / ".venv")  # the old Pulumi.yaml names virtualenv .venv
    return dest


def _providers_seen(pythonpath: Path, cwd: Path) -> Path:
    """Where the stack's interpreter finds ``providers`` with this PYTHONPATH (as program and provider do)."""
    out = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", "import providers; print(providers.__file__)"],
                         cwd=cwd, env={**os.environ, "PYTHONPATH": str(pythonpath)}, capture_output=True, text=True,
                         check=True).stdout
    return Path(out.strip()).resolve()


def test_a_stack_made_before_the_moves_has_no_changes_under_the_new_code(make_stack, emulator: Emulator,
                                                                          tmp_path: Path) -> None:
    emulator.reset()
    for platform, values in FAST.items():
        emulator.settings(platform, **values)
    old = _old_tree(tmp_path / "before")
    assert (old / "providers" / "core" / "resource.py").is_file() and not (old / "providers" / "esd" / "resources.py").exists()
    assert _providers_seen(old, old / "stacks").is_relative_to(old.resolve())
    assert _providers_seen(REPO, old / "stacks").is_relative_to(REPO)
    stack = make_stack(program_dir=old, stack_name="moved", config=stack_config(emulator), secrets=SECRETS,
                       env={"PYTHONPATH": str(old)})

    up = stack.up(on_output=quiet)
    assert up.summary.result == "succeeded" and changes(up.summary) == {"create": 12}
    before = {name: (r["id"], r["inputs"], r["outputs"]) for name, r in resources(stack).items()}
    objects = {p: emulator.objects(p) for p in ("esd", "pai", "fabric")}
    assert len(before) == 11

    # Today's code (the workspace's environment is read at every command).
    stack.workspace.env_vars["PYTHONPATH"] = str(REPO)
    preview = stack.preview(expect_no_changes=True, diff=True, on_output=quiet)
    assert changes(preview) == {}
    up = stack.up(on_output=quiet)
    assert up.summary.result == "succeeded" and changes(up.summary) == {}
    after = {name: (r["id"], r["inputs"], r["outputs"]) for name, r in resources(stack).items()}
    diffs = {n: [k for k in set(before[n][1]) | set(after[n][1]) | set(before[n][2]) | set(after[n][2])
                 if (before[n][1].get(k), before[n][2].get(k)) != (after[n][1].get(k), after[n][2].get(k))]
             for n in before if before[n] != after.get(n)}
    assert after.keys() == before.keys() and all(after[n][0] == before[n][0] for n in before)  # nothing replaced
    # Same inputs and outputs; the one addition is the durable create handle of today's check
    # (providers/core/create.py, newer than BEFORE), a hidden input that never causes a diff.
    assert {n: d for n, d in diffs.items() if d != [create.GENERATION]} == {}, diffs
    assert {p: emulator.objects(p) for p in ("esd", "pai", "fabric")} == objects  # no call changed anything

    # And today's code runs the rest of the life: a refresh sees no drift, destroy removes it all.
    refresh = stack.refresh(on_output=quiet)
    assert changes(refresh.summary) == {}
    stack.destroy(on_output=quiet)
    assert resources(stack) == {}
