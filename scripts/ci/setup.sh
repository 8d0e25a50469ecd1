#!/usr/bin/env bash
# Install what the CI jobs run: the project's .venv from requirements.lock, the Pulumi CLI, and
# the policy pack's environment. Prints the directory holding `pulumi` (add it to PATH).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ensure_venv
bash "$ROOT/policy/setup.sh" >/dev/null
"$ROOT/scripts/pulumi-cli.sh" | tail -n1
