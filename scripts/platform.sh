#!/usr/bin/env bash
# The whole platform, natively: services, topics, schemas, migrations, the API
# and the stream job.
#
# usage: scripts/platform.sh up|down|stop|status
#
#   up      starts Kafka, the Schema Registry, the S3 store and PostgreSQL
#           (scripts/services.sh), creates the topics, registers the schemas,
#           migrates the database and keeps its partitions ahead, collects the
#           static files, serves the API with granian (python -m holded.server) on 127.0.0.1:$API_PORT
#           (default 8000), and starts the Beam job (manage.py run_stream --supervise: restarted with
#           backoff whenever it exits on a failure; on Flink's embedded cluster with STREAM_RUNNER=flink)
#           in the background. Topics from HOLDED_TOPICS_FILE (default topics/main-topics). Returns
#           once the API and the stream both report ready, or fails naming
#           which is not, and why.
#   down    stops the stream (SIGTERM: it finishes what it read) and the API,
#           then the services (their data is kept).
#   stop    stops the stream and the API only; the services keep running.
#   status  what runs, and whether each is ready (and if not, why).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"

API_DIR="$STATE_DIR/api"
API_PID="$API_DIR/api.pid"
API_URL="http://127.0.0.1:$API_PORT"
STREAM_DIR="$STATE_DIR/stream"
STREAM_PID="$STREAM_DIR/stream.pid"
STREAM_URL="http://${STREAM_METRICS_ADDRESS:-127.0.0.1:9464}"
READY_SECONDS="${HOLDED_READY_SECONDS:-120}"
# Static files for the admin, the browsable API, Swagger UI and /status:
# collected at each `up`, served by whitenoise inside the API.
export DJANGO_STATIC_ROOT="${DJANGO_STATIC_ROOT:-$STATE_DIR/static}"

# The pid in FILE, if that process is alive and its command line has PATTERN.
live_pid() {
    local file="$1" pattern="$2" pid
    [[ -f "$file" ]] || return 1
    pid="$(cat "$file")"
    kill -0 "$pid" 2>/dev/null && grep -q "$pattern" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}
api_pid() { live_pid "$API_PID" holded.server; }
stream_pid() { live_pid "$STREAM_PID" run_stream; }

# SIGTERM, then SIGKILL after SECONDS; the pid file goes either way.
stop_pid() {
    local name="$1" file="$2" pattern="$3" seconds="$4" pid
    pid="$(live_pid "$file" "$pattern")" || { rm -f "$file"; return 0; }
    kill -TERM "$pid"
    for _ in $(seq $((seconds * 2))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$file"
    log "$name stopped"
}

api_up() {
    if api_pid >/dev/null; then
        log "API already running (pid $(api_pid))"
        return 0
    fi
    port_busy "$API_PORT" && die "port $API_PORT (for the API) is in use by another process. Fix: stop it, or set API_PORT=..."
    if [[ "${API_PROXY:-nginx}" == nginx ]]; then
        ensure_debian_packages "nginx stands in front of the API against slow and idle clients (holded/proxy.py)" \
            nginx=/usr/sbin/nginx
    fi
    mkdir -p "$API_DIR"
    export API_PORT
    # Where the API's workers write their metrics: fresh for each start.
    export PROMETHEUS_MULTIPROC_DIR="$API_DIR/metrics"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    # The venv's programs directly (not `uv run`): no extra process holds the terminal.
    # The API connects with its own least-privilege role (migrate granted it).
    POSTGRES_USER="$API_POSTGRES_USER" POSTGRES_PASSWORD="$API_POSTGRES_PASSWORD" \
        API_PID_FILE="$API_PID" setsid nohup "$ROOT/.venv/bin/python" -m holded.server \
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

stream_up() {
    if stream_pid >/dev/null; then
        log "stream already running (pid $(stream_pid))"
        return 0
    fi
    mkdir -p "$STREAM_DIR"
    if [[ "${STREAM_RUNNER:-direct}" == flink ]]; then
        # Built before the job starts (about 3 minutes the first time), so readiness waits for Flink alone.
        bash scripts/flink-job-server.sh jar >/dev/null
    fi
    # The job writes with its own role and is not given the owner's password.
    POSTGRES_USER="$STREAM_POSTGRES_USER" POSTGRES_PASSWORD="$STREAM_POSTGRES_PASSWORD" \
        setsid nohup "$ROOT/.venv/bin/python" "$ROOT/manage.py" run_stream --supervise \
        >>"$STREAM_DIR/stream.log" 2>&1 </dev/null &
    echo $! >"$STREAM_PID"
    # Ready: the source has polled Kafka and no service is being waited for.
    local deadline=$((SECONDS + READY_SECONDS))
    until curl -sf "$STREAM_URL/health/ready" >/dev/null; do
        if ! stream_pid >/dev/null; then
            tail -n 30 "$STREAM_DIR/stream.log" >&2
            die "the stream job exited (log: $STREAM_DIR/stream.log)"
        fi
        if ((SECONDS > deadline)); then
            tail -n 20 "$STREAM_DIR/stream.log" >&2
            die "the stream is not ready after ${READY_SECONDS}s: $(curl -s "$STREAM_URL/health/ready" || echo "no answer on $STREAM_URL")"
        fi
        sleep 0.5
    done
}

# "ready", or why not, as the process's /health/ready says.
readiness() {
    local url="$1" answer
    # One request: the body, then the HTTP status on a line of its own.
    answer="$(curl -s --max-time 5 -w '\n%{http_code}' "$url/health/ready")" || { echo "no answer on $url"; return 1; }
    if [[ "${answer##*$'\n'}" == 200 ]]; then echo ready; else echo "not ready: ${answer%$'\n'*}"; return 1; fi
}

case "${1:-}" in
    up)
        ensure_python_env
        bash scripts/services.sh up
        bash scripts/create-topics.sh "${HOLDED_TOPICS_FILE:-topics/main-topics}"
        py python manage.py register_schemas
        py python manage.py migrate --noinput
        py python manage.py collectstatic --noinput --verbosity 0
        py python manage.py ensure_partitions
        api_up
        stream_up
        log "platform up: POST $API_URL/collect  (docs: $API_URL/api/docs/, readiness: $API_URL/health/ready)"
        log "stream ready: manage.py run_stream --supervise (pid $(stream_pid)), log $STREAM_DIR/stream.log"
        ;;
    down | stop)
        # The stream first: on SIGTERM it writes and commits what it read.
        stop_pid stream "$STREAM_PID" run_stream 60
        stop_pid API "$API_PID" holded.server 40
        if [[ "$1" == down ]]; then bash scripts/services.sh down; fi
        ;;
    status)
        rc=0
        bash scripts/services.sh status || rc=1
        if pid="$(api_pid)"; then
            state="$(readiness "$API_URL")" || rc=1
            printf '%-9s %s\n' api "$state (pid $pid, $API_URL, log $API_DIR/api.log)"
        else
            printf '%-9s %s\n' api "stopped"
            rc=1
        fi
        if pid="$(stream_pid)"; then
            state="$(readiness "$STREAM_URL")" || rc=1
            printf '%-9s %s\n' stream "$state (supervisor pid $pid, $STREAM_URL/metrics, log $STREAM_DIR/stream.log)"
        else
            printf '%-9s %s\n' stream "stopped"
            rc=1
        fi
        exit $rc
        ;;
    *) echo "usage: $0 up|down|stop|status" >&2; exit 2 ;;
esac
