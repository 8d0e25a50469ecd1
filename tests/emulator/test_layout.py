"""The emulator's one platform layout (emulator/__init__.py) holds for every platform.

Read from the source with ``ast``, so a platform that drifts (a request object in its rules, an
error envelope outside errors.py, a web framework under defaults.py) fails here by name.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "emulator"
PLATFORMS = ["esd", "pai", "fabric", "zstack", "workshop"]
WEB = ("fastapi", "starlette")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _top_level(path: Path) -> dict[str, ast.AST]:
    return {n.name: n for n in ast.parse(path.read_text()).body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


@pytest.mark.parametrize("name", PLATFORMS)
def test_platform_has_the_three_files(name: str) -> None:
    folder = EMULATOR / name
    for part in ("errors.py", "models.py", "routes.py"):
        assert (folder / part).is_file(), f"emulator/{name}/{part} missing"
    assert "error_body" in _top_level(folder / "errors.py"), f"emulator/{name}/errors.py has no error_body"
    for other in folder.glob("*.py"):
        if other.name != "errors.py":
            assert "error_body" not in _top_level(other), f"error_body defined in emulator/{name}/{other.name}"
    backends = [n for n in _top_level(folder / "models.py") if n.endswith("Backend")]
    assert len(backends) == 1, f"emulator/{name}/models.py should define one <Platform>Backend, has {backends}"


@pytest.mark.parametrize("name", PLATFORMS)
def test_only_routes_speak_http(name: str) -> None:
    for path in sorted((EMULATOR / name).glob("*.py")):
        if path.name == "routes.py":
            continue
        web = sorted(m for m in _imports(path) if m.split(".")[0] in WEB)
        assert not web, f"emulator/{name}/{path.name} imports {web}; only routes.py may"


def test_errors_import_nothing_of_their_platform() -> None:
    for name in PLATFORMS:
        own = sorted(m for m in _imports(EMULATOR / name / "errors.py") if m.startswith("emulator."))
        assert not own, f"emulator/{name}/errors.py imports {own}"


def test_no_emulator_module_imports_providers() -> None:
    for path in sorted(EMULATOR.rglob("*.py")):
        bad = sorted(m for m in _imports(path) if m.split(".")[0] == "providers")
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_defaults_load_without_a_web_framework() -> None:
    code = ("import sys, emulator.defaults as d; "
            "assert d.ESD_API_KEY and d.PAI_ACCESS_KEY_ID and d.FABRIC_PASSWORD and d.ZSTACK_ACCESS_KEY_ID "
            "and d.WORKSHOP_APP_KEY; "
            f"web = sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r}); "
            "assert not web, web")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# Distinctive seeded values; common words ("api", "admin", "password") and the region name are
# left out, since they also occur with other meanings.
_DISTINCT = ["ESD_API_KEY", "PAI_ACCESS_KEY_ID", "PAI_ACCESS_KEY_SECRET", "FABRIC_ACCESS_KEY", "FABRIC_SECRET_KEY",
             "FABRIC_PASSWORD", "ZSTACK_ACCESS_KEY_ID", "ZSTACK_ACCESS_KEY_SECRET", "WORKSHOP_APP_SECRET"]


def test_default_credentials_are_written_once() -> None:
    """Python code names the emulator's credentials through emulator.defaults, never by value
    (config files such as stacks/Pulumi.local.yaml cannot import, and are not checked)."""
    from emulator import defaults

    values = {getattr(defaults, name): name for name in _DISTINCT}
    found = []
    for folder in ("aimodels", "benchmarks", "emulator", "providers", "stacks", "tests", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == EMULATOR / "defaults.py" or ".venv" in path.parts:
                continue
            text = path.read_text(errors="replace")
            found += [f"{path.relative_to(ROOT)}: {name}" for value, name in values.items()
                      if re.search(r"(?<![\w-])" + re.escape(value) + r"(?![\w-])", text)]
    assert not found, "use emulator.defaults instead of the literal:\n" + "\n".join(found)
