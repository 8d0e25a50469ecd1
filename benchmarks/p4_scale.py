"""P4: N PAI models in one stack: up / preview / refresh / destroy.

Per operation: wall time, time per resource, CPU of the CLI and everything it reaped (engine,
language host, program, provider), CPU of the provider process alone (sampled from /proc) per
resource, the provider's peak resident memory, and the requests the emulator saw. For the
largest N the up and destroy are repeated with ``PULUMI_SKIP_CHECKPOINTS=true`` (the engine then
writes the state once at the end instead of after every step).

Targets: preview and refresh linear in N; provider overhead <= 5 ms per operation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import Emulator, Project, Run, project

OPS = ["up", "preview", "refresh", "destroy"]


@dataclass
class Row:
    n: int
    variant: str
    runs: dict[str, Run]


@dataclass
class Split:
    n: int
    stacks: int
    wall: dict[str, float]


def run_split(emulator: Emulator, bin_dir: Path, workdir: Path, n: int, stacks: int) -> Split:
    """The same N resources as `stacks` stacks of N/stacks, each operation run on all at once."""
    emulator.reset()
    projects = [Project(workdir / f"split-{i}", emulator, bin_dir,
                        env={"BENCH_SCENARIO": "pai-models", "BENCH_N": str(n // stacks), "BENCH_PREFIX": f"p4s{i}",
                             "BENCH_STAGE": "target"}) for i in range(stacks)]
    wall: dict[str, float] = {}
    errors: list[str] = []
    try:
        for op in ("up", "destroy"):
            def one(p: Project) -> None:
                try:
                    p.run(op, timeout_s=1800)
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(str(exc).splitlines()[0])
            threads = [threading.Thread(target=one, args=(p,)) for p in projects]
            start = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall[op] = time.monotonic() - start
    finally:
        for p in projects:
            p.remove()
    if errors:
        raise RuntimeError("split stacks: " + "; ".join(errors))
    return Split(n, stacks, wall)


def run(emulator: Emulator, bin_dir: Path, workdir: Path, sizes: list[int], skip_checkpoints_at_max: bool = True) -> list[Row]:
    rows = []
    for n in sizes:
        emulator.reset()
        env = {"BENCH_SCENARIO": "pai-models", "BENCH_N": str(n), "BENCH_PREFIX": f"p4-{n}", "BENCH_STAGE": "target"}
        with project(workdir / f"p4-{n}", emulator, bin_dir, env=env, destroy=False) as p:
            runs = {}
            for op in OPS:
                runs[op] = p.run(op, timeout_s=1800)
            rows.append(Row(n, "default", runs))
            if skip_checkpoints_at_max and n == max(sizes):
                skip = {"PULUMI_SKIP_CHECKPOINTS": "true"}
                runs = {"up": p.run("up", env=skip, timeout_s=1800)}
                runs["destroy"] = p.run("destroy", env=skip, timeout_s=1800)
                rows.append(Row(n, "PULUMI_SKIP_CHECKPOINTS=true", runs))
    return rows


def report(rows: list[Row], split: Split | None = None) -> list[str]:
    lines = ["P4  N PAI models in one stack (targets: preview and refresh linear in N; provider <= 5 ms CPU per operation)",
             f"    {'N':>4}  {'op':<8}{'wall':>8}{'per res':>9}{'CLI+children CPU':>18}{'provider CPU/res':>18}"
             f"{'provider peak':>15}{'requests':>10}"]
    for row in rows:
        if row.variant != "default":
            lines.append(f"    {row.n:>4}  with {row.variant}:")
        for op, r in row.runs.items():
            lines.append(f"    {row.n:>4}  {op:<8}{r.wall_s:>7.1f}s{1000 * r.wall_s / row.n:>7.1f}ms"
                         f"{r.cli_cpu_s:>17.1f}s{1000 * r.provider_cpu_s / row.n:>16.1f}ms"
                         f"{r.provider_peak_rss / 2**20:>12.0f} MB{len(r.requests):>10}")
    default = [r for r in rows if r.variant == "default"]
    if len(default) >= 2:
        small, big = default[0], default[-1]
        parts = []
        for op in OPS:
            a, b = small.runs[op].wall_s / small.n, big.runs[op].wall_s / big.n
            parts.append(f"{op} {b / a:.2f}")
        lines.append(f"    time per resource at N={big.n} / at N={small.n} (1.00 = linear; below 1: fixed start-up "
                     f"cost spread out): " + ", ".join(parts))
        if len(default) >= 3:
            mid = default[-2]
            parts = [f"{op} {(big.runs[op].wall_s / big.n) / (mid.runs[op].wall_s / mid.n):.2f}" for op in OPS]
            lines.append(f"    time per resource at N={big.n} / at N={mid.n}: " + ", ".join(parts))
        mid = default[-2]
        dn = big.n - mid.n
        wall = ", ".join(f"{op} {1000 * (big.runs[op].wall_s - mid.runs[op].wall_s) / dn:.1f}" for op in OPS)
        cpu = ", ".join(f"{op} {1000 * (big.runs[op].provider_cpu_s - mid.runs[op].provider_cpu_s) / dn:.1f}" for op in OPS)
        engine = ", ".join(f"{op} {1000 * ((big.runs[op].cli_cpu_s - big.runs[op].provider_cpu_s) - (mid.runs[op].cli_cpu_s - mid.runs[op].provider_cpu_s)) / dn:.1f}"
                           for op in OPS)
        lines.append(f"    marginal cost of one more resource (N={mid.n} -> {big.n}), ms: wall: {wall}")
        lines.append(f"      provider CPU: {cpu}")
        lines.append(f"      everything else (engine, program, language host) CPU: {engine}")
    if split is not None:
        one = next((r for r in default if r.n == split.n), None)
        ref = f" (one stack of {split.n}: up {one.runs['up'].wall_s:.1f} s, destroy {one.runs['destroy'].wall_s:.1f} s)" if one else ""
        lines.append(f"    {split.n} resources as {split.stacks} stacks of {split.n // split.stacks}, run at the same time: "
                     f"up {split.wall['up']:.1f} s, destroy {split.wall['destroy']:.1f} s{ref}")
    return lines
