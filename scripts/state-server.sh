#!/usr/bin/env bash
# The embedded S3-compatible state server (moto; aimodels/stateserver.py) for Pulumi's S3 backend:
#
#   eval "$(bash scripts/state-server.sh start)"   # start on 127.0.0.1:${AIMODELS_STATE_PORT:-4566}, export
#                                                   # PULUMI_BACKEND_URL, AIMODELS_SECRETS_PROVIDER, AWS_*
#   bash scripts/state-server.sh env               # print those exports only
#   bash scripts/state-server.sh stop              # stop it (it keeps state in memory: all stacks go)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
    start | stop | env) ;;
    *) die "usage: $0 start|stop|env" ;;
esac
ensure_venv
cd "$ROOT"
exec "$VENV/bin/python" -m aimodels.stateserver "$1" --port "$STATE_PORT" --dir "$STATE_DIR"
