"""P1: requests per operation per resource type, against a minimal reference.

For each resource type, one stack goes through: up with only what the resource needs (deps),
refresh (baseline), up with the resource (create), a no-change preview, refresh (read = this
minus the baseline), up with one in-place change (update), up without the resource (delete).
Requests come from the emulator's access log and are split into:

  uploads  PUTs to presigned S3 URLs (``/esd/_s3/...``)
  conn     once-per-provider-process checks (ESD ``/ping``, an IAM token, a ZStack login, a Workshop
           token allocation, which later processes reuse from the token cache)
  polls    polls of a wait, as the provider's progress lines count them (``(K polls)``)
  work     everything else

The reference is the fewest work requests the vendor's API allows for the operation (see
REFERENCE; derived from /work/shared/specs). Polls are P2's subject; uploads depend on file count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import Emulator, PulumiError, Request, Run, project

# type -> (has an in-place update, {op: minimal work requests}, why)
REFERENCE: dict[str, tuple[bool, dict[str, int], str]] = {
    "esd:Role": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                 "POST /roles (upsert; the reply is enough), GET /roles?role=, POST, DELETE"),
    "esd:User": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                 "POST /users, GET /users?username=, POST, DELETE"),
    "esd:Checkpoint(url)": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                            "POST urls (+polls of a list filtered by types=), 1 filtered list page, PUT status, DELETE"),
    "esd:Checkpoint(file)": (True, {"create": 2, "read": 1, "update": 1, "delete": 1},
                             "POST + PUT Active (+1 upload per part), 1 filtered list page, PUT status, DELETE"),
    "esd:Dataset": (True, {"create": 2, "read": 1, "update": 1, "delete": 1},
                    "POST + PUT Enabled (+1 upload per file), GET /datasets/{id}, PUT, DELETE"),
    "esd:Endpoint": (False, {"create": 1, "read": 1, "delete": 1},
                     "POST (+polls of GET ?endpointDeploymentJobId=), GET ?endpointDeploymentJobId=, DELETE"),
    "esd:TrainingJob": (False, {"create": 1, "read": 1, "delete": 2},
                        "POST (+polls of GET /trainings/{id}), GET /trainings/{id}, DELETE + DELETE output checkpoint"),
    "esd:InferenceJob": (False, {"create": 2, "read": 1, "delete": 1},
                         "POST + PUT start (+1 upload, +polls), GET /inferences/{id}, DELETE"),
    "pai:Model": (True, {"create": 1, "read": 1, "update": 2, "delete": 1},
                  "CreateModel (labels in the body), GetModel, label-only change: DeleteModelLabels of the changed "
                  "keys + CreateModelLabels (no UpdateModel), DeleteModel"),
    "pai:Model(description)": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                               "CreateModel, GetModel, UpdateModel, DeleteModel"),
    "pai:ModelVersion": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                         "CreateModelVersion, GetModelVersion, UpdateModelVersion, DeleteModelVersion"),
    "fabric:Model": (True, {"create": 3, "read": 2, "update": 1, "delete": 1},
                     "POST (v1) + PUT adding v2 + PUT pointer (+polls), ListModels?id= + ListModelVersions, PUT, cleanup"),
    "zstack:ModelCenter": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                           "AddModelCenter (+job polls; the job's result holds the inventory), GET /{uuid}, "
                           "UpdateModelCenter (its result, no GET), DeleteModelCenter"),
    "zstack:Model": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                     "AddModel (+job polls), GET /{uuid}, UpdateModel (its result, no GET), DeleteModel"),
    "zstack:ModelService": (True, {"create": 1, "read": 1, "update": 1, "delete": 1},
                            "AddModelService (+job polls), GET /{uuid}, UpdateModelService, DeleteModelService"),
    "workshop:ModelSync": (True, {"create": 1, "read": 0, "update": 1, "delete": 0},
                           "spSdModelSync (+re-syncs while listing: the only status source), no read API, "
                           "spSdModelSync, no delete API"),
}
SMOKE_TYPES = ["esd:Role", "pai:Model"]
# Types whose deps stage declares nothing.
NO_DEPS = {"esd:Role", "esd:Checkpoint(url)", "esd:Checkpoint(file)", "esd:Dataset", "pai:Model", "pai:Model(description)",
           "fabric:Model", "zstack:ModelCenter", "workshop:ModelSync"}
_ID = re.compile(r"(?<=/)(?=[^/]*\d)[A-Za-z0-9-]{12,}(?=/|$)")  # object ids in paths, for short listings


CONN = ("/esd/prod/ping", "/fabric/v3/auth", "/zstack/v1/accounts/login", "/workshop/scc/allocate_token")


def classify(requests: list[Request], polls: int) -> dict[str, int]:
    uploads = sum(1 for r in requests if r.path.startswith("/esd/_s3/"))
    conn = sum(1 for r in requests if r.path.startswith(CONN))
    return {"total": len(requests), "uploads": uploads, "conn": conn, "polls": polls,
            "work": len(requests) - uploads - conn - polls}


@dataclass
class TypeResult:
    type: str
    ops: dict[str, dict[str, int]]
    detail: dict[str, list[str]]
    error: str | None = None


def _summary(run: Run, kind: str | None = None) -> str:
    """The diagnostics summary of a run (each progress line once); with ``kind``, only the sections
    of that resource type (the CLI heads each with ``<type token> (<name>):``)."""
    text = run.output.split("\nDiagnostics:\n", 1)[1] if "\nDiagnostics:\n" in run.output else ""
    if kind is None:
        return text
    token = "dynamic/" + kind.split("(")[0] + " ("
    keep, out = False, []
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith("):"):
            keep = token in line
        elif line and not line.startswith(" "):
            keep = False  # the summary ended (Outputs:, Resources:, ...)
        if keep:
            out.append(line)
    return "\n".join(out)


def _platform(kind: str) -> str:
    return kind.split(":", 1)[0]


def measure_types(kinds: list[str], emulator: Emulator, bin_dir: Path, workdir: Path, smoke: bool = False
                  ) -> list[TypeResult]:
    """One stack through the P1 operations with every type of ``kinds`` side by side (each on its
    own platform, so requests are told apart by path; the full run measures one type per stack)."""
    if len({_platform(k) for k in kinds}) != len(kinds):
        raise ValueError(f"P1 types measured together must be on different platforms: {kinds}")
    base_env = {"BENCH_SCENARIO": "+".join(kinds), "BENCH_PREFIX": "p1"}
    ops: dict[str, dict[str, dict[str, int]]] = {k: {} for k in kinds}
    detail: dict[str, dict[str, list[str]]] = {k: {} for k in kinds}

    def mine(kind: str, reqs: list[Request]) -> list[Request]:
        if len(kinds) == 1:
            return reqs
        return [r for r in reqs if r.path.startswith(f"/{_platform(kind)}/")]

    def record(op: str, run: Run, baseline: Run | None = None, only: list[str] | None = None) -> None:
        for kind in only or kinds:
            reqs = mine(kind, run.requests)
            if baseline is not None:  # refresh: remove what the dependencies cost on their own
                pool = mine(kind, baseline.requests)
                rest = []
                for r in reqs:
                    same = next((b for b in pool if b.method == r.method and b.path == r.path), None)
                    if same is not None:
                        pool.remove(same)
                    else:
                        rest.append(r)
                reqs = rest
            summary = _summary(run, kind if len(kinds) > 1 else None)
            polls = sum(int(m) for m in re.findall(r"\((\d+) polls?\)", summary))
            if kind.startswith("workshop:"):
                # A ModelSync wait's first look is the sync reply already in hand, not a request: the
                # progress line counts it among its polls.
                polls = max(0, polls - len(re.findall(r"\(\d+ polls?\)", summary)))
            ops[kind][op] = classify(reqs, polls)
            detail[kind][op] = [f"{r.method} {_ID.sub('{id}', r.path.split('?')[0])}" for r in reqs
                                if not r.path.startswith(("/esd/_s3/", *CONN))]

    emulator.reset()
    error = None
    # Smoke: the emulator is reset after the part, so the stack is left as it is; a stack whose types
    # need nothing first starts empty (the full run still runs its no-op `up` of the deps stage).
    try:
        with project(workdir, emulator, bin_dir, env=base_env, destroy=not smoke) as p:
            if not (smoke and all(k in NO_DEPS for k in kinds)):
                p.run("up", env={"BENCH_STAGE": "deps"})
            base_refresh = p.run("refresh", env={"BENCH_STAGE": "deps"})
            record("create", p.run("up", env={"BENCH_STAGE": "target"}))
            record("preview", p.run("preview", env={"BENCH_STAGE": "target"}))
            record("read", p.run("refresh", env={"BENCH_STAGE": "target"}), baseline=base_refresh)
            updatable = [k for k in kinds if REFERENCE[k][0]]
            if updatable:
                record("update", p.run("up", env={"BENCH_STAGE": "update"}), only=updatable)
            record("delete", p.run("up", env={"BENCH_STAGE": "deps"}))
    except PulumiError as exc:
        error = str(exc).splitlines()[0]
    return [TypeResult(k, ops[k], detail[k], error=error) for k in kinds]


def run(emulator: Emulator, bin_dir: Path, workdir: Path, smoke: bool, fast_settings: dict,
        types: list[str] | None = None) -> list[TypeResult]:
    unknown = sorted(set(types or []) - set(REFERENCE))
    if unknown:
        raise ValueError(f"unknown P1 types {unknown}; known: {list(REFERENCE)}")
    # The smoke run puts its types (one per platform) in one stack: half the engine runs.
    groups = [SMOKE_TYPES] if smoke and not types else [[k] for k in types or list(REFERENCE)]
    out = []
    for i, kinds in enumerate(groups):
        emulator.reset()
        for platform, values in fast_settings.items():
            emulator.settings(platform, **values)
        out += measure_types(kinds, emulator, bin_dir, workdir / f"p1-{i}", smoke=smoke)
    return out


def report(results: list[TypeResult]) -> list[str]:
    ops = ["create", "read", "update", "delete"]
    lines = ["P1  requests per operation: work/reference, +polls, +uploads, +conn (once per provider process);",
             "    '*' = more work requests than the reference; preview = a no-change preview (should be 0)",
             f"    {'type':<24}" + "".join(f"{op:<18}" for op in ops) + "preview"]
    over = 0
    for r in results:
        _, ref, _ = REFERENCE[r.type]
        cells = []
        for op in ops:
            c = r.ops.get(op)
            if c is None:
                cells.append(f"{'-' if op not in ref else '?':<18}")
                continue
            extra = "".join(f" +{c[k]}{k[0]}" for k in ("polls", "uploads", "conn") if c[k])
            star = "*" if c["work"] > ref.get(op, 0) else " "
            over += star == "*"
            cells.append(f"{c['work']}/{ref.get(op, '-')}{star}{extra}".ljust(18))
        prev = r.ops.get("preview", {}).get("total", "?")
        lines.append(f"    {r.type:<24}" + "".join(cells) + str(prev) + (f"  ERROR {r.error}" if r.error else ""))
    lines.append(f"    operations above the reference: {over}  (p = polls, u = uploads, c = conn)")
    lines.append("    requests of those operations (polls included, uploads and conn left out):")
    for r in results:
        _, ref, _ = REFERENCE[r.type]
        for op in ops:
            c = r.ops.get(op)
            if c and c["work"] > ref.get(op, 0):
                lines.append(f"      {r.type} {op}: " + ", ".join(_compress(r.detail[op])))
    lines.append("    reference (fewest requests the API allows):")
    for kind, (_, _, why) in REFERENCE.items():
        if any(r.type == kind for r in results):
            lines.append(f"      {kind:<24}{why}")
    return lines


def _compress(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if out and out[-1].split(" x")[0] == item:
            head, _, n = out[-1].partition(" x")
            out[-1] = f"{head} x{int(n or 1) + 1}"
        else:
            out.append(item)
    return out
