#!/usr/bin/env bash
# Apply one stack after a merge, from the repository root: scripts/ci/apply.sh STACK. Creates the stack when missing; prod
# stacks run the policy pack (a violation stops the update). The workflow runs one apply per stack
# at a time (a concurrency group per stack), and Pulumi's stack lock refuses any other writer.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
[ $# -ge 1 ] || { echo "usage: $0 STACK" >&2; exit 1; }
exec "${AIMODELS:-$ROOT/.venv/bin/aimodels}" up --stack "$1" ${AIMODELS_CI_ARGS:-}
