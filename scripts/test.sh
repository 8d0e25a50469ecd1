#!/usr/bin/env bash
# The test command. On a fresh machine it installs what it needs (a project virtualenv from
# requirements.lock, the Pulumi CLI built from Go modules), then runs every tier: framework
# units, emulator contracts, provider lifecycles over HTTP, and the end-to-end tier under the
# real engine. Extra arguments go to pytest (e.g. `-m "not e2e"`, `-k endpoint`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_venv
bin_dir=$("$ROOT/scripts/pulumi-cli.sh" | tail -n 1) || die "could not obtain the Pulumi CLI"
export PATH="$bin_dir:$VENV/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true

cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
