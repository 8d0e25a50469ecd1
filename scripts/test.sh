#!/usr/bin/env bash
# The test command. On a fresh machine it installs what it needs (a project virtualenv from
# requirements.lock, the Pulumi CLI built from Go modules), then runs every tier: framework
# units, emulator contracts, provider lifecycles over HTTP, and the end-to-end tier under the
# real engine (parts of it under each supported CLI version). Extra arguments go to pytest
# (e.g. `-m "not e2e"` for the quick tier, `-k endpoint`).
#
# Tests run in parallel with pytest-xdist: AIMODELS_TEST_WORKERS workers (default: 2 per core,
# at least 4: while one worker's test waits on a poll or a process start, another uses the core), each with
# its own emulator. Pass `-n 0` (or any -n / -p no:xdist) to choose yourself; a run of a single
# test file or test id runs in one process.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The CLI (a link from the Go build cache, or a build on a cold machine) is made while the venv
# installs: neither needs the other.
cli_out=$(mktemp)
trap 'rm -f "$cli_out"' EXIT
"$ROOT/scripts/pulumi-cli.sh" >"$cli_out" &
cli_pid=$!
ensure_venv
wait "$cli_pid" || die "could not obtain the Pulumi CLI"
bin_dir=$(tail -n 1 "$cli_out")
rm -f "$cli_out"
export PATH="$bin_dir:$VENV/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
# Byte-code caches (git-ignored __pycache__) for the tests and for every Python process the
# engine starts (program, provider server, policy pack): without them pytest re-rewrites every
# test module's asserts in every worker (~25 s of collection on this machine instead of ~2 s),
# and each provider process compiles the project's modules again.
unset PYTHONDONTWRITEBYTECODE
# The e2e tier starts the Go CLI and language host hundreds of times, each short-lived: collecting
# garbage less often saves ~7% of a preview's CPU (GOGC=400 against the default 100) for memory
# these processes give back when they exit. An explicit GOGC wins.
export GOGC="${GOGC:-400}"

parallel=(-n "${AIMODELS_TEST_WORKERS:-$(( $(nproc) * 2 > 4 ? $(nproc) * 2 : 4 ))}" --dist load --maxschedchunk 1)
paths=0
for arg in "$@"; do
    case $arg in
        -n|-n[0-9]*|--numprocesses|--numprocesses=*|no:xdist|-pno:xdist|--pdb|--trace) parallel=() ;;
        *.py|*.py::*) paths=$((paths + 1)) ;;
    esac
done
# One file or one test: not worth starting workers for.
[ "$paths" -eq 1 ] && parallel=()

cd "$ROOT"
exec "$VENV/bin/python" -m pytest "${parallel[@]}" "$@"
