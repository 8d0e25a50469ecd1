"""Bad input to the `aimodels` command: one line on stderr, exit 1, before any Pulumi call."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimodels.cli import main


@pytest.mark.parametrize(("argv", "message"), [
    (["promote", "--from", "dev", "--to", "staging", "--only", "pai,zstack"],
     "aimodels promote: --only takes a comma-separated subset of pai,fabric,esd (got 'pai,zstack')"),
    (["promote", "--from", "dev", "--to", "dev"], "aimodels promote: --from and --to name the same stack"),
    (["review"], "aimodels review: review needs --stack or --preview-json"),
])
def test_bad_input_is_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.strip() == message


def test_outside_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rollback", "--stack", "prod", "--project-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"aimodels rollback: no Pulumi.yaml in {tmp_path.resolve()} or above")
