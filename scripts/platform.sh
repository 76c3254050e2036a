#!/usr/bin/env bash
# The whole platform, natively: services, topics, schemas, migrations, the API
# and the stream job.
#
# usage: scripts/platform.sh up|down|status
#
#   up      starts Kafka, the Schema Registry, the S3 store and PostgreSQL
#           (scripts/services.sh), creates the topics, registers the schemas,
#           migrates the database and keeps its partitions ahead, serves the
#           API with gunicorn on 127.0.0.1:$API_PORT (default 8000), and starts
#           the Beam job (manage.py run_stream) in the background.
#   down    stops the stream (SIGTERM: it finishes what it read) and the API,
#           then the services (their data is kept).
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
    # The venv's programs directly (not `uv run`): no extra process holds the terminal.
    setsid nohup "$ROOT/.venv/bin/gunicorn" -c gunicorn.conf.py --pid "$API_PID" \
        >>"$API_DIR/api.log" 2>&1 </dev/null &
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

STREAM_DIR="$STATE_DIR/stream"
STREAM_PID="$STREAM_DIR/stream.pid"

stream_pid() {
    [[ -f "$STREAM_PID" ]] || return 1
    local pid
    pid="$(cat "$STREAM_PID")"
    kill -0 "$pid" 2>/dev/null && grep -q run_stream "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

stream_up() {
    if stream_pid >/dev/null; then
        log "stream already running (pid $(stream_pid))"
        return 0
    fi
    mkdir -p "$STREAM_DIR"
    setsid nohup "$ROOT/.venv/bin/python" "$ROOT/manage.py" run_stream >>"$STREAM_DIR/stream.log" 2>&1 </dev/null &
    echo $! >"$STREAM_PID"
    sleep 2
    stream_pid >/dev/null || { tail -n 30 "$STREAM_DIR/stream.log" >&2; die "the stream job exited (log: $STREAM_DIR/stream.log)"; }
}

stream_down() {
    local pid
    pid="$(stream_pid)" || { rm -f "$STREAM_PID"; return 0; }
    kill -TERM "$pid"
    for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$STREAM_PID"
    log "stream stopped"
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
        py python manage.py ensure_partitions
        api_up
        stream_up
        log "platform up: POST $API_URL/collect  (docs: $API_URL/api/docs/, readiness: $API_URL/health/ready)"
        log "stream: manage.py run_stream (pid $(stream_pid)), log $STREAM_DIR/stream.log"
        ;;
    down)
        stream_down
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
        if pid="$(stream_pid)"; then
            printf '%-9s %s\n' stream "running (pid $pid, log $STREAM_DIR/stream.log)"
        else
            printf '%-9s %s\n' stream "stopped"
            rc=1
        fi
        exit $rc
        ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
