#!/usr/bin/env bash
# Preview one stack for a pull request, from the repository root: scripts/ci/preview.sh STACK [OUT_DIR]
# Writes OUT_DIR/review-STACK.md (the PR comment) and OUT_DIR/preview-STACK.json, and exits with
# `aimodels review`'s code: 0 fine, 2 risks flagged (policy violations or a skipped pack included),
# 1 the preview failed. A stack the PR adds is created first (--init), so a new environment
# previews as all creates instead of failing on `unknown stack`. Prod stacks run the policy pack.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
[ $# -ge 1 ] || { echo "usage: $0 STACK [OUT_DIR]" >&2; exit 1; }
stack=$1 out=${2:-.}
mkdir -p "$out"
"${AIMODELS:-$ROOT/.venv/bin/aimodels}" review --stack "$stack" --init \
    --output "$out/review-$stack.md" --save-json "$out/preview-$stack.json" ${AIMODELS_CI_ARGS:-}
code=$?
if [ ! -s "$out/review-$stack.md" ]; then  # the preview never ran: the comment says why
    printf '## Pulumi preview of stack `%s`\n\n**The preview did not run** (exit %s); see the job log.\n' \
        "$stack" "$code" >"$out/review-$stack.md"
fi
exit $code
