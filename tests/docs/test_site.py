"""The manual: the site builds in strict mode (a broken internal link or anchor fails), the README
stays a landing page whose example type-checks, the tutorial's transcript convention holds, and
the generated reference states what the CLI needs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.docs import tutorial
from tools import codegen

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
README = REPO / "README.md"


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], cwd=config.parent, capture_output=True, text=True,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


def _nav_pages(nav: list[object]) -> list[str]:
    out: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            out += _nav_pages(value)
        else:
            out.append(str(value))
    return out


def _config() -> dict[str, object]:
    return yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)


# -- the site -------------------------------------------------------------------------------------

def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    proc = _mkdocs_build(REPO / "mkdocs.yml", tmp_path / "site")
    warnings = [line for line in proc.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert proc.returncode == 0 and not warnings, "\n".join(warnings) or proc.stderr[-3000:]
    pages = _nav_pages(_config()["nav"])  # type: ignore[arg-type]
    for page in pages:
        html = tmp_path / "site" / re.sub(r"(^|/)README\.md$", r"\1index.md", page).replace(".md", ".html")
        assert html.is_file(), f"{page} was not built ({html})"


def test_every_page_is_in_the_navigation() -> None:
    pages = set(_nav_pages(_config()["nav"]))  # type: ignore[arg-type]
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk - pages == set(), "pages missing from mkdocs.yml's nav"
    assert pages - on_disk == set(), "nav entries without a page"


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    """The strict build is a real check: a missing page and a missing heading each fail it."""
    copy = tmp_path / "project"
    shutil.copytree(DOCS, copy / "docs")
    shutil.copy(REPO / "mkdocs.yml", copy / "mkdocs.yml")
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text() + "\nSee [promotion](environments.md#no-such-heading) and [gone](gone.md).\n")
    proc = _mkdocs_build(copy / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode != 0
    assert "does not contain an anchor '#no-such-heading'" in proc.stderr, proc.stderr[-3000:]
    assert "'gone.md'" in proc.stderr, proc.stderr[-3000:]


# -- the README -----------------------------------------------------------------------------------

def test_the_readme_is_a_landing_page_with_the_two_commands() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    # byte-identical to what CI runs and what every newcomer types
    assert "```sh\nbash scripts/up.sh\n```" in text
    assert "```sh\nbash scripts/test.sh\n```" in text
    assert re.search(r"^bash scripts/test\.sh$", (REPO / ".ci" / "run").read_text(), re.M)
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert (REPO / target).exists(), f"README links to a missing file: {target}"


def test_the_readme_example_type_checks(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1
    program = tmp_path / "program.py"
    program.write_text(blocks[0])
    assert 15 <= len(blocks[0].splitlines()) <= 25
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-color-output",
                           "--cache-dir", str(tmp_path / "mypy"), str(program)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- the tutorial's convention --------------------------------------------------------------------

def test_the_tutorial_covers_the_life_of_a_version() -> None:
    commands = [s.command for s in tutorial.parse((DOCS / "getting-started.md").read_text())]
    assert commands[0] == "bash scripts/up.sh"
    order = ["aimodels up --stack dev", "pulumi config set", "aimodels preview", "aimodels promote",
             "aimodels review", "aimodels rollback", "aimodels destroy", "bash scripts/down.sh"]
    at = 0
    for want in order:
        at = next((i for i in range(at, len(commands)) if commands[i].startswith(want)), -1)
        assert at >= 0, f"no `{want}` after the previous step in docs/getting-started.md"


def test_transcripts_parse_commands_outputs_and_exit_codes() -> None:
    page = ("text\n```sh\n$ not run\n```\n```console\n$ echo hi\nhi\n\n$ false  # exit 1\n```\n"
            "````console\n$ printf 'a\\nb\\n'\na\nb\n````\n")
    steps = tutorial.parse(page)
    assert [(s.command, s.expected, s.exit_code, s.line) for s in steps] == [
        ("echo hi", ["hi"], 0, 6), ("false  # exit 1", [], 1, 9), ("printf 'a\\nb\\n'", ["a", "b"], 0, 12)]
    with pytest.raises(ValueError, match="before any command"):
        tutorial.parse("```console\nstray output\n$ echo\n```\n")


def test_expected_lines_must_appear_in_order() -> None:
    output = "Previewing update (dev)\n     Type   Name\n Resources:\n    + 3 created\n    27 unchanged\n"
    assert tutorial.missing(["Resources:", "+ ... created"], output) is None
    assert tutorial.missing(["Resources:", "+   3 created"], output) is None  # runs of spaces are one space
    assert tutorial.missing(["+ ... created", "Resources:"], output) == "Resources:"  # order matters
    assert tutorial.missing(["+ 4 created"], output) == "+ 4 created"  # a broken line is caught
    assert tutorial.missing(["Resources"], output) == "Resources"  # a whole line, not a fragment
    aligned = '        approval_status      : "Approved"\n'
    assert tutorial.missing(['approval_status: "Approved"'], aligned) is None  # Pulumi's aligned keys
    assert tutorial.missing(['approval_status: "Pending"'], aligned) == 'approval_status: "Pending"'


def test_the_shell_keeps_exports_and_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    shell = tutorial.Shell(tmp_path, {"PATH": os.environ["PATH"]}, tmp_path)
    assert shell.run("export GREETING='hello there' && cd sub").returncode == 0
    proc = shell.run('echo "$GREETING from $(basename "$PWD")"; exit 3')
    assert (proc.returncode, proc.stdout) == (3, "hello there from sub\n")


# -- the generated reference ----------------------------------------------------------------------

@pytest.mark.parametrize("plat", codegen.discover(), ids=lambda p: p.name)
def test_reference_pages_state_type_token_import_id_and_field_marks(plat: codegen.Platform) -> None:
    page = (DOCS / "reference" / f"{plat.name}.md").read_text()
    sections = re.split(r"^## ", page, flags=re.M)
    for res in plat.resources:
        section = next(s for s in sections if s.startswith(f"{res.name}\n"))
        token = res.handler.type_token
        assert f"`pulumi-python:dynamic/{token}`" in section, f"{token}: no CLI type token"
        assert "**Import id**" in section, f"{token}: no import id"
        assert "in a preview of an in-place update" in section, f"{token}: outputs lack the changes_with column"
        for name, field in res.handler.Inputs.model_fields.items():
            if codegen.field_marks(field).write_only:
                row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
                assert "write-only" in row, f"{token}.{name} is write-only but its row does not say so"
