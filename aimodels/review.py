"""The review report: a ``pulumi preview --json`` document as Markdown for a pull-request comment.

Every create, update, replace and delete is listed with the properties that change (old and new
values; secrets masked). Property changes come from the step's ``detailedDiff`` when the
provider server sends one, otherwise from comparing the old and new inputs.

Risk flags, in plain words (each one makes ``aimodels review`` exit with :data:`RISK_EXIT`):

- an ESD endpoint replaced delete-first (the provider always does: the physical name is unique)
  means downtime until the new endpoint is InService;
- a delete of a model that still has versions (PAI model with registered versions, Fabric model);
- a move of the current version in prod (Fabric ``current_version``; the PAI version that
  gains the ``alias: current`` label);
- an environment mismatch: ``aimodels:environment`` is not the stack name, or a platform name or
  ``environment`` label carries another environment's prefix;
- the prod policy rules (aimodels/policy_rules.py, shared with the CrossGuard pack in policy/):
  prod endpoints autoscale, prod PAI model versions are Approved, no PUBLIC model accessibility
  in prod.

When the review ran the preview itself it also reports the CrossGuard pack's own results (a
``Policy`` section): every violation the pack reported, as a risk, or that the pack was skipped
for a prod stack (``--skip-policy``), also a risk; a prod review never says nothing about policy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimodels._facts import DELETE_FIRST, SECRET_NAMES, UNKNOWN
from aimodels._facts import INIT_ERROR_KEY as INIT_ERROR
from aimodels.policy_rules import RULES, violations

if TYPE_CHECKING:
    from aimodels.policy import Violation

RISK_EXIT = 2
SECRET_SIG = "4dabf18193072939515e22adb298388d"
IGNORED = {"__provider", "__aimodels_generation"}  # the latter: the durable create handle (providers/core/create.py)
FAILED_CREATE = "its last create failed"
KNOWN_ENVS = {"local", "dev", "staging", "prod", "e2e"}
OP_ORDER = {"delete": 0, "replace": 1, "update": 2, "create": 3, "import": 4}
OP_SIGN = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "import": "="}
MAX_VALUE = 100


@dataclass
class PropertyChange:
    path: str
    old: Any
    new: Any
    kind: str = "update"  # add | delete | update, "-replace" suffix when it forces a replacement


@dataclass
class Change:
    op: str
    type: str
    name: str
    props: list[PropertyChange] = field(default_factory=list)
    replace_reasons: list[str] = field(default_factory=list)
    delete_first: bool = False
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)


@dataclass
class PolicyResult:
    """What happened to the policy pack in the preview behind a report."""

    ran: bool
    required: bool = False  # a prod stack: the pack runs unless skipped explicitly
    skipped: bool = False
    events: list[Violation] = field(default_factory=list)


@dataclass
class Report:
    stack: str
    environment: str
    changes: list[Change]
    unchanged: int
    risks: list[str]
    errors: list[str]
    policy: PolicyResult | None = None


# -- values --------------------------------------------------------------------------------------
def _is_secret(value: Any) -> bool:
    return value == "[secret]" or (isinstance(value, dict) and SECRET_SIG in value)


def _mask(value: Any, key: str = "") -> Any:
    if key.lower() in SECRET_NAMES and value is not None:
        return "[secret]"
    if _is_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    return value


def show(value: Any, key: str = "") -> str:
    if value is None:
        return "—"
    value = _mask(value, key.split(".")[-1].split("[")[0])
    if value == UNKNOWN:
        return "_(known after apply)_"
    if value == "[secret]":
        return "`[secret]`"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "))
    text = text.replace(UNKNOWN, "(known after apply)")
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _get(obj: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            obj = obj[i] if isinstance(obj, list) and i < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def _internal(key: str) -> bool:
    """The provider's own bookkeeping (``__provider``, ``__init_error``...): never an input row."""
    return key in IGNORED or key.startswith("__")


def _inputs(state: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in ((state or {}).get("inputs") or {}).items() if not _internal(k)}


def _outputs(state: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in ((state or {}).get("outputs") or {}).items() if not _internal(k)}


def _type(urn: str) -> str:
    return urn.split("::")[-2].rsplit("/", 1)[-1] if "::" in urn else ""


def _norm(value: Any) -> Any:
    """The engine turns ints into floats and drops None: compare canonical forms."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def _expand(path: str, a: Any, b: Any, kind: str) -> list[PropertyChange]:
    """One row per changed property; a list of objects (versions) shows the items that differ."""
    if a == b:
        return []
    if isinstance(a, list) and isinstance(b, list) and all(isinstance(x, dict) for x in a + b):
        rows = []
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                rows.append(PropertyChange(f"{path}[{i}]", x, y, "add" if x is None else "delete" if y is None else kind))
        return rows
    if kind.startswith("update") and (a is None or b is None):
        kind = ("add" if a is None else "delete") + kind[len("update"):]
    return [PropertyChange(path, a, b, kind)]


def _diff_props(old: dict[str, Any], new: dict[str, Any], replace_reasons: list[str]) -> list[PropertyChange]:
    out = []
    pending = UNKNOWN in json.dumps(new)  # inputs not fully known yet: absent keys are not removals
    for key in sorted(set(old) | set(new)):
        if pending and key not in new:
            continue
        out += _expand(key, _norm(old.get(key)), _norm(new.get(key)),
                       "update-replace" if key in replace_reasons else "update")
    return out


def _detailed(detailed: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> list[PropertyChange]:
    """From the provider's detailed diff: its paths, values looked up in the old and new inputs."""
    out = []
    for path in sorted(p for p in detailed if not _internal(p)):
        kind = str((detailed[path] or {}).get("kind", "update")).lower().replace("_", "-")
        a, b = _norm(_get(old, path)), _norm(_get(new, path))
        out += _expand(path, a, b, kind) if a != b else [PropertyChange(path, a, b, kind)]
    return out


# -- the report ----------------------------------------------------------------------------------
def report_from_preview(preview: dict[str, Any], stack: str | None = None,
                        deployment: dict[str, Any] | None = None, policy: PolicyResult | None = None) -> Report:
    steps = preview.get("steps") or []
    config = preview.get("config") or {}
    if not stack:
        urn = next((s.get("urn", "") for s in steps), "")
        stack = urn.split(":")[2] if urn.count(":") >= 2 else "(unknown)"
    environment = config.get("aimodels:environment") or stack
    changes: dict[str, Change] = {}
    order: dict[str, list[str]] = {}
    unchanged = 0
    for step in steps:
        op, urn = step.get("op"), step.get("urn", "")
        typ = _type(urn)
        if not typ or typ.startswith("pulumi:"):  # the stack itself, providers
            continue
        if op in ("same", "read", "refresh", None):
            unchanged += op == "same"
            continue
        order.setdefault(urn, []).append(op)
        kind = {"create-replacement": "replace", "delete-replaced": "replace", "discard": "delete",
                "import-replacement": "replace", "remove-pending-replace": "replace"}.get(op, op)
        if urn in changes and changes[urn].op == "replace":
            continue
        old_state, new_state = step.get("oldState"), step.get("newState")
        old, new = _inputs(old_state), _inputs(new_state)
        reasons = [r for r in step.get("replaceReasons") or [] if not _internal(r)]
        if INIT_ERROR in (step.get("replaceReasons") or []) or INIT_ERROR in (step.get("detailedDiff") or {}):
            reasons.append(FAILED_CREATE)
        change = Change(kind, typ, urn.split("::")[-1], replace_reasons=reasons,
                        old={**_outputs(old_state), **old}, new=new)
        if kind == "create":
            change.props = [PropertyChange(k, None, _norm(v), "add") for k, v in sorted(new.items())
                            if v is not None and v != [] and v != {}]
        elif kind == "delete":
            change.props = []
        elif step.get("detailedDiff"):
            change.props = _detailed(step["detailedDiff"], old, new)
        else:
            change.props = _diff_props(old, new, reasons)
        if step.get("deleteBeforeReplace") or (kind == "replace" and typ in DELETE_FIRST):
            change.delete_first = True
        changes[urn] = change
    for urn, ops in order.items():
        if "delete-replaced" in ops and "create-replacement" in ops \
                and ops.index("delete-replaced") < ops.index("create-replacement"):
            changes[urn].delete_first = True
    ordered = sorted(changes.values(), key=lambda c: (OP_ORDER.get(c.op, 9), c.type, c.name))
    errors = [" ".join(str(d.get("message", "")).split()) for d in preview.get("diagnostics") or []
              if d.get("severity") == "error"]
    report = Report(stack, environment, ordered, unchanged, [], errors, policy)
    report.risks = risks(report, deployment)
    return report


def _versions_of(model: Change, deployment: dict[str, Any] | None, changes: list[Change]) -> int:
    if model.type == "fabric:Model":
        return len(model.old.get("versions") or [])
    model_id = model.old.get("model_id")
    if deployment is not None:
        return sum(1 for r in deployment.get("resources") or []
                   if _type(r.get("urn", "")) == "pai:ModelVersion"
                   and (r.get("inputs") or {}).get("model_id") == model_id)
    return sum(1 for c in changes if c.type == "pai:ModelVersion" and c.op == "delete"
               and c.old.get("model_id") == model_id)


def _current(inputs: dict[str, Any]) -> str | None:
    versions = inputs.get("versions") or []
    return inputs.get("current_version") or (versions[-1].get("name") if versions else None)


def risks(report: Report, deployment: dict[str, Any] | None = None) -> list[str]:
    env, prod = report.environment, report.environment.startswith("prod")
    out = []
    if env != report.stack:
        out.append(f"**Environment mismatch**: stack `{report.stack}` says `aimodels:environment: {env}`; its "
                   "platform names would collide with that environment's.")
    others = sorted(KNOWN_ENVS - {env})
    for c in report.changes:
        label = f"`{c.name}` ({c.type})"
        if c.op == "replace" and c.delete_first:
            why = ", ".join(c.replace_reasons) or "a dependency changed"
            out.append(f"**Downtime**: {label} is replaced delete-first ({why}); the endpoint "
                       f"`{c.old.get('endpoint_name') or c.old.get('name')}` is gone until its replacement is "
                       "InService, and requests to it fail meanwhile.")
        if c.op in ("delete", "replace") and c.type in ("pai:Model", "fabric:Model"):
            n = _versions_of(c, deployment, report.changes)
            if n:
                out.append(f"**Model with versions deleted**: {label} `{c.old.get('name')}` still has {n} "
                           f"version(s); {'they are deleted with it' if c.type == 'fabric:Model' else 'the registry loses them'}.")
        if prod and c.type == "fabric:Model" and c.op in ("update", "replace"):
            before, after = _current(c.old), _current(c.new)
            if before != after:
                out.append(f"**Current version moves in prod**: {label} `{c.new.get('name')}` serves "
                           f"`{after}` instead of `{before}` once applied.")
        if prod and c.type == "pai:ModelVersion" and c.op != "delete":
            # the environment's alias, a version label (stacks/blocks/pai.py)
            was = (c.old.get("labels") or {}).get("alias") == "current"
            now = (c.new.get("labels") or {}).get("alias") == "current"
            if now and not was:
                out.append(f"**Current version moves in prod**: {label} `{c.new.get('version_name')}` becomes "
                           "the version prod serves (alias `current`) once applied.")
        if c.op != "delete":
            names = [c.new.get(k) for k in ("name", "username", "output_name", "endpoint_name")]
            names += list(c.new.get("assign_to_roles") or []) + list(c.new.get("roles") or [])
            label_env = (c.new.get("labels") or {}).get("environment")
            wrong = sorted({n for n in names if isinstance(n, str) and any(n.startswith(f"{o}-") for o in others)})
            if wrong or (label_env and label_env != env):
                out.append(f"**Environment mismatch**: {label} in `{env}` carries "
                           f"{', '.join(f'`{w}`' for w in wrong) or f'label environment=`{label_env}`'}.")
        if c.op != "delete":
            for rule, message in violations(c.type, c.new, env):
                out.append(f"**Policy ({RULES[rule]})**: {label} {message}.")
    pol = report.policy
    if pol is not None:
        if pol.skipped and pol.required:
            out.append(f"**Policy skipped**: the policy pack did not run on prod stack `{report.stack}` "
                       "(`--skip-policy`); nothing here says its rules hold.")
        for v in pol.events:
            out.append(f"**Policy pack {v.pack} ({v.level})**: `{v.policy}` on `{v.resource}`: {v.message}")
    return out


def render(report: Report) -> str:
    counts: dict[str, int] = {}
    for c in report.changes:
        counts[c.op] = counts.get(c.op, 0) + 1
    words = {"create": "to create", "update": "to update", "replace": "to replace", "delete": "to delete",
             "import": "to import"}
    summary = ", ".join(f"{counts[op]} {words.get(op, op)}" for op in sorted(counts, key=lambda o: OP_ORDER.get(o, 9)))
    lines = [f"## Pulumi preview of stack `{report.stack}` (environment `{report.environment}`)", ""]
    lines.append(f"**{summary or 'no changes'}**" + (f", {report.unchanged} unchanged" if report.unchanged else ""))
    lines.append("")
    if report.errors:
        lines += ["### Preview failed", ""] + [f"- {e}" for e in report.errors] + [""]
    if report.risks:
        lines += [f"### Risks ({len(report.risks)})", ""] + [f"- {r}" for r in report.risks] + [""]
    else:
        lines += ["### Risks", "", "None flagged.", ""]
    pol = report.policy
    if pol is not None:
        lines += ["### Policy", ""]
        if pol.skipped:
            lines.append("Policy pack **skipped** (`--skip-policy`)" + (" on a prod stack." if pol.required else "."))
        elif not pol.ran:
            lines.append("Policy pack not run (not a prod stack; `--policy` runs it).")
        elif pol.events:
            blocking = sum(1 for v in pol.events if v.level == "mandatory")
            lines.append(f"Policy pack **{pol.events[0].pack}**: {len(pol.events)} violation(s)"
                         + (f", {blocking} mandatory (the update is blocked)." if blocking else "."))
            lines += ["", "| policy | level | resource | message |", "|---|---|---|---|"]
            for v in pol.events:
                text = v.message.replace("|", "\\|")
                lines.append(f"| `{v.policy}` | {v.level} | `{v.resource}` | {text} |")
        else:
            lines.append("Policy pack ran: no violations.")
        lines.append("")
    if report.changes:
        lines += ["### Changes", ""]
    for c in report.changes:
        extra = " (delete-first)" if c.delete_first else ""
        lines.append(f"#### {OP_SIGN.get(c.op, '?')} {c.op} `{c.name}` ({c.type}){extra}")
        lines.append("")
        if c.op == "delete":
            ident = c.old.get("name") or c.old.get("version_name") or c.old.get("username") or ""
            lines += [f"Deletes {show(ident) if ident else 'it'}.", ""]
            continue
        if not c.props:
            lines += ["Replaced because its last create failed (the failed object is kept in state)."
                      if FAILED_CREATE in c.replace_reasons else
                      "Replaced because a resource it depends on is replaced." if c.op == "replace"
                      else "No input changes (outputs only).", ""]
            continue
        lines += ["| property | old | new |", "|---|---|---|"]
        for p in c.props:
            mark = " (forces replacement)" if p.kind.endswith("-replace") or p.path in c.replace_reasons else ""
            lines.append(f"| `{p.path}`{mark} | {show(p.old, p.path)} | {show(p.new, p.path)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
