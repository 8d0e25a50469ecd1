"""The house rules, enforced: ruff (configured in pyproject.toml) is clean, and imports point one
way: a platform package reaches the framework only through ``providers.core`` (its surface,
providers/core/__init__.py), the framework names no platform, and the emulator imports nothing
from providers/ (an independent reading of the same specs)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLATFORMS = sorted(p.name for p in (REPO / "providers").iterdir() if (p / "__init__.py").is_file() and p.name != "core")


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import: ``import a.b`` gives ``a.b``, ``from a import b`` gives ``a``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, node.module))
    return out


def skips_core_surface(module: str) -> bool:
    return module.startswith("providers.core.")  # ``from providers.core import x`` is the surface


def names_a_platform(module: str) -> bool:
    return module.split(".")[:2] in [["providers", p] for p in PLATFORMS]


def names_providers(module: str) -> bool:
    return module == "providers" or module.startswith("providers.")


def offenders(paths: list[Path], bad: Callable[[str], bool]) -> list[str]:
    return [f"{p.relative_to(REPO)}:{line}: {module}" for p in paths for line, module in imported(p) if bad(module)]


def test_ruff_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_platforms_reach_core_through_its_surface() -> None:
    files = [p for name in PLATFORMS for p in (REPO / "providers" / name).rglob("*.py")]
    found = offenders(files, skips_core_surface)
    assert not found, "import these from providers.core (add them to its surface):\n" + "\n".join(found)


def test_core_names_no_platform() -> None:
    found = offenders(list((REPO / "providers" / "core").rglob("*.py")), names_a_platform)
    assert not found, "\n".join(found)


def test_the_emulator_imports_nothing_from_providers() -> None:
    files = list((REPO / "emulator").rglob("*.py"))
    assert files
    found = offenders(files, names_providers)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("source", "rule"), [
    ("from providers.core.fields import marks_of\n", skips_core_surface),
    ("import providers.core.signing\n", skips_core_surface),
    ("from providers.esd.role import RoleHandler\n", names_a_platform),
    ("import providers.core\n", names_providers),
])
def test_the_rules_find_a_planted_offender(source: str, rule: Callable[[str], bool], tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(source)
    assert [m for _, m in imported(planted) if rule(m)]
    assert not rule("providers.core") or rule is names_providers
