#!/usr/bin/env bash
# Bring the local environment up: venv + project install, Pulumi CLI, emulator, stack `local`,
# `pulumi up`, then print the stack outputs. Idempotent; quiet apart from Pulumi's own output.
# Extra arguments are passed to `pulumi up` (e.g. scripts/up.sh --diff).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_project
ensure_venv
pulumi_env
ensure_emulator

cd "$PROJECT_DIR"
if [ -z "$(stack_resource_count)" ]; then
    out=$(pulumi stack init "$STACK" --secrets-provider passphrase 2>&1) || die "pulumi stack init failed: $out"
fi
pulumi stack select "$STACK" >/dev/null

tty=()
[ -t 1 ] || tty=(--non-interactive)
pulumi up --yes --stack "$STACK" "${tty[@]}" "$@"
echo
pulumi stack output --stack "$STACK"
