#!/usr/bin/env bash
# The whole test suite, from nothing. First the README's first command as a
# new user meets it: `scripts/platform.sh up` in a clean environment (empty
# HOME, minimal PATH, whatever uv the machine lacks), then scripts/try-it.sh
# posts an event and finds its row in PostgreSQL, then the API and the stream
# stop (skipped when an API already runs on $API_PORT). Then it installs the
# Python environment, starts the native services (unless they are already
# up), builds Flink's job server (scripts/flink-job-server.sh), runs ruff,
# mypy and pytest, and stops the services it started. Exits
# non-zero on any failure, including pytest's "no tests collected".
#
# usage: scripts/test.sh [PYTEST ARGS...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"

# Up before this script? Then it leaves them up; otherwise it stops them.
services_were_up=0
port_busy "$KAFKA_PORT" && services_were_up=1
platform_started=0
finish() {
    if ((platform_started)); then bash scripts/platform.sh stop || true; fi
    if ((!services_were_up)); then bash scripts/services.sh down || true; fi
}
trap finish EXIT

if port_busy "$API_PORT"; then
    log "an API already runs on :$API_PORT: the first-run check is skipped"
else
    log "first run: scripts/platform.sh up in a clean environment (empty HOME, minimal PATH)"
    clean_home="$(mktemp -d)"
    clean_env=(env -i "HOME=$clean_home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
    while IFS= read -r setting; do clean_env+=("$setting"); done < <(env | grep -E '^(HOLDED_|CI=)' || true)
    platform_started=1
    "${clean_env[@]}" bash scripts/platform.sh up
    "${clean_env[@]}" bash scripts/try-it.sh
    bash scripts/platform.sh stop
    platform_started=0
    rm -rf "$clean_home"
fi

ensure_python_env

# Debian packages the tests use: docker-compose parses docker-compose.yaml
# without an engine; chromium and its driver are the browser of tests/browser;
# nginx stands in front of the API the tests serve (holded/proxy.py).
if ! (ensure_debian_packages "the tests use them" docker-compose=/usr/bin/docker-compose chromium=/usr/bin/chromium \
    chromium-driver=/usr/bin/chromedriver nginx=/usr/sbin/nginx); then
    log "some Debian packages are missing; the tests that need them will say so"
fi

bash scripts/services.sh up  # a no-op for the services already up

# Flink's job server for tests/streaming/test_flink.py, resolved from Maven Central (about 3 minutes the
# first time) while the steps below run; after the services' own jars, so two Mavens never share ~/.m2.
job_server_log="$(mktemp)"
bash scripts/flink-job-server.sh jar >"$job_server_log" 2>&1 &
job_server_build=$!

bash scripts/create-topics.sh
py python manage.py register_schemas

log "ruff"
py ruff check .
py ruff format --check .
log "mypy"
py mypy .

if ! wait "$job_server_build"; then
    cat "$job_server_log" >&2
    die "could not build Flink's job server (scripts/flink-job-server.sh jar)"
fi
rm -f "$job_server_log"

log "pytest"
status=0
py pytest "$@" || status=$?
if ((status == 5)); then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
