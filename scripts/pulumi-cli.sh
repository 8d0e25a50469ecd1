#!/usr/bin/env bash
# Ensure a Pulumi CLI of the pinned version plus the Python launchers, and print the directory
# that holds them (last line of stdout). Progress goes to stderr; a cached run prints nothing else.
#
# Order:
#   1. `pulumi` on PATH reporting the required version, with pulumi-language-python,
#      pulumi-language-python-exec and pulumi-resource-pulumi-python beside it or on PATH;
#   2. the cached build in .tools/pulumi/bin (.tools/pulumi-<version>/bin for another supported
#      version), reused while its build stamp matches;
#   3. otherwise build with Go from the module proxy into that directory: the CLI from
#      tools/pulumi-build (the pinned version) or tools/pulumi-build/versions/<version> (another
#      supported version, e.g. the oldest), the language host always from tools/pulumi-build.
#
# Env: PULUMI_CLI_FORCE_BUILD=1 skips step 1 and rebuilds; PULUMI_CLI_SKIP_PATH=1 skips step 1;
#      PULUMI_CLI_VERSION=X.Y.Z requires another version than go.mod's: built when
#      tools/pulumi-build/versions/X.Y.Z exists, else it has to come from PATH.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD_DIR=$ROOT/tools/pulumi-build
LAUNCHERS=$ROOT/scripts/launchers

# The pinned CLI version is whatever tools/pulumi-build/go.mod pins for pkg/v3. The required
# version defaults to it; PULUMI_CLI_VERSION may require another one, which is built from
# tools/pulumi-build/versions/<version>/go.mod when that exists, else has to come from PATH.
BUILD_VERSION=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { sub(/^v/, "", $2); print $2; exit }' "$BUILD_DIR/go.mod")
[ -n "$BUILD_VERSION" ] || { echo "pulumi-cli.sh: cannot read the pkg/v3 version from $BUILD_DIR/go.mod" >&2; exit 1; }
VERSION=${PULUMI_CLI_VERSION:-$BUILD_VERSION}
VERSION=${VERSION#v}
if [ "$VERSION" = "$BUILD_VERSION" ]; then
    CLI_MODULE=$BUILD_DIR
    TOOLS=$ROOT/.tools/pulumi
else
    CLI_MODULE=$BUILD_DIR/versions/$VERSION
    TOOLS=$ROOT/.tools/pulumi-$VERSION
fi
BIN=$TOOLS/bin
STAMP=$TOOLS/build.stamp
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
# -s -w: no symbol table and no DWARF. Stack traces keep their file:line (those come from the
# runtime's own tables); the link takes about half the time (4 s instead of 9 s per binary on the
# reference machine) and the binaries are 30% smaller. Part of the build inputs below.
STRIP_FLAGS="-s -w"

build_inputs_hash() {
    (
        cd "$ROOT"
        cat tools/pulumi-build/go.mod tools/pulumi-build/go.sum "$CLI_MODULE/go.mod" "$CLI_MODULE/go.sum"
        find tools/pulumi-build/cmd -type f -name '*.go' | LC_ALL=C sort | xargs cat
        go version
        echo "$STRIP_FLAGS"
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

if [ ! -f "$CLI_MODULE/go.mod" ]; then
    log "no pulumi v$VERSION with the Python launchers on PATH, and v$VERSION cannot be built here (v$BUILD_VERSION from tools/pulumi-build/go.mod, or a version under tools/pulumi-build/versions/)"
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
ldflags="$STRIP_FLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$VERSION"
(
    export GOTOOLCHAIN=${GOTOOLCHAIN_BUILD:-auto} GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=${CGO_ENABLED:-0}
    cd "$CLI_MODULE"
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" \
        -o "$BIN/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    # The language host speaks the engine's gRPC protocol, which is stable across versions: the
    # one built from the pinned SDK serves every supported CLI (and a second build is cached).
    cd "$BUILD_DIR"
    go build -trimpath -tags osusergo,grpcnotrace \
        -ldflags "$STRIP_FLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$BUILD_VERSION" \
        -o "$BIN/pulumi-language-python.tmp" ./cmd/pulumi-language-python
)
mv -f "$BIN/pulumi.tmp" "$BIN/pulumi"
mv -f "$BIN/pulumi-language-python.tmp" "$BIN/pulumi-language-python"
install_launchers
reports_version "$BIN/pulumi" || { log "built binary does not report v$VERSION: $("$BIN/pulumi" version 2>&1)"; exit 1; }
echo "$want" >"$STAMP"
log "built in $(( $(date +%s) - start ))s into $BIN"
echo "$BIN"
