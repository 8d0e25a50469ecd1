#!/usr/bin/env bash
# The test command. On a fresh machine it installs what it needs (a project virtualenv from
# requirements.lock, the Pulumi CLI built from Go modules), then runs every tier: framework
# units, emulator contracts, provider lifecycles over HTTP, and the end-to-end tier under the
# real engine. Extra arguments go to pytest (e.g. `-m "not e2e"`, `-k endpoint`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[emulator,test]' -c requirements.lock

bin_dir=$(bash scripts/pulumi-cli.sh | tail -n 1)
export PATH="$bin_dir:$PWD/.venv/bin:$PATH"

exec .venv/bin/python -m pytest "$@"
