#!/usr/bin/env bash
# Tear the local environment down: `pulumi destroy` of stack `local` (the emulator must answer
# while the providers delete their objects, so it is started if needed), then stop the emulator
# that up.sh started (and, with AIMODELS_STATE=s3, the embedded state server). Idempotent. Extra
# arguments are passed to `pulumi destroy`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_project
[ -x "$VENV/bin/python" ] || { echo "down.sh: no .venv, nothing was brought up" >&2; exit 0; }
pulumi_env

cd "$PROJECT_DIR"
count=$(stack_resource_count)
if [ -n "$count" ] && [ "$count" != 0 ]; then
    ensure_emulator
    tty=()
    [ -t 1 ] || tty=(--non-interactive)
    pulumi destroy --yes --stack "$STACK" "${tty[@]}" "$@"
fi
stop_emulator
# The embedded state server forgets everything when stopped: stop it only once the stack is gone.
[ "${AIMODELS_STATE:-}" = s3 ] && stop_state_server
exit 0
