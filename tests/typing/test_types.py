"""The typed surface: generated code is current, signatures match the models, and a type checker
(mypy --strict) accepts the stack program and reports exactly the deliberate mistakes of
tests/typing/mistakes.py."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from providers.core import Resource
from tools import codegen

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "typing" / "mistakes.py"
STACK = REPO / "stacks" / "__main__.py"
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*)  \[(?P<code>[\w-]+)\]$")


def _resources() -> list[codegen.ResourceInfo]:
    return [r for p in codegen.discover() for r in p.resources]


def test_generated_code_and_docs_are_current() -> None:
    stale = [str(p.relative_to(REPO)) for p in codegen.stale(codegen.generate())]
    assert not stale, f"stale generated files {stale}: run `python -m tools.codegen`"


def test_generation_is_idempotent() -> None:
    assert codegen.generate() == codegen.generate()


def test_generated_code_lives_in_its_own_files() -> None:
    """Resource classes only in the generated providers/<platform>/resources.py; handler modules
    are hand-written only (no generated class, no re-imports under ``noqa: E402``)."""
    for path in sorted((REPO / "providers").glob("*/*.py")):
        text = path.read_text()
        if path.name == "resources.py":
            assert text.startswith(codegen.HEADER + "\n"), path
            continue
        assert not re.search(r"^class \w+\(Resource, handler=", text, re.M), path
        assert "noqa: E402" not in text, path
    generated = {p.parent.name for p in (REPO / "providers").glob("*/resources.py")}
    assert generated == {p.name for p in codegen.discover()}


def test_every_platform_and_resource_is_discovered() -> None:
    found = {r.handler.type_token for r in _resources()}
    assert {"esd:Role", "esd:Endpoint", "pai:Model", "pai:ModelVersion", "fabric:Model"} <= found
    packages = {p.name for p in (REPO / "providers").iterdir() if (p / "__init__.py").is_file()} - {"core"}
    assert {t.partition(":")[0] for t in found} == packages


@pytest.mark.parametrize("res", _resources(), ids=lambda r: r.handler.type_token)
def test_constructor_matches_the_inputs_model(res: codegen.ResourceInfo) -> None:
    params = inspect.signature(res.cls.__init__).parameters
    inputs = res.handler.Inputs.model_fields
    assert list(params)[:3] == ["self", "resource_name", "opts"]
    assert set(params) - {"self", "resource_name", "opts"} == set(inputs)
    for name, field in inputs.items():
        p = params[name]
        assert p.kind is inspect.Parameter.KEYWORD_ONLY
        assert (p.default is inspect.Parameter.empty) == field.is_required(), name
        if field.default not in (PydanticUndefined, None) and isinstance(field.default, (bool, int, str, float)):
            assert p.default == field.default, name
    annotations = inspect.get_annotations(res.cls)
    assert set(inputs) | set(res.handler.Outputs.model_fields) <= set(annotations)
    assert {"Id", "Refresh"} <= set(res.facts), f"{res.handler.__name__}: set id_doc and refresh_doc on it"


def test_constructor_passes_only_given_inputs(mocker) -> None:  # noqa: ANN001
    """Unset optional inputs are left to the model's defaults (the engine drops None anyway)."""
    from providers import esd

    seen = mocker.patch.object(Resource, "__init__", return_value=None)
    esd.Endpoint("sd", name="sd", endpoint_type="Async", instance_type="ml.g5.2xlarge", assign_to_roles=["ops"])
    _, kwargs = seen.call_args
    assert kwargs == {"name": "sd", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                      "assign_to_roles": ["ops"], "initial_instance_count": 1, "autoscaling_enabled": False,
                      "wait_timeout_s": 1800}


def _mypy(*paths: Path, cache: Path) -> list[tuple[str, int, str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-color-output",
         "--no-error-summary", "--cache-dir", str(cache), *map(str, paths)],
        cwd=REPO, capture_output=True, text=True,
    )
    errors = []
    for line in proc.stdout.splitlines():
        m = ERROR.match(line)
        if m:
            errors.append((Path(m["path"]).name, int(m["line"]), m["code"]))
        elif ": error:" in line:
            errors.append((line, 0, "unparsed"))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return errors


def test_mypy_strict_reports_exactly_the_deliberate_mistakes(tmp_path: Path) -> None:
    """The stack program and the sample: exactly the marked mistakes. The sample without its marked
    lines (clean.py): no mistake at all, so the checker sees nothing the markers do not say. One
    mypy run checks all three files (each run analyses the SDK and pydantic again, ~10 CPU-s)."""
    lines = SAMPLE.read_text().splitlines()
    expected = sorted(
        (SAMPLE.name, n, m.group(1))
        for n, line in enumerate(lines, start=1)
        if (m := re.search(r"# expect: ([\w-]+)$", line))
    )
    assert len(expected) == 3
    clean = tmp_path / "clean.py"
    marked = [i for i, line in enumerate(lines) if re.search(r"# expect: ([\w-]+)$", line)]
    # drop each marked statement (it may start on an earlier line)
    skip_from: set[int] = set()
    for i in marked:
        start = i
        while not re.match(r"^[a-z]", lines[start]):
            start -= 1
        skip_from.update(range(start, i + 1))
    keep = [line for i, line in enumerate(lines) if i not in skip_from]
    clean.write_text("\n".join(keep) + "\n")
    found = _mypy(STACK, SAMPLE, clean, cache=tmp_path / "mypy")
    assert sorted(e for e in found if e[0] != clean.name) == expected
    assert [e for e in found if e[0] == clean.name] == []


def _sample(tp: Any) -> Any:
    """A value of the type, shaped as the engine returns it (JSON: dicts, lists, primitives)."""
    tp, _ = codegen._strip_annotated(tp)
    origin, args = get_origin(tp), get_args(tp)
    if codegen._is_union(tp):
        return _sample(next(a for a in args if a is not type(None)))
    if origin is Literal:
        return args[0]
    if origin is list or tp is list:
        return [_sample(args[0] if args else str)]
    if origin is dict or tp is dict:
        key = _sample(args[0]) if args else "k"
        return {str(key): _sample(args[1] if args else str)}
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {n: _sample(f.annotation) for n, f in tp.model_fields.items()}
    return {str: "x", int: 1.0, float: 1.5, bool: True}.get(tp, "x")  # numbers cross the wire as doubles


@pytest.mark.parametrize("res", _resources(), ids=lambda r: r.handler.type_token)
def test_the_sdk_accepts_every_output_with_its_annotation(res: codegen.ResourceInfo) -> None:
    """The SDK converts outputs by the class annotations at run time and fails the program on a
    mismatch (a TypedDict annotation on a dict output does): every attribute must pass."""
    from pulumi import _types
    from pulumi.runtime.rpc import translate_output_properties

    types = _types.resource_types(res.cls)
    fields = {**res.handler.Inputs.model_fields, **res.handler.Outputs.model_fields}
    assert set(fields) <= set(types)
    for name, field in fields.items():
        translate_output_properties(_sample(field.annotation), lambda k: k, types[name], True)
