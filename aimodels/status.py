"""``aimodels status``: environments x platforms, read live.

For each stack, ``pulumi refresh --preview-only --json`` reads every resource from its platform
without writing anything; the refresh steps carry what the platform holds now (``newState``) next
to what the last apply recorded (``oldState``). A row per environment and platform then says which
model version serves there, the endpoint's status, what the stack file pins against what runs,
and the drift: resources whose platform copy differs from the state (changed or gone).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from aimodels import pins as P

ORDER = ("local", "dev", "staging", "prod")
PLATFORMS = ("esd", "pai", "fabric")
IGNORED_KEYS = {"__provider", "modified_at", "created", "start_time", "updated_at"}


@dataclass
class Row:
    environment: str
    platform: str
    serves: str | None  # the model version running there
    status: str | None  # the endpoint's / model's status on the platform
    pinned: str | None  # what the stack file pins
    drift: list[str] = field(default_factory=list)  # resources whose platform copy differs from the state

    @property
    def matches(self) -> bool:
        return self.pinned is None or self.pinned == self.serves


def _json(text: str) -> dict[str, Any]:
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON document")
    doc: dict[str, Any] = json.loads(text[start:])
    return doc


def live_resources(preview_json: str) -> list[dict[str, Any]]:
    """Every resource of a ``pulumi refresh --preview-only --json`` document: type, name, the
    platform's view (``live``: inputs and outputs; None when gone) and whether it drifted."""
    doc = _json(preview_json)
    out = []
    for step in doc.get("steps") or []:
        urn = step.get("urn", "")
        rtype = urn.split("::")[-2].rsplit("/", 1)[-1] if "::" in urn else ""
        if not rtype or rtype.startswith("pulumi:"):
            continue
        old, new = step.get("oldState") or {}, step.get("newState")
        gone = new is None or step.get("op") == "delete"
        live = None if gone else {**(new.get("inputs") or {}), **(new.get("outputs") or {})}
        recorded = {**(old.get("inputs") or {}), **(old.get("outputs") or {})}
        drifted = gone or _strip(live) != _strip(recorded)
        out.append({"type": rtype, "name": urn.rsplit("::", 1)[-1], "live": live, "recorded": recorded,
                    "drifted": drifted})
    return out


def _strip(props: dict[str, Any] | None) -> Any:
    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items() if k not in IGNORED_KEYS and x is not None}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v
    return norm(props or {})


def _of(resources: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"] == rtype]


def rows(stack: str, pinned: dict[str, Any], resources: list[dict[str, Any]]) -> list[Row]:
    out = []
    # ESD: the endpoint, the base model it serves, the smoke test on it.
    esd = [r for r in resources if r["type"].startswith("esd:")]
    if esd:
        endpoint = next(iter(_of(resources, "esd:Endpoint")), None)
        base = next((r for r in _of(resources, "esd:Checkpoint") if r["name"] == "base-model"), None)
        smoke = _of(resources, "esd:InferenceJob")
        url = (base or {}).get("recorded", {}).get("source_url")  # write-only: the platform never returns it
        ep = (endpoint or {}).get("live") or {}
        status = ep.get("status") or ("gone" if endpoint else None)
        if smoke:
            status = f"{status}; smoke {', '.join(str((s.get('live') or {}).get('status') or 'gone') for s in smoke)}"
        out.append(Row(stack, "esd", url.rsplit("/", 1)[-1] if url else None, status,
                       (pinned["esd"].get("baseModelUrl") or "").rsplit("/", 1)[-1] or None,
                       [r["name"] for r in esd if r["drifted"]]))
    # PAI: the version that carries the alias label, its approval.
    pai = [r for r in resources if r["type"].startswith("pai:")]
    if pai:
        versions = [r for r in _of(resources, "pai:ModelVersion") if r["live"]]
        key, value = P.ALIAS_LABEL
        current = next((r["live"] for r in versions if (r["live"].get("labels") or {}).get(key) == value), None)
        out.append(Row(stack, "pai", (current or {}).get("version_name"),
                       (current or {}).get("approval_status") or ("no current version" if versions else "gone"),
                       P.effective("pai", pinned["pai"]), [r["name"] for r in pai if r["drifted"]]))
    # Fabric: the model's current version pointer.
    fabric = _of(resources, "fabric:Model")
    if fabric:
        live = fabric[0]["live"] or {}
        ids = live.get("version_ids") or {}
        serves = next((n for n, i in ids.items() if i == live.get("current_version_id")), None)
        out.append(Row(stack, "fabric", serves, f"visibility {live['visibility']}" if live.get("visibility")
                       else ("gone" if not live else "present"),
                       P.effective("fabric", pinned["fabric"]), [r["name"] for r in fabric if r["drifted"]]))
    return out


HEADER = ("environment", "platform", "serves", "pinned", "status", "drift")


def _cells(r: Row) -> tuple[str, ...]:
    pinned = r.pinned or "-"
    if r.pinned is not None and not r.matches:
        pinned += " (differs)"
    return (r.environment, r.platform, r.serves or "-", pinned, r.status or "-",
            ", ".join(r.drift) if r.drift else "none")


def table(rows: list[Row]) -> str:
    cells = [HEADER, *(_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(HEADER))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in _cells(r)) + " |")
    return "\n".join(lines) + "\n"


def as_json(rows: list[Row]) -> str:
    return json.dumps([{**asdict(r), "matches": r.matches} for r in rows], indent=2) + "\n"
