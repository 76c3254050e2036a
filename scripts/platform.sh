#!/usr/bin/env bash
# The whole platform, natively: services, topics, schemas, migrations, the API.
#
# usage: scripts/platform.sh up|down|status
#
#   up      starts Kafka, the Schema Registry, the S3 store and PostgreSQL
#           (scripts/services.sh), creates the topics, registers the schemas,
#           migrates the database, then serves the API with gunicorn on
#           127.0.0.1:$API_PORT (default 8000) and waits until it is ready.
#   down    stops the API, then the services (their data is kept).
#   status  what runs, and whether it answers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"

API_DIR="$STATE_DIR/api"
API_PID="$API_DIR/api.pid"
API_URL="http://127.0.0.1:$API_PORT"

api_pid() {
    [[ -f "$API_PID" ]] || return 1
    local pid
    pid="$(cat "$API_PID")"
    kill -0 "$pid" 2>/dev/null && grep -q gunicorn "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

api_up() {
    if api_pid >/dev/null; then
        log "API already running (pid $(api_pid))"
        return 0
    fi
    port_busy "$API_PORT" && die "port $API_PORT (for the API) is in use by another process. Fix: stop it, or set API_PORT=..."
    mkdir -p "$API_DIR"
    export API_PORT
    (cd "$ROOT" && setsid nohup uv run --frozen --quiet gunicorn -c gunicorn.conf.py --pid "$API_PID" \
        >>"$API_DIR/api.log" 2>&1 </dev/null &)
    local deadline=$((SECONDS + 60))
    until curl -sf "$API_URL/health/ready" >/dev/null; do
        if ((SECONDS > deadline)); then
            tail -n 30 "$API_DIR/api.log" >&2
            curl -s "$API_URL/health/ready" >&2 || true
            die "the API did not become ready (log: $API_DIR/api.log)"
        fi
        sleep 0.5
    done
}

api_down() {
    local pid
    pid="$(api_pid)" || { rm -f "$API_PID"; return 0; }
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$API_PID"
    log "API stopped"
}

case "${1:-}" in
    up)
        bash scripts/services.sh up
        bash scripts/create-topics.sh
        py python manage.py register_schemas
        py python manage.py migrate --noinput
        api_up
        log "platform up: POST $API_URL/collect  (docs: $API_URL/api/docs/, readiness: $API_URL/health/ready)"
        ;;
    down)
        api_down
        bash scripts/services.sh down
        ;;
    status)
        rc=0
        bash scripts/services.sh status || rc=1
        if pid="$(api_pid)" && curl -sf "$API_URL/health/ready" >/dev/null; then
            printf '%-9s %s\n' api "ready (pid $pid, $API_URL)"
        else
            printf '%-9s %s\n' api "not ready"
            rc=1
        fi
        exit $rc
        ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
