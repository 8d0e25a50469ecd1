# Shared helpers for scripts/up.sh and scripts/down.sh (sourced, not executed).
#
# Environment knobs (all optional):
#   PULUMI_PROJECT_DIR        directory holding Pulumi.yaml (default: the repository root)
#   PULUMI_STACK_NAME         stack to use (default: local)
#   PULUMI_CONFIG_PASSPHRASE  secrets passphrase (default: LOCAL_ONLY_PASSPHRASE below; ignored if
#                             PULUMI_CONFIG_PASSPHRASE_FILE is set)
#   AIMODELS_EMULATOR_PORT    emulator port (default 8787). pulumi_env exports AIMODELS_EMULATOR_URL
#                             from it: a stack with `aimodels:emulator: true` (stack local) sends
#                             every request whose endpoint it does not set there.
#   PULUMI_BACKEND_URL        state backend (e.g. s3://team-state?region=eu-west-1). Unset: the
#                             backend of `pulumi login`, else the file backend in .pulumi-state/.
#   AIMODELS_STATE=s3         use the embedded S3-compatible state server instead (moto, started on
#                             127.0.0.1:$AIMODELS_STATE_PORT, default 4566; see docs/team.md).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PROJECT_DIR=$(cd "${PULUMI_PROJECT_DIR:-$ROOT}" && pwd -P)
STACK=${PULUMI_STACK_NAME:-local}
VENV=$ROOT/.venv
EMULATOR_DIR=$ROOT/.emulator
EMULATOR_PORT=${AIMODELS_EMULATOR_PORT:-8787}
EMULATOR_URL=http://127.0.0.1:$EMULATOR_PORT
EMULATOR_PIDFILE=$EMULATOR_DIR/emulator.pid
STATE_DIR=$ROOT/.state-server
STATE_PORT=${AIMODELS_STATE_PORT:-4566}

# Local-only passphrase for the file backend in .pulumi-state/. It protects nothing of value:
# the stack talks to the local emulator only. Set PULUMI_CONFIG_PASSPHRASE (or
# PULUMI_CONFIG_PASSPHRASE_FILE) to use your own; the stack's encryption salt is tied to the
# passphrase used when the stack was created.
LOCAL_ONLY_PASSPHRASE=aimodels-local-only

die() { echo "${0##*/}: $*" >&2; exit 1; }

# Pulumi environment: everything project-local, nothing downloaded, no update checks.
pulumi_env() {
    export PULUMI_HOME=$ROOT/.tools/pulumi-home
    if [ "${AIMODELS_STATE:-}" = s3 ]; then
        ensure_state_server
    elif [ -z "${PULUMI_BACKEND_URL:-}" ]; then
        local login
        login=$("$VENV/bin/python" -c 'from aimodels.pulumi_cli import logged_in_backend as b; print(b() or "")' \
            2>/dev/null) || login=
        export PULUMI_BACKEND_URL=${login:-file://$ROOT/.pulumi-state}
    fi
    if [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
        export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE-$LOCAL_ONLY_PASSPHRASE}
    fi
    export PULUMI_SKIP_UPDATE_CHECK=true
    # The engine runs 4 x CPUs operations at once by default (8 on a 2-core machine): slow creates
    # (endpoints) then queue in waves. The language host and the provider server size themselves
    # to match this; see docs/large-stacks.md.
    export PULUMI_PARALLEL=${PULUMI_PARALLEL:-32}
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    # Read by the provider processes (providers/core/settings.py) of stacks with aimodels:emulator.
    export AIMODELS_EMULATOR_URL=$EMULATOR_URL
    mkdir -p "$PULUMI_HOME"
    case $PULUMI_BACKEND_URL in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
    local bin
    bin=$("$ROOT/scripts/pulumi-cli.sh" | tail -n1) || die "could not obtain the Pulumi CLI"
    export PATH=$bin:$PATH
}

# Create .venv if missing and install the project (editable) with its extras. Re-installs only
# when pyproject.toml / requirements.lock changed since the last install.
#
# The installer is uv when it can be had (on PATH, or bootstrapped once from PyPI into
# .tools/uv with the venv's own pip): it resolves, fetches and byte-compiles in parallel. A fresh
# venv takes 11 s here, bootstrap included, against pip's 32 s for the same lock. Should uv be unavailable or fail, pip installs the
# same thing. The venv keeps its pip either way (the language host lists packages with it).
UV_VERSION=0.13.9

ensure_uv() { # prints the uv to use, or fails
    local uv
    if uv=$(command -v uv 2>/dev/null); then
        echo "$uv"
        return 0
    fi
    uv=$ROOT/.tools/uv/bin/uv
    if [ ! -x "$uv" ] || [[ "$("$uv" --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
        rm -rf "$ROOT/.tools/uv"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --target "$ROOT/.tools/uv" \
            "uv==$UV_VERSION" >/dev/null 2>&1 || return 1
    fi
    [ -x "$uv" ] && echo "$uv"
}

ensure_venv() {
    local lock=$ROOT/requirements.lock stamp=$VENV/.aimodels-install.stamp want uv
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || die "python3 -m venv failed"
    fi
    want=$(cat "$ROOT/pyproject.toml" "$lock" 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        local constraint=() links=()
        [ -f "$lock" ] && constraint=(-c "$lock")
        [ -n "${PIP_FIND_LINKS:-}" ] && links=(--find-links "$PIP_FIND_LINKS")
        local log=$VENV/.aimodels-install.log
        if ! { uv=$(ensure_uv) && "$uv" pip install -q --python "$VENV/bin/python" --compile-bytecode \
                "${links[@]}" "${constraint[@]}" -e "$ROOT[emulator,test,state]"; } >"$log" 2>&1 \
            && ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${constraint[@]}" \
                -e "$ROOT[emulator,test,state]" >>"$log" 2>&1; then
            cat "$log" >&2
            die "installing the project into $VENV failed (log: $log)"
        fi
        echo "$want" >"$stamp"
    fi
}

emulator_healthy() {
    "$VENV/bin/python" - "$EMULATOR_URL/_admin/health" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

# Pid of the emulator started by up.sh, if it is still that process.
our_emulator_pid() {
    local pid
    pid=$(cat "$EMULATOR_PIDFILE" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q aimodels-emulator || return 1
    echo "$pid"
}

ensure_emulator() {
    emulator_healthy && return 0
    [ -x "$VENV/bin/aimodels-emulator" ] || die "$VENV/bin/aimodels-emulator missing (pip install -e '.[emulator]')"
    mkdir -p "$EMULATOR_DIR"
    (
        cd "$ROOT" || exit 1
        nohup "$VENV/bin/aimodels-emulator" --port "$EMULATOR_PORT" --db "$EMULATOR_DIR/state.db" \
            >>"$EMULATOR_DIR/emulator.log" 2>&1 </dev/null &
        echo $! >"$EMULATOR_PIDFILE"
    )
    local i
    for i in $(seq 1 150); do
        emulator_healthy && return 0
        our_emulator_pid >/dev/null || die "emulator exited; see $EMULATOR_DIR/emulator.log"
        sleep 0.2
    done
    die "emulator did not answer on $EMULATOR_URL/_admin/health within 30 s; see $EMULATOR_DIR/emulator.log"
}

stop_emulator() {
    local pid i
    pid=$(our_emulator_pid) || { rm -f "$EMULATOR_PIDFILE"; return 0; }
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    rm -f "$EMULATOR_PIDFILE"
}

# The embedded state server (aimodels/stateserver.py): start it unless ours already answers, and
# export what pulumi needs to use it (PULUMI_BACKEND_URL, AIMODELS_SECRETS_PROVIDER, AWS_*).
ensure_state_server() {
    local exports
    exports=$(cd "$ROOT" && "$VENV/bin/python" -m aimodels.stateserver start --port "$STATE_PORT" \
        --dir "$STATE_DIR") || die "the state server did not start; see $STATE_DIR/state-server.log"
    eval "$exports"
}

stop_state_server() {
    [ -x "$VENV/bin/python" ] || return 0
    (cd "$ROOT" && "$VENV/bin/python" -m aimodels.stateserver stop --dir "$STATE_DIR")
}

# Resource count of the stack in the backend ("" when the stack does not exist).
stack_resource_count() {
    (cd "$PROJECT_DIR" && pulumi stack ls --json 2>/dev/null) | "$VENV/bin/python" -c '
import json, sys
for s in json.load(sys.stdin):
    if s["name"] == sys.argv[1]:
        print(s.get("resourceCount", 0))
' "$STACK"
}

require_project() {
    [ -f "$PROJECT_DIR/Pulumi.yaml" ] || [ -f "$PROJECT_DIR/Pulumi.yml" ] \
        || die "no Pulumi.yaml in $PROJECT_DIR (set PULUMI_PROJECT_DIR to another project)"
}
