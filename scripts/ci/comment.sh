#!/usr/bin/env bash
# Post or update the one comment of STACK on a pull request (GITHUB_TOKEN, GITHUB_API_URL):
#   scripts/ci/comment.sh OWNER/REPO PR_NUMBER STACK BODY_FILE
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
[ $# -eq 4 ] || { echo "usage: $0 OWNER/REPO PR_NUMBER STACK BODY_FILE" >&2; exit 1; }
exec "${AIMODELS_PYTHON:-$ROOT/.venv/bin/python}" -P -m aimodels.ci comment --repo "$1" --pr "$2" --stack "$3" \
    --body-file "$4"
