#!/usr/bin/env bash
# Ensure a Pulumi CLI of the pinned version plus the Python launchers, and print the directory
# that holds them (last line of stdout). Progress goes to stderr; a cached run prints nothing else.
#
# Order:
#   1. `pulumi` on PATH reporting the pinned version, with pulumi-language-python,
#      pulumi-language-python-exec and pulumi-resource-pulumi-python beside it or on PATH;
#   2. the cached build in .tools/pulumi/bin (reused while its build stamp matches);
#   3. otherwise build with Go from the module proxy (tools/pulumi-build) into .tools/pulumi/bin.
#
# Env: PULUMI_CLI_FORCE_BUILD=1 skips step 1 and rebuilds; PULUMI_CLI_SKIP_PATH=1 skips step 1;
#      PULUMI_CLI_VERSION=X.Y.Z requires another version than go.mod's (PATH only, see below).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD_DIR=$ROOT/tools/pulumi-build
LAUNCHERS=$ROOT/scripts/launchers
TOOLS=$ROOT/.tools/pulumi
BIN=$TOOLS/bin
STAMP=$TOOLS/build.stamp

# The buildable CLI version is whatever tools/pulumi-build/go.mod pins for pkg/v3. The required
# version defaults to it; PULUMI_CLI_VERSION may require another one, which then has to come
# from PATH (e.g. an official install), since only the go.mod version can be built here.
BUILD_VERSION=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { sub(/^v/, "", $2); print $2; exit }' "$BUILD_DIR/go.mod")
[ -n "$BUILD_VERSION" ] || { echo "pulumi-cli.sh: cannot read the pkg/v3 version from $BUILD_DIR/go.mod" >&2; exit 1; }
VERSION=${PULUMI_CLI_VERSION:-$BUILD_VERSION}
VERSION=${VERSION#v}
LAUNCHER_NAMES=(pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python)

log() { echo "pulumi-cli.sh: $*" >&2; }

reports_version() { # <pulumi binary>
    local v
    v=$("$1" version 2>/dev/null | tail -n1) || return 1
    [ "$v" = "v$VERSION" ]
}

launchers_available() { # <dir>: each launcher beside the binary or on PATH
    local name
    for name in "${LAUNCHER_NAMES[@]}"; do
        [ -x "$1/$name" ] || command -v "$name" >/dev/null 2>&1 || return 1
    done
}

# Everything that goes into the cached build; a change in any of it triggers a rebuild.
build_inputs_hash() {
    (
        cd "$ROOT"
        cat tools/pulumi-build/go.mod tools/pulumi-build/go.sum
        find tools/pulumi-build/cmd -type f -name '*.go' | LC_ALL=C sort | xargs cat
        go version
    ) | sha256sum | cut -d' ' -f1
}

install_launchers() {
    local name
    for name in pulumi-language-python-exec pulumi-resource-pulumi-python; do
        if ! cmp -s "$LAUNCHERS/$name" "$BIN/$name"; then
            install -m 0755 "$LAUNCHERS/$name" "$BIN/$name"
        fi
    done
}

# 1. A matching CLI already on PATH.
if [ "${PULUMI_CLI_FORCE_BUILD:-0}" != 1 ] && [ "${PULUMI_CLI_SKIP_PATH:-0}" != 1 ] \
    && onpath=$(command -v pulumi 2>/dev/null) && [ "$onpath" != "$BIN/pulumi" ]; then
    dir=$(cd "$(dirname "$onpath")" && pwd -P)
    if reports_version "$onpath" && launchers_available "$dir"; then
        echo "$dir"
        exit 0
    fi
fi

if [ "$VERSION" != "$BUILD_VERSION" ]; then
    log "no pulumi v$VERSION with the Python launchers on PATH, and only v$BUILD_VERSION (tools/pulumi-build/go.mod) can be built here"
    exit 1
fi
command -v go >/dev/null 2>&1 || { log "Go is required to build the Pulumi CLI (no matching pulumi on PATH)"; exit 1; }
mkdir -p "$BIN"

# Serialise concurrent callers (e.g. up.sh and a test session) on one lock.
exec 9>"$TOOLS/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

want=$(build_inputs_hash)

# 2. The cached build.
if [ "${PULUMI_CLI_FORCE_BUILD:-0}" != 1 ] && [ -x "$BIN/pulumi" ] && [ -x "$BIN/pulumi-language-python" ] \
    && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ] && reports_version "$BIN/pulumi"; then
    install_launchers
    echo "$BIN"
    exit 0
fi

# 3. Build. GOTOOLCHAIN=auto lets Go fetch a newer toolchain from the module proxy if go.mod
# ever asks for one; -mod=readonly keeps the committed go.mod/go.sum authoritative.
log "building Pulumi CLI v$VERSION and the Python language host with $(go version | cut -d' ' -f3) (first build takes several minutes)"
start=$(date +%s)
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION"
(
    cd "$BUILD_DIR"
    export GOTOOLCHAIN=${GOTOOLCHAIN_BUILD:-auto} GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=${CGO_ENABLED:-0}
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" \
        -o "$BIN/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" \
        -o "$BIN/pulumi-language-python.tmp" ./cmd/pulumi-language-python
)
mv -f "$BIN/pulumi.tmp" "$BIN/pulumi"
mv -f "$BIN/pulumi-language-python.tmp" "$BIN/pulumi-language-python"
install_launchers
reports_version "$BIN/pulumi" || { log "built binary does not report v$VERSION: $("$BIN/pulumi" version 2>&1)"; exit 1; }
echo "$want" >"$STAMP"
log "built in $(( $(date +%s) - start ))s into $BIN"
echo "$BIN"
