"""What both chaos campaigns share: the emulator they start, the stack they drive, and how they count.

The stack is the project's own program (stacks/) with every platform switched on: ESD, a PAI model
with one ModelVersion, a DataArts Fabric model with one version, a ZStack model center with one
model service and one model, and a Workshop model sync. It runs against a private emulator (free
loopback port, SQLite under the run's temp dir) and a throwaway file backend beside it.

Counting
    ``made`` is what the emulator holds beyond the built-ins a reset seeds, per (platform, kind).
    Kinds in BOOKKEEPING are the emulator's own records (sessions, API jobs, API tokens, endpoint
    tombstones), never counted. Kinds in STORAGE (ESD blobs and uploads) are details of another
    object: counted as orphans when left behind, never compared for duplicates. Kinds in KEPT have no
    delete API (the Workshop documents none): destroy leaves them by design, so they are orphans only
    while the stack still exists and does not hold them, and duplicates like anything else.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from emulator import defaults

REPO = Path(__file__).resolve().parents[2]
PULUMI_HOME = REPO / ".tools" / "pulumi-home"
PASSPHRASE = "aimodels-chaos-test-only"  # guards a throwaway backend holding only emulator credentials
PLATFORMS = ("esd", "pai", "fabric", "zstack", "workshop")
ENVIRONMENT = "chaos"
# The emulator's documented test credentials (its default settings), not real ones.
SECRETS = {
    "aimodels:engineerPassword": "Chaos-Engineer-Passw0rd",
    "esd:apiKey": defaults.ESD_API_KEY,
    "pai:accessKeySecret": defaults.PAI_ACCESS_KEY_SECRET,
    "fabric:secretKey": defaults.FABRIC_SECRET_KEY,
    "zstack:accountPassword": "password",
    "workshop:appSecret": defaults.WORKSHOP_APP_SECRET,
}
# Async timings short enough for many cycles (the defaults model the vendors' pace).
FAST: dict[str, dict[str, Any]] = {
    "esd": {"endpoint_create_seconds": 0.5, "checkpoint_download_seconds": 0.3, "checkpoint_rename_seconds": 0.2,
            "inference_async_seconds": 0.3, "training_phase_seconds": 0.2},
    "fabric": {"create_delay_s": 0.3, "version_delay_s": 0.3},
    "zstack": {"job_delay_s": 0.2},
    "workshop": {"listing_delay_s": 0.3},
}
BOOKKEEPING = {("esd", "endpoint_tombstone"), ("zstack", "session"), ("zstack", "job"), ("workshop", "token")}
STORAGE = {("esd", "blob"), ("esd", "upload")}
KEPT = {("workshop", "model")}


def say(text: str) -> None:
    print(text, flush=True)


def quiet(_: str) -> None:
    pass


def short_error(exc: BaseException | str) -> str:
    """The engine's error lines, not its whole transcript."""
    text = str(exc)
    errors = [line.split("error:", 1)[1].strip().removeprefix("Exception calling application: ")[:300]
              for line in text.splitlines() if "error:" in line]
    telling = [e for e in errors if e and e not in ("update failed", "destroy failed", "preview failed")]
    if telling or errors:
        return (telling or errors)[0]
    return (text.strip().splitlines() or [repr(exc)])[-1][:300]


def pulumi_bin() -> Path:
    proc = subprocess.run(["bash", str(REPO / "scripts" / "pulumi-cli.sh")], cwd=REPO, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not (Path(lines[-1]) / "pulumi").is_file():
        raise SystemExit(f"chaos: scripts/pulumi-cli.sh could not provide the Pulumi CLI:\n{proc.stderr[-2000:]}")
    return Path(lines[-1])


def stack_config_file(stack_name: str) -> Path:
    import yaml

    data = yaml.safe_load((REPO / "Pulumi.yaml").read_text()) or {}
    return REPO / (data.get("stackConfigDir") or ".") / f"Pulumi.{stack_name}.yaml"


def stack_values(url: str) -> dict[str, str]:
    """Plain config of the chaos stack: every platform on, one PAI ModelVersion and one Fabric version."""
    return {
        "aimodels:environment": ENVIRONMENT,
        "aimodels:emulator": "true",
        "esd:apiUrl": f"{url}/esd/prod",
        "pai:endpoint": f"{url}/pai",
        "pai:accessKeyId": defaults.PAI_ACCESS_KEY_ID,
        "fabric:endpoint": f"{url}/fabric",
        "fabric:accessKey": defaults.FABRIC_ACCESS_KEY,
        "zstack:endpoint": f"{url}/zstack",
        "zstack:accountName": "admin",
        "workshop:endpoint": f"{url}/workshop",
        "workshop:appKey": defaults.WORKSHOP_APP_KEY,
        "workshop:tokenName": "chaos",
        "aimodels:pai": json.dumps({"versions": [{"name": "1.0.0", "approval": "Approved",
                                                  "uri": "oss://aimodels-chaos.oss-cn-hangzhou.aliyuncs.com/sd/1.0.0/"}],
                                    "current": "1.0.0"}),
        "aimodels:fabric": json.dumps({"versions": [{"name": "v1", "baseModelType": "QWEN2_5_7B",
                                                     "modelPath": "obs://aimodels-chaos/chat/v1/"}]}),
    }


def secrets_provider() -> str:
    """``AIMODELS_SECRETS_PROVIDER`` when set (as for ``aimodels``; the e2e tier sets a KMS key), else
    the passphrase above."""
    return os.environ.get("AIMODELS_SECRETS_PROVIDER") or "passphrase"


def backend_env(state_dir: Path, emulator_url: str) -> dict[str, str]:
    return {
        "PULUMI_BACKEND_URL": state_dir.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "AIMODELS_EMULATOR_URL": emulator_url,
    }


def descendants(pid: int) -> list[int]:
    """Pids of the processes below ``pid`` (read from /proc; empty where /proc is missing)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def processes_with_env(name: str, prefix: str) -> dict[int, str]:
    """Live processes whose environment holds ``name=<prefix>...``: pid -> a short command line.

    Every process of a chaos run's ``pulumi`` invocation inherits the variable (the engine passes
    its environment to the language host, the program and the provider plugins), so this finds
    them even after their parent died and they were re-parented. Zombies are not counted.
    """
    needle = f"{name}={prefix}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            env = (entry / "environ").read_bytes()
            if needle not in env:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        found[int(entry.name)] = describe(argv)
    return found


def describe(argv: list[bytes]) -> str:
    """Which of the run's processes this is: pulumi, the language host, the provider server, the program."""
    words = [a.decode(errors="replace") for a in argv if a]
    names = [os.path.basename(w) for w in words[:3]]
    for known in ("pulumi-resource-pulumi-python", "pulumi-language-python-exec", "pulumi-language-python"):
        if known in names:
            return "program" if known == "pulumi-language-python-exec" else known
    if names and names[0] == "pulumi":
        return "pulumi"
    if any("providers.core.server" in w or "pulumi.dynamic" in w for w in words):
        return "pulumi-resource-pulumi-python"
    return " ".join(words)[:80] or "?"


class Inventory:
    """The emulator's objects, sorted into the counts the campaigns report."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.builtins: set[tuple[str, str, str]] = set()
        self.base_counts: Counter[tuple[str, str]] = Counter()

    def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        r = self.emulator.admin.get("/objects")
        r.raise_for_status()
        return r.json()

    def reset(self, timings: dict[str, dict[str, Any]] | None = None) -> None:
        self.emulator.reset()
        for platform, values in (timings or FAST).items():
            self.emulator.settings(platform, **values)
        self.builtins = {(p, k, i) for p, kinds in self.dump().items() for k, objs in kinds.items() for i in objs}
        self.base_counts = Counter((p, k) for p, k, _ in self.builtins if (p, k) not in BOOKKEEPING)

    def objects(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(platform, kind, id, document) of every object made since the reset, bookkeeping left out."""
        return [(p, k, i, doc) for p, kinds in self.dump().items() for k, objs in kinds.items()
                if (p, k) not in BOOKKEEPING for i, doc in objs.items() if (p, k, i) not in self.builtins]

    def made(self) -> Counter[tuple[str, str]]:
        """Objects per kind beyond the built-ins a reset seeds."""
        return Counter((p, k) for p, k, _, _ in self.objects())

    def blob_files(self) -> int:
        root = Path(str(self.emulator.db_path) + ".esd-blobs")
        return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def platform_of(resource_type: str) -> str | None:
    return next((p for p in PLATFORMS if f"/{p}:" in resource_type or f":{p}:" in resource_type), None)


def duplicates(made: Counter[tuple[str, str]], expected: Counter[tuple[str, str]]) -> dict[str, int]:
    """Objects beyond what one clean ``up`` makes, per kind (storage details left out)."""
    return {f"{p}:{k}": n - expected[(p, k)] for (p, k), n in sorted(made.items())
            if (p, k) not in STORAGE and n > expected[(p, k)]}


def state_ids(resources: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Per platform, the ids the stack's state holds."""
    ids: dict[str, set[str]] = {}
    for r in resources:
        platform = platform_of(r.get("type", ""))
        if platform is not None and r.get("id"):
            ids.setdefault(platform, set()).add(str(r["id"]))
    return ids


# Objects that are parts of another object's resource: the field naming that owner.
PART_OF = {("esd", "dataset_item"): "dataset_name", ("fabric", "version"): "model_id"}


def object_keys(platform: str, kind: str, obj_id: str, doc: dict[str, Any]) -> set[str]:
    """The state ids that account for this object: its emulator key (the last path segment too:
    a Workshop model is kept under ``<owner>/<modelId>``), or, for a part of another resource (a
    dataset's items, a Fabric model's versions), its owner's id. A parent does not vouch for a
    child that is a resource of its own (a PAI ModelVersion needs its own id in state)."""
    if (platform, kind) in PART_OF:
        return {str(doc.get(PART_OF[(platform, kind)]))}
    return {obj_id, obj_id.rsplit("/", 1)[-1]}


def orphans(objects: list[tuple[str, str, str, dict[str, Any]]], resources: list[dict[str, Any]],
            *, stack_destroyed: bool) -> dict[str, int]:
    """Objects on the emulator that no resource in state accounts for, per kind.

    After a destroy every object is an orphan except the KEPT kinds. Storage kinds (ESD blobs,
    uploads) belong to a checkpoint or dataset: orphans only when left after a destroy.
    """
    held = state_ids(resources)
    left: Counter[str] = Counter()
    for platform, kind, obj_id, doc in objects:
        if stack_destroyed:
            if (platform, kind) not in KEPT:
                left[f"{platform}:{kind}"] += 1
            continue
        if (platform, kind) in STORAGE:
            continue
        if not object_keys(platform, kind, obj_id, doc) & held.get(platform, set()):
            left[f"{platform}:{kind}"] += 1
    return dict(sorted(left.items()))


def state_without_object(dump: dict[str, dict[str, dict[str, Any]]], resources: list[dict[str, Any]]) -> list[str]:
    """State entries whose id (each ``:``-separated part of it) the emulator does not know."""
    known: dict[str, set[str]] = {}
    for platform, kinds in dump.items():
        values: set[str] = set()
        for objs in kinds.values():
            for obj_id, doc in objs.items():
                values.update({obj_id, obj_id.rsplit("/", 1)[-1]})
                values.update(v for v in doc.values() if isinstance(v, str))
        known[platform] = values
    missing = []
    for r in resources:
        owner = platform_of(r.get("type", ""))
        if owner is None or not r.get("id"):
            continue
        if not all(part in known.get(owner, set()) for part in str(r["id"]).split(":")):
            missing.append(f"{r['urn'].split('::')[-1]} ({r['id']})")
    return missing


class Rig:
    """A private emulator, its inventory, and the chaos stack on a throwaway file backend."""

    def __init__(self, workdir: Path) -> None:
        from pulumi import automation as auto

        from tests.emulator_process import Emulator

        self.auto = auto
        self.workdir = workdir
        (workdir / "emulator").mkdir(parents=True, exist_ok=True)
        self.emulator = Emulator(workdir / "emulator" / "state.db")
        self.inventory = Inventory(self.emulator)
        self.stack_name = f"chaos-{os.getpid()}"
        self.config_file = stack_config_file(self.stack_name)
        self.had_config_file = self.config_file.exists()
        if self.had_config_file:
            raise SystemExit(f"chaos: {self.config_file} already exists; refusing to overwrite it")
        self.stack: Any = None
        self.state_dir: Path | None = None
        self.bin_dir: Path | None = None

    def start(self) -> None:
        self.bin_dir = pulumi_bin()
        os.environ["PATH"] = f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        PULUMI_HOME.mkdir(parents=True, exist_ok=True)
        self.emulator.start()

    def stop(self) -> None:
        self.drop_stack()
        self.remove_config_file()
        self.emulator.stop()

    def remove_config_file(self) -> None:
        if self.config_file.exists() and not self.had_config_file:
            self.config_file.unlink()

    @property
    def env(self) -> dict[str, str]:
        assert self.state_dir is not None
        return backend_env(self.state_dir, self.emulator.url)

    def make_stack(self) -> None:
        auto = self.auto
        self.state_dir = self.workdir / f"state-{int(time.time() * 1000)}"
        self.state_dir.mkdir()
        bin_dir = self.bin_dir
        assert bin_dir is not None
        command = auto.PulumiCommand(root=str(bin_dir.parent)) if bin_dir.name == "bin" else auto.PulumiCommand()
        opts = auto.LocalWorkspaceOptions(work_dir=str(REPO), pulumi_home=str(PULUMI_HOME), env_vars=self.env,
                                          secrets_provider=secrets_provider(), pulumi_command=command)
        self.stack = auto.create_stack(self.stack_name, work_dir=str(REPO), opts=opts)
        config = {k: auto.ConfigValue(value=v) for k, v in stack_values(self.emulator.url).items()}
        config.update({k: auto.ConfigValue(value=v, secret=True) for k, v in SECRETS.items()})
        self.stack.set_all_config(config)

    def drop_stack(self) -> None:
        if self.stack is not None:
            try:
                self.stack.workspace.remove_stack(self.stack_name, force=True)
            except self.auto.CommandError:
                pass
            self.stack = None

    def state_resources(self) -> list[dict[str, Any]]:
        deployment = self.stack.export_stack().deployment or {}
        return [r for r in deployment.get("resources", []) if "dynamic" in r.get("type", "") and r.get("id")]

    def state_without_object(self) -> list[str]:
        return state_without_object(self.inventory.dump(), self.state_resources())

    def preview_changes(self) -> int:
        """0 when a preview wants no change, else how many resources it would change (at least 1)."""
        try:
            self.stack.preview(expect_no_changes=True, on_output=quiet)
            return 0
        except self.auto.CommandError:
            result = self.stack.preview(on_output=quiet)
            return sum(v for k, v in (result.change_summary or {}).items() if k != "same") or 1


class CycleRecord(Protocol):
    errors: list[str]

    def line(self) -> str: ...


C = TypeVar("C", bound=CycleRecord)


def run_cycles(rig: Rig, args: Any, calibrate: Callable[[], None], cycle: Callable[[int], C],
               details: Callable[[C], list[tuple[str, Any]]], final_destroy: Callable[[], None],
               last: Callable[[], Any] = lambda: None) -> tuple[list[C], str | None]:
    """The loop both campaigns share. Start the rig, make the stack, ``calibrate``, then ``cycle(n)``
    for n = 1 .. ``args.cycles`` until ``args.max_minutes`` have passed, saying each cycle's line, its
    errors and its non-empty ``details`` (name, value). At the end, also after an error:
    ``final_destroy`` when the stack still holds resources (a failure is said, not raised), ``last``,
    and the rig stops. Returns the cycles and why the run stopped early (None when it did not)."""
    deadline = time.monotonic() + args.max_minutes * 60
    rig.start()
    cycles: list[C] = []
    stopped = None
    try:
        rig.make_stack()
        calibrate()
        for n in range(1, args.cycles + 1):
            if time.monotonic() > deadline:
                stopped = f"--max-minutes {args.max_minutes} reached before cycle {n}"
                say(f"stopping: {stopped}")
                break
            c = cycle(n)
            cycles.append(c)
            say(c.line())
            for err in c.errors:
                say(f"            {err}")
            for key, value in details(c):
                if value:
                    say(f"            {key}: {value}")
    finally:
        try:
            if rig.stack is not None and rig.state_resources():
                final_destroy()
        except Exception as exc:  # report, keep cleaning up
            say(f"final destroy failed: {short_error(exc)}")
        last()
        rig.stop()
    return cycles, stopped
