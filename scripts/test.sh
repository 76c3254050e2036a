#!/usr/bin/env bash
# The whole test suite, from nothing: installs the Python environment, starts
# the native services (unless they are already up), runs ruff, mypy and
# pytest, then stops the services it started. Exits non-zero on any failure,
# including pytest's "no tests collected".
#
# usage: scripts/test.sh [PYTEST ARGS...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"

ensure_python_env

# Debian packages the tests use: docker-compose parses docker-compose.yaml
# without an engine; chromium and its driver are the browser of tests/browser.
missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
if ((${#missing[@]})); then
    if ((EUID == 0)) && command -v apt-get >/dev/null; then
        log "installing ${missing[*]} (apt)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
            >/dev/null 2>&1 || log "could not install ${missing[*]}; the tests that need them will say so"
    else
        log "missing ${missing[*]} (apt-get install ${missing[*]}); the tests that need them will say so"
    fi
fi

started_here=0
if ! bash scripts/services.sh status >/dev/null 2>&1; then
    started_here=1
    bash scripts/services.sh up
fi
stop_services() {
    if ((started_here)); then bash scripts/services.sh down; fi
}
trap stop_services EXIT

bash scripts/create-topics.sh
py python manage.py register_schemas

log "ruff"
py ruff check .
py ruff format --check .
log "mypy"
py mypy .

log "pytest"
status=0
py pytest "$@" || status=$?
if ((status == 5)); then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
