#!/usr/bin/env bash
# The stacks a change touches, as a JSON list (a job matrix): scripts/ci/changed-stacks.sh BASE [HEAD]
# Run from the repository root (the git work tree). Rules: aimodels/ci.py (stack files and pin history: that stack; shared program files: every stack;
# the policy pack: every prod stack; never `local`).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
[ $# -ge 1 ] || { echo "usage: $0 BASE [HEAD]" >&2; exit 1; }
exec "${AIMODELS_PYTHON:-$ROOT/.venv/bin/python}" -P -m aimodels.ci changed-stacks --repo-dir "$PWD" \
    --base "$1" --head "${2:-HEAD}"
