#!/usr/bin/env bash
# The manual (docs/, mkdocs.yml) as a site.
#   bash scripts/docs.sh            serve it with live reload on http://127.0.0.1:8000
#   bash scripts/docs.sh --build    build it into site/ in strict mode (a broken link or anchor fails)
# Other arguments go to `mkdocs serve` / `mkdocs build` (e.g. --dev-addr 127.0.0.1:8001, --site-dir DIR).
# mkdocs and its theme come with the project's virtualenv (the `docs` extra, part of `test`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_venv
export NO_MKDOCS_2_WARNING=1   # the theme's notice about its future, printed on every run
cd "$ROOT"
if [ "${1:-}" = "--build" ]; then
    shift
    exec "$VENV/bin/mkdocs" build --strict "$@"   # never -q: mkdocs then stops counting warnings
fi
exec "$VENV/bin/mkdocs" serve "$@"
