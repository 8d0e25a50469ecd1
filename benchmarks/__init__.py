"""The project's benchmark suite: `bash scripts/bench.sh [args]` (sets up .venv and the CLI), or
`python -m benchmarks [args]` from the repository root with the project's .venv.

Everything runs against an emulator process on loopback that the suite starts and stops itself,
with the real Pulumi engine (scripts/pulumi-cli.sh) on throwaway file backends. Parts:

  p1  requests per operation per resource type, against a minimal reference
  p2  readiness overshoot of a real wait for W = 5, 20, 60 s, and polls per wait
  p3  16 endpoints ready after W = 10 s: `up` / W and `up` / direct HTTP, stock server and ours
  p4  N = 10, 100, 500 PAI models: up / preview / refresh / destroy, per-resource cost,
      provider CPU and peak memory
  s   an empty preview with SIGINT ignored (the language host's signal handling)

`--smoke` runs every part at a tiny size (seconds, not minutes); tests/e2e/test_bench_smoke.py
runs it so the code cannot rot. The smoke run prints the same tables; its figures mean nothing.
It also skips engine runs the tables do not need (each costs about a CPU-second): P1 measures its
two types (on two platforms) in one stack, P3 runs each variant on a fresh stack whose timed `up`
creates the roles too, S previews without a prior `up`, and no stack is destroyed at the end.
"""
