"""Pins: what an environment points at, what the source stack proved, and the edits that move them.

A pin is part of a stack file's ``aimodels:*`` config:

- ``pai``: ``aimodels:pai.versions`` — the registered PAI model versions, each pinned by name and
  content (uri, format, framework) with its approval status — and ``aimodels:pai.current``, the
  alias of the version the environment serves (that version's label ``alias: current``);
- ``fabric``: ``aimodels:fabric.versions`` plus ``aimodels:fabric.current`` — the DataArts Fabric
  versions and the current pointer;
- ``esd``: ``aimodels:esd.baseModelUrl`` — the base checkpoint the ESD endpoint serves.

Promotion adds the source's *current* version to the target's list (if missing; same content
required) and points the target's ``current`` at it. Rollback repoints (``current``,
``baseModelUrl``) to the values before the last promotion; versions stay registered.

:func:`proven` reads the source stack's *state* (``pulumi stack export``, after ``pulumi refresh``),
never just its config, and refuses an item that is not proven there: the source's current PAI version must exist with
approval status Approved; the Fabric version must exist on the platform and be the source's
current version; the ESD base model must be the one the source's smoke-test inference job
succeeded on.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PLATFORMS = ("pai", "fabric", "esd")
POINTER = {"pai": "current", "fabric": "current", "esd": "baseModelUrl"}
ALIAS_LABEL = ("alias", "current")  # the PAI version an environment serves (stacks/blocks/pai.py)


def _type(resource: dict[str, Any]) -> str:
    return resource.get("type", "").rsplit("/", 1)[-1]  # pulumi-python:dynamic/pai:ModelVersion -> pai:ModelVersion


def _name(resource: dict[str, Any]) -> str:
    return resource.get("urn", "").rsplit("::", 1)[-1]


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    return {**(resource.get("inputs") or {}), **(resource.get("outputs") or {})}


def resources_of(deployment: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    return [r for r in deployment.get("resources") or [] if _type(r) == type_token and not r.get("delete")]


@dataclass
class Refusal:
    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


def current_pins(values: dict[str, Any]) -> dict[str, Any]:
    """The pins as written in a stack file (``aimodels:*`` values, camelCase as in the file)."""
    pai = values.get("pai") or {}
    fabric = values.get("fabric") or {}
    esd = values.get("esd") or {}
    out: dict[str, Any] = {
        "pai": {"versions": copy.deepcopy(pai.get("versions") or [])},
        "fabric": {"versions": copy.deepcopy(fabric.get("versions") or [])},
        "esd": {},
    }
    for platform, section in (("pai", pai), ("fabric", fabric)):
        if section.get("current") is not None:
            out[platform]["current"] = section["current"]
    if esd.get("baseModelUrl") is not None:
        out["esd"]["baseModelUrl"] = esd["baseModelUrl"]
    return out


def proven(source: str, deployment: dict[str, Any], platforms: list[str],
           pinned: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Refusal]]:
    """What the source stack runs and has proven, per platform, plus every reason to refuse.

    ``deployment`` should be freshly refreshed (``aimodels promote`` refreshes the source first),
    so it says what the platforms hold. With ``pinned`` (the source's own pins, from its stack
    file), a current version the platform serves that is not the one the source pins is drift (a
    pointer moved outside Pulumi, e.g. in the console): refused, since the source never proved it."""
    found: dict[str, Any] = {}
    refusals: list[Refusal] = []
    if not deployment.get("resources"):
        return found, [Refusal(source, "has no deployed resources (run `pulumi up` on it first)")]
    found, refusals = _proven(source, deployment, platforms)
    for platform in ("pai", "fabric"):
        if pinned is None or platform not in found:
            continue
        want, serves = effective(platform, pinned[platform]), found[platform]["version"]["name"]
        if want is not None and serves != want:
            refusals.append(Refusal(f"{platform} {serves}", f"{source} serves {serves} on the platform but pins "
                                                            f"{want} (moved outside Pulumi; run `aimodels up --stack "
                                                            f"{source}` or pin {serves} there first)"))
            del found[platform]
    return found, refusals


def _proven(source: str, deployment: dict[str, Any], platforms: list[str]) -> tuple[dict[str, Any], list[Refusal]]:
    found: dict[str, Any] = {}
    refusals: list[Refusal] = []
    if "pai" in platforms:
        models = resources_of(deployment, "pai:Model")
        versions = {_props(r).get("version_name"): _props(r) for r in resources_of(deployment, "pai:ModelVersion")}
        if not models or not versions:
            refusals.append(Refusal("pai", f"{source} runs no PAI model version"))
        else:
            key, value = ALIAS_LABEL
            current = next((n for n, p in versions.items() if (p.get("labels") or {}).get(key) == value),
                           list(versions)[-1])
            p = versions.get(current)
            if p is None:
                refusals.append(Refusal(f"pai {current}", f"version does not exist in {source}"))
            elif p.get("approval_status") != "Approved":
                refusals.append(Refusal(f"pai {current}", f"approval status in {source} is "
                                                          f"{p.get('approval_status') or 'unset'}, not Approved"))
            else:
                found["pai"] = {"version": {"name": current, "uri": p.get("uri"), "format": p.get("format_type"),
                                            "framework": p.get("framework_type"), "approval": "Approved"}}
    if "fabric" in platforms:
        models = resources_of(deployment, "fabric:Model")
        if not models:
            refusals.append(Refusal("fabric", f"{source} runs no Fabric model"))
        else:
            p = _props(models[0])
            current = p.get("current_version") or (p.get("versions") or [{}])[-1].get("name")
            ids = p.get("version_ids") or {}
            spec = next((v for v in p.get("versions") or [] if v.get("name") == current), None)
            if spec is None or current not in ids:
                refusals.append(Refusal(f"fabric {current}", f"version does not exist on the platform in {source}"))
            elif p.get("current_version_id") != ids[current]:
                refusals.append(Refusal(f"fabric {current}", f"is not the current version in {source} "
                                                             f"(current id {p.get('current_version_id')})"))
            else:
                version = {"name": current, "baseModelType": spec.get("base_model_type")}
                if spec.get("model_path"):
                    version["modelPath"] = spec["model_path"]
                if spec.get("description"):
                    version["description"] = spec["description"]
                found["fabric"] = {"version": version}
    if "esd" in platforms:
        smoke = [_props(r) for r in resources_of(deployment, "esd:InferenceJob")]
        checkpoints = {_name(r): _props(r) for r in resources_of(deployment, "esd:Checkpoint")}
        base = checkpoints.get("base-model") or {}
        if not base.get("source_url"):
            refusals.append(Refusal("esd base model", f"{source} runs no base checkpoint from a URL"))
        elif not smoke:
            refusals.append(Refusal("esd base model", f"{source} has no smoke-test inference job"))
        elif not any(s.get("status") == "succeed" for s in smoke):
            refusals.append(Refusal("esd base model", f"the smoke test in {source} did not succeed "
                                                      f"(status {', '.join(str(s.get('status')) for s in smoke)})"))
        else:
            found["esd"] = {"baseModelUrl": base["source_url"]}
    return found, refusals


def promoted(target: str, pins: dict[str, Any], found: dict[str, Any]) -> tuple[dict[str, Any], list[Refusal]]:
    """The target's new pins: add what the source proved, move the pointers; never delete."""
    new = copy.deepcopy(pins)
    refusals: list[Refusal] = []
    for platform, same in (("pai", ("uri", "format", "framework")), ("fabric", ("baseModelType", "modelPath"))):
        if platform not in found:
            continue
        v = found[platform]["version"]
        mine = next((x for x in new[platform]["versions"] if x.get("name") == v["name"]), None)
        if mine is None:
            new[platform]["versions"].append(v)
        elif platform == "pai" and mine.get("approval") != "Approved":
            mine["approval"] = "Approved"
        if mine is not None and any(mine.get(k) not in (None, v.get(k)) for k in same):
            refusals.append(Refusal(f"{platform} {v['name']}", f"{target} pins a different content under that "
                                                               "name; a pinned version never changes"))
        new[platform]["current"] = v["name"]
    if "esd" in found:
        new["esd"]["baseModelUrl"] = found["esd"]["baseModelUrl"]
    return new, refusals


# -- turning a pin change into `pulumi config` edits (one minimal diff) -------------------------------
def edits(path: str, old: Any, new: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """``(sets, removals)`` that turn ``old`` into ``new`` at config path ``path``: leaf
    ``pulumi config set --path`` pairs and ``pulumi config rm --path`` keys (deepest and last first)."""
    sets: list[tuple[str, str]] = []
    removals: list[str] = []

    def leaves(p: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                leaves(f"{p}.{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                leaves(f"{p}[{i}]", v)
        elif value is not None:
            sets.append((p, _text(value)))

    def walk(p: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k, v in b.items():
                walk(f"{p}.{k}", a.get(k), v) if k in a else leaves(f"{p}.{k}", v)
            removals.extend(f"{p}.{k}" for k in a if k not in b)
        elif isinstance(a, list) and isinstance(b, list):
            for i, v in enumerate(b):
                walk(f"{p}[{i}]", a[i], v) if i < len(a) else leaves(f"{p}[{i}]", v)
            removals.extend(f"{p}[{i}]" for i in range(len(a) - 1, len(b) - 1, -1))
        elif a != b:
            if a is not None and (isinstance(a, (dict, list)) or b is None):
                removals.append(p)
            leaves(p, b)

    walk(path, old, new)
    return sets, removals


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- history ----------------------------------------------------------------------------------------
def history_file(config_dir: Path, stack: str) -> Path:
    return config_dir / "pin-history" / f"{stack}.yaml"


def read_history(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return yaml.safe_load(path.read_text()) or []


def append_history(path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append-only, so each promotion or rollback is a few added lines in review."""
    entries = read_history(path)
    entry = {"id": (entries[-1]["id"] + 1) if entries else 1,
             "at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **entry}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump([entry], sort_keys=False, default_flow_style=False)
    if not path.exists():
        text = (f"# Pin history of stack {path.stem}: written by `aimodels promote` and `aimodels rollback`.\n"
                "# Each entry records the pins before and after; rollback restores the `before` of the\n"
                "# latest promotion it has not undone yet.\n") + text
    with path.open("a") as fh:
        fh.write(text)
    return entry


def repointed(pins: dict[str, Any], entry: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Pins with the pointers of ``entry``'s platforms back at their values before it; versions
    stay registered (one the old pointer needs is listed again). Also returns the platforms whose
    pointer moved since the entry (a rollback then refuses)."""
    new = copy.deepcopy(pins)
    drift = []
    for platform, before in entry["before"].items():
        key = POINTER[platform]
        if effective(platform, pins[platform]) != effective(platform, entry["after"][platform]):
            drift.append(platform)
        was = effective(platform, before)
        if was is None:
            new[platform].pop(key, None)
            continue
        new[platform][key] = was
        if "versions" in before and was not in {v.get("name") for v in new[platform]["versions"]}:
            new[platform]["versions"].append(next(v for v in before["versions"] if v.get("name") == was))
    return new, drift


def effective(platform: str, pins: dict[str, Any]) -> Any:
    """The pointer's value, with the schema's default (the last listed version) made explicit."""
    value = pins.get(POINTER[platform])
    if value is None and pins.get("versions"):
        value = pins["versions"][-1].get("name")
    return value


def last_undoable(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    undone = {e.get("undoes") for e in entries if e.get("action") == "rollback"}
    for e in reversed(entries):
        if e.get("action") == "promote" and e["id"] not in undone:
            return e
    return None
