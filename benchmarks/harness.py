"""What every benchmark part shares: an emulator with an access log, a Pulumi project runner, and
a sampler of the provider process (CPU, peak memory).

Requests are counted from the emulator's own access log (uvicorn's, enabled with
``--log-level info``): one line per request, ``"METHOD /path?query HTTP/1.1" status``. Admin calls
(``/_admin``) are not counted.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.program import SOURCE
from emulator import defaults
from tests.emulator_process import Emulator as EmulatorProcess

REPO = Path(__file__).resolve().parents[1]
ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3})')

# Credentials the emulator accepts by default (documented in each emulator module).
ESD_API_KEY = defaults.ESD_API_KEY
PAI_AK, PAI_SK = defaults.PAI_ACCESS_KEY_ID, defaults.PAI_ACCESS_KEY_SECRET
FABRIC_AK, FABRIC_SK = defaults.FABRIC_ACCESS_KEY, defaults.FABRIC_SECRET_KEY
ZSTACK_ACCOUNT, ZSTACK_PASSWORD = defaults.ZSTACK_ACCOUNT, defaults.ZSTACK_PASSWORD
WORKSHOP_APP_KEY, WORKSHOP_APP_SECRET = defaults.WORKSHOP_APP_KEY, defaults.WORKSHOP_APP_SECRET


@dataclass
class Request:
    method: str
    path: str
    status: int


class Emulator(EmulatorProcess):
    """An ``aimodels-emulator`` process on a free loopback port, logging every request."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        super().__init__(workdir / "state.db", extra_args=["--log-level", "info"])

    # -- the access log
    def mark(self) -> int:
        """A position in the access log; ``requests_since(mark)`` lists what came after it."""
        time.sleep(0.05)  # let the last lines of the previous operation reach the file
        return self.log_path.stat().st_size

    def requests_since(self, mark: int) -> list[Request]:
        time.sleep(0.05)
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        out = []
        for line in text.splitlines():
            m = ACCESS.search(line)
            if m and not m["path"].startswith("/_admin"):
                out.append(Request(m["method"], m["path"], int(m["status"])))
        return out

    def client_env(self) -> dict[str, str]:
        """Environment that points every provider at this emulator (config is not needed)."""
        return {
            "AIMODELS_EMULATOR_URL": self.url,
            "ESD_API_URL": f"{self.url}/esd/prod", "ESD_API_KEY": ESD_API_KEY, "ESD_USERNAME": "api",
            "PAI_ENDPOINT": f"{self.url}/pai",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": PAI_AK, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": PAI_SK,
            "FABRIC_ENDPOINT": f"{self.url}/fabric", "HUAWEICLOUD_SDK_AK": FABRIC_AK, "HUAWEICLOUD_SDK_SK": FABRIC_SK,
            "ZSTACK_ENDPOINT": f"{self.url}/zstack", "ZSTACK_ACCOUNT_NAME": ZSTACK_ACCOUNT,
            "ZSTACK_ACCOUNT_PASSWORD": ZSTACK_PASSWORD,
            "WORKSHOP_ENDPOINT": f"{self.url}/workshop", "WORKSHOP_APP_KEY": WORKSHOP_APP_KEY,
            "WORKSHOP_APP_SECRET": WORKSHOP_APP_SECRET,
            # the allocated Workshop token is kept next to the emulator's files, not in the user's cache
            "WORKSHOP_TOKEN_CACHE": str(Path(self.log_path).parent / "workshop-tokens"),
        }


def pulumi_bin() -> Path:
    """The directory holding ``pulumi`` and the Python launchers (scripts/pulumi-cli.sh)."""
    proc = subprocess.run(["bash", str(REPO / "scripts" / "pulumi-cli.sh")], cwd=REPO, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"scripts/pulumi-cli.sh failed: {proc.stderr.strip()}")
    return Path(lines[-1])


# -- the provider process: CPU and peak memory, sampled from /proc ------------------------------------
def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _descendants(pid: int) -> list[int]:
    kids = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _proc_stats(pid: int) -> tuple[float, int] | None:
    """(CPU seconds, peak RSS bytes) of one process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as f:
            hwm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:")), 0)
    except (OSError, StopIteration):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, hwm


def is_provider(cmdline: str) -> bool:
    """A dynamic-provider process: Python, not the language host nor the program it runs."""
    return "python" in cmdline and "pulumi-language-python" not in cmdline and (
        "pulumi.dynamic" in cmdline or "pulumi-resource" in cmdline or "providers." in cmdline)


class ProviderSampler:
    """Samples the provider processes under one CLI process until stopped."""

    def __init__(self, root_pid: int, every_s: float = 0.1) -> None:
        self.root_pid = root_pid
        self.every_s = every_s
        self.seen: dict[int, tuple[float, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ProviderSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in _descendants(self.root_pid):
                if pid in self.seen or is_provider(_cmdline(pid)):
                    stats = _proc_stats(pid)
                    if stats:  # keep the highest figures: an exiting process reads as zero
                        cpu, rss = self.seen.get(pid, (0.0, 0))
                        self.seen[pid] = (max(cpu, stats[0]), max(rss, stats[1]))
            self._stop.wait(self.every_s)

    @property
    def cpu_s(self) -> float:
        return sum(cpu for cpu, _ in self.seen.values())

    @property
    def peak_rss(self) -> int:
        return max((rss for _, rss in self.seen.values()), default=0)


# -- a Pulumi project on a throwaway file backend ----------------------------------------------------
@dataclass
class Run:
    op: str
    wall_s: float
    cli_cpu_s: float  # the CLI and every process it reaped (engine, language host, program, providers)
    provider_cpu_s: float
    provider_peak_rss: int
    output: str
    returncode: int
    requests: list[Request] = field(default_factory=list)

    @property
    def polls(self) -> int:
        """Polls reported by the provider's waits (``... after Ns (K polls)`` progress lines).

        The CLI prints each progress line twice (live, then under "Diagnostics:"); only the
        summary counts.
        """
        text = self.output.split("\nDiagnostics:\n", 1)[1] if "\nDiagnostics:\n" in self.output else ""
        return sum(int(m) for m in re.findall(r"\((\d+) polls?\)", text))


class PulumiError(RuntimeError):
    pass


class Project:
    """A temporary Pulumi project running benchmarks/program.py, one stack, a file backend."""

    def __init__(self, workdir: Path, emulator: Emulator, bin_dir: Path, stack: str = "bench",
                 env: Mapping[str, str] | None = None) -> None:
        self.dir = workdir
        self.emulator = emulator
        self.bin_dir = bin_dir
        self.stack = stack
        (workdir / "state").mkdir(parents=True, exist_ok=True)
        (workdir / "Pulumi.yaml").write_text(
            "name: bench\n"
            "runtime:\n  name: python\n  options:\n    virtualenv: " + str(Path(sys.prefix)) + "\n")
        (workdir / "__main__.py").write_text(SOURCE)
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(REPO / ".tools" / "pulumi-home"),
            "PULUMI_BACKEND_URL": (workdir / "state").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "aimodels-bench-only",  # throwaway state under a temp dir
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "BENCH_ASSETS": str(REPO / "stacks" / "assets"),
            **emulator.client_env(),
            **(env or {}),
        }
        if "PULUMI_PARALLEL" not in (env or {}):
            self.env.pop("PULUMI_PARALLEL", None)  # measure the engine's defaults unless asked otherwise
        # AIMODELS_SECRETS_PROVIDER as for `aimodels` (the e2e tier's smoke run sets a KMS key).
        provider = self.env.get("AIMODELS_SECRETS_PROVIDER") or "passphrase"
        self._cli(["stack", "init", stack, "--secrets-provider", provider], {})

    def _cli(self, args: list[str], env: Mapping[str, str], timeout_s: float = 900) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.bin_dir / "pulumi"), *args, "--non-interactive"], cwd=self.dir,
                              env={**self.env, **env}, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0:
            raise PulumiError(f"pulumi {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
        return proc

    def run(self, op: str, env: Mapping[str, str] | None = None, args: list[str] | None = None,
            timeout_s: float = 900, check: bool = True, preexec_fn: Any = None) -> Run:
        """``op`` is up / preview / refresh / destroy; returns timings, CPU, provider memory, requests."""
        cmd = [str(self.bin_dir / "pulumi"), op, "--stack", self.stack, "--non-interactive", "--skip-preview"
               if op in ("up", "refresh", "destroy") else "", "--yes" if op != "preview" else "", *(args or [])]
        cmd = [c for c in cmd if c]
        mark = self.emulator.mark()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=self.dir, env={**self.env, **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn)
        with ProviderSampler(proc.pid) as sampler:
            try:
                output, _ = proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                output, _ = proc.communicate()
                raise PulumiError(f"pulumi {op} did not finish within {timeout_s:.0f}s:\n{output[-3000:]}") from None
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if check and proc.returncode != 0:
            errors = [line.strip() for line in output.splitlines() if "error:" in line]
            raise PulumiError(f"pulumi {op} failed ({proc.returncode}): {errors[-1] if errors else ''}\n{output[-4000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return Run(op, wall, cpu, sampler.cpu_s, sampler.peak_rss, output, proc.returncode,
                   self.emulator.requests_since(mark))

    def remove(self) -> None:
        """Forget the stack without touching the platform (the emulator is reset separately)."""
        try:
            self._cli(["stack", "rm", self.stack, "--force", "--yes"], {})
        except PulumiError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def project(workdir: Path, emulator: Emulator, bin_dir: Path, env: Mapping[str, str] | None = None,
            destroy: bool = True) -> Iterator[Project]:
    p = Project(workdir, emulator, bin_dir, env=env)
    try:
        yield p
    finally:
        if destroy:
            try:
                p.run("destroy", timeout_s=600)
            except PulumiError as exc:
                print(f"  (cleanup: {str(exc).splitlines()[0]})", file=sys.stderr)
        p.remove()


def median(values: list[float]) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
