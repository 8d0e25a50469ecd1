#!/usr/bin/env bash
# The benchmark suite (benchmarks/): sets up .venv and the Pulumi CLI like scripts/test.sh, then
# runs `python -m benchmarks` from the repository root. Arguments go to it (`--smoke`,
# `--parts p1,p3`, `--sizes 10,100`, `--help`). It starts and stops its own emulator on a free
# loopback port and uses throwaway file backends; the full run takes about 12 minutes on 2 CPUs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_venv
bin_dir=$("$ROOT/scripts/pulumi-cli.sh" | tail -n 1) || die "could not obtain the Pulumi CLI"
export PATH="$bin_dir:$VENV/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true

cd "$ROOT"
exec "$VENV/bin/python" -m benchmarks "$@"
