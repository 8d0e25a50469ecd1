#!/usr/bin/env bash
# The pack runs on the project's .venv, which has pulumi-policy (the `test` and `policy` extras of
# pyproject.toml); it has no virtualenv of its own any more. Kept for the callers that prepare the
# pack (aimodels/policy.py, scripts/ci/setup.sh): checks that the interpreter can load the pack's
# imports and prints the pack's path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
py=${AIMODELS_POLICY_PYTHON:-$here/../.venv/bin/python}
if ! "$py" -c "import pulumi, pulumi_policy" 2>/dev/null; then
    echo "policy/setup.sh: $py cannot import pulumi_policy; run bash scripts/up.sh (or pip install -e '.[policy]' into .venv)" >&2
    exit 1
fi
echo "$here/aimodels-policy"
