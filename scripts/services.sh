#!/usr/bin/env bash
# The platform's backing services, natively, on 127.0.0.1, without Docker:
#   Apache Kafka (KRaft, one node)    jars from Maven Central
#   Schema Registry (Apicurio, Confluent-compatible API)   Maven Central
#   S3 store (versitygw)              built from the Go module proxy
#   PostgreSQL                        Debian's package
#
# usage: scripts/services.sh up|check|down [--purge]|stop SERVICE|status|logs [SERVICE...]|env
#
# Downloads and builds are cached in $HOLDED_CACHE_DIR (default .cache/), data,
# logs and pids live in $HOLDED_STATE_DIR (default .run/). A warm start takes
# seconds; `down` keeps the data, `down --purge` deletes it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/kafka-cluster-id.sh"

SERVICES=(postgres kafka registry s3)
WAIT_SECONDS="${HOLDED_WAIT_SECONDS:-120}"

pidfile() { echo "$STATE_DIR/$1/$1.pid"; }
logfile() { if [[ "$1" == postgres ]]; then echo "$PG_HOME/postgres.log"; else echo "$STATE_DIR/$1/$1.log"; fi; }

# The pid in the service's pid file, if that process is alive and is ours
# (the command line carries the state dir, so a recycled pid is not mistaken).
running_pid() {
    local file pid
    file="$(pidfile "$1")"
    [[ -f "$file" ]] || return 1
    pid="$(head -n1 "$file")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$STATE_DIR" || return 1
    echo "$pid"
}

# Start a command detached from this shell, logging to the service's log.
spawn() {
    local name="$1"
    shift
    mkdir -p "$STATE_DIR/$name"
    setsid nohup "$@" >>"$(logfile "$name")" 2>&1 </dev/null &
    echo $! >"$(pidfile "$name")"
}

# Poll CHECK (a function) until it succeeds; fail with the log's tail.
wait_until() {
    local name="$1" check="$2" deadline=$((SECONDS + WAIT_SECONDS))
    until "$check" >/dev/null 2>&1; do
        if ! running_pid "$name" >/dev/null && [[ "$name" != postgres ]]; then
            tail -n 30 "$(logfile "$name")" >&2 || true
            die "$name exited during start-up (log above: $(logfile "$name"))"
        fi
        if ((SECONDS > deadline)); then
            tail -n 30 "$(logfile "$name")" >&2 || true
            die "$name did not answer within ${WAIT_SECONDS}s (log: $(logfile "$name"))"
        fi
        sleep 0.5
    done
}

# --- Kafka -----------------------------------------------------------------



kafka_install() {
    need_java
    maven_fetch "$KAFKA_HOME" "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.holded</groupId><artifactId>kafka-dist</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- The release tarball ships a logging binding; the Maven artifact does not.
         slf4j-api is pinned: Maven's nearest-wins would pick a 1.7 that ignores the binding. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>" "dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime"
    # Quiet logging for the command-line tools (create-topics.sh uses them).
    cat >"$KAFKA_HOME/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = ERROR
rootLogger.appenderRef.err.ref = err
EOF
}

kafka_configure() {
    local dir="$STATE_DIR/kafka"
    mkdir -p "$dir/data"
    cat >"$dir/server.properties" <<EOF
# Written by scripts/services.sh: one node that is both broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Topics are declared in topics/main-topics and created by create-topics.sh.
auto.create.topics.enable=false
EOF
    cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $dir/server.log
appender.file.filePattern = $dir/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
EOF
    if [[ ! -f "$dir/data/meta.properties" ]]; then
        local cluster_id
        cluster_id="$(new_kafka_cluster_id)"
        java -Dlog4j2.configurationFile="$KAFKA_HOME/tools-log4j2.properties" -cp "$KAFKA_HOME/lib/*" \
            kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
            || { cat "$dir/format.log" >&2; die "could not format Kafka's storage"; }
    fi
}

kafka_ready() { py python scripts/lib/probe.py kafka "127.0.0.1:$KAFKA_PORT"; }

kafka_up() {
    running_pid kafka >/dev/null && return 0
    kafka_install
    kafka_configure
    spawn kafka java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$STATE_DIR/kafka/log4j2.properties" \
        -cp "$KAFKA_HOME/lib/*" kafka.Kafka "$STATE_DIR/kafka/server.properties"
    wait_until kafka kafka_ready
}

# --- Schema Registry (Apicurio) --------------------------------------------

REGISTRY_HOME="$CACHE_DIR/apicurio-registry-$APICURIO_VERSION"
REGISTRY_API="http://127.0.0.1:$SCHEMA_REGISTRY_PORT/apis/ccompat/v7"

registry_install() {
    need_java
    # The runnable form is the archive with classifier "all"; the plain jar is not.
    maven_fetch "$REGISTRY_HOME" "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.holded</groupId><artifactId>registry-dist</artifactId><version>1</version>
  <packaging>pom</packaging>
</project>" "dependency:unpack -Dartifact=io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all -DoutputDirectory=app"
}

registry_ready() { curl -sf "$REGISTRY_API/subjects" >/dev/null; }

registry_up() {
    running_pid registry >/dev/null && return 0
    registry_install
    local jar="" candidate
    # 3.0.x ships a -runner.jar, later lines a Quarkus fast-jar (quarkus-run.jar).
    for candidate in "$REGISTRY_HOME"/app/*-runner.jar "$REGISTRY_HOME"/app/quarkus-run.jar; do
        [[ -f "$candidate" ]] && jar="$candidate" && break
    done
    [[ -n "$jar" ]] || die "no runnable jar in $REGISTRY_HOME/app"
    mkdir -p "$STATE_DIR/registry"
    # H2 in a file (not in memory) so registered schemas, and so their ids,
    # survive a restart, as they would with Confluent's Kafka-backed store.
    spawn registry java -Xms128m -Xmx384m -Djava.awt.headless=true \
        -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$SCHEMA_REGISTRY_PORT" \
        -Dquarkus.management.enabled=false \
        -Dapicurio.datasource.url="jdbc:h2:file:$STATE_DIR/registry/registry" \
        -Dquarkus.log.level=WARN \
        -jar "$jar"
    wait_until registry registry_ready
    # Confluent's default is BACKWARD, Apicurio's is NONE: make it Confluent's.
    curl -sf -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
        -d '{"compatibility":"BACKWARD"}' "$REGISTRY_API/config" >/dev/null \
        || die "could not set the registry's global compatibility to BACKWARD"
}

# --- S3 store (versitygw) --------------------------------------------------

VERSITYGW_BIN="$CACHE_DIR/bin/versitygw-$VERSITYGW_VERSION"

s3_install() {
    [[ -x "$VERSITYGW_BIN" ]] && return 0
    need go "apt-get install golang-go (Go 1.22 or newer)"
    log "building versitygw $VERSITYGW_VERSION from the Go module proxy (first start only)"
    local gobin="$CACHE_DIR/bin/.build"
    mkdir -p "$gobin"
    GOBIN="$gobin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" \
        >"$CACHE_DIR/bin/versitygw-build.log" 2>&1 \
        || { tail -n 20 "$CACHE_DIR/bin/versitygw-build.log" >&2; die "could not build versitygw"; }
    mv "$gobin/versitygw" "$VERSITYGW_BIN"
}

# Ready: the administrator's signed request answers (and the bucket exists).
s3_ready() {
    py python scripts/lib/probe.py s3 "http://127.0.0.1:$S3_PORT" \
        "$S3_ROOT_ACCESS_KEY_ID" "$S3_ROOT_SECRET_ACCESS_KEY" "$S3_BUCKET"
}

# The application's user (S3_ACCESS_KEY_ID), owner of the bucket and of
# nothing else: versitygw's internal IAM gives a "user" role access to the
# buckets it owns only. Idempotent: an existing user is kept.
s3_app_user() {
    local admin=("$VERSITYGW_BIN" admin --access "$S3_ROOT_ACCESS_KEY_ID" --secret "$S3_ROOT_SECRET_ACCESS_KEY" \
        --endpoint-url "http://127.0.0.1:$S3_PORT")
    [[ "$S3_ACCESS_KEY_ID" == "$S3_ROOT_ACCESS_KEY_ID" ]] && return 0  # told to run the apps as root
    local out
    if ! out="$("${admin[@]}" create-user --access "$S3_ACCESS_KEY_ID" --secret "$S3_SECRET_ACCESS_KEY" --role user 2>&1)" \
        && [[ "$out" != *XAdminUserExists* ]]; then
        die "could not create the S3 user $S3_ACCESS_KEY_ID: $out"
    fi
    "${admin[@]}" change-bucket-owner --bucket "$S3_BUCKET" --owner "$S3_ACCESS_KEY_ID" >/dev/null 2>&1 \
        || die "could not give the bucket $S3_BUCKET to $S3_ACCESS_KEY_ID"
    py python scripts/lib/probe.py s3 "http://127.0.0.1:$S3_PORT" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" "$S3_BUCKET" \
        || die "the S3 user $S3_ACCESS_KEY_ID cannot reach the bucket $S3_BUCKET (a secret that changed? S3_SECRET_ACCESS_KEY)"
}

s3_up() {
    running_pid s3 >/dev/null && return 0
    s3_install
    mkdir -p "$STATE_DIR/s3/data" "$STATE_DIR/s3/iam"
    spawn s3 env ROOT_ACCESS_KEY_ID="$S3_ROOT_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$S3_ROOT_SECRET_ACCESS_KEY" \
        "$VERSITYGW_BIN" --port "127.0.0.1:$S3_PORT" --iam-dir "$STATE_DIR/s3/iam" --quiet posix "$STATE_DIR/s3/data"
    wait_until s3 s3_ready
    s3_app_user
}

# --- PostgreSQL ------------------------------------------------------------

PG_BIN="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
# The server runs as the postgres user, which must reach its data folder. A
# checkout in a private folder (a home readable only by its owner, a mktemp
# folder) is out of its reach: then the data lives under /var/tmp instead, in
# a folder named after this state dir, owned by postgres and private to it.
PG_HOME="$STATE_DIR/postgres"
mkdir -p "$STATE_DIR"
if ((EUID == 0)) && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$STATE_DIR" 2>/dev/null; then
    PG_HOME="/var/tmp/holded-postgres-$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-12)"
fi
PG_DATA="$PG_HOME/data"

# initdb refuses root, so as root the cluster belongs to the postgres user.
as_pg() {
    # From / : the postgres user may not be allowed into the current folder.
    if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

postgres_install() {
    [[ -x "$PG_BIN/postgres" ]] && return 0
    if ((EUID == 0)) && command -v apt-get >/dev/null; then
        log "installing PostgreSQL $POSTGRES_MAJOR from Debian"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$POSTGRES_MAJOR"; } \
            >"$STATE_DIR/apt.log" 2>&1 || die "apt-get could not install postgresql-$POSTGRES_MAJOR (log: $STATE_DIR/apt.log)"
    else
        die "PostgreSQL $POSTGRES_MAJOR is not installed. Fix: sudo apt-get install postgresql-$POSTGRES_MAJOR"
    fi
}

postgres_ready() {
    PGPASSWORD="$POSTGRES_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER" \
        -d postgres -tAc 'select 1' >/dev/null
}

postgres_running() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

postgres_up() {
    postgres_running && return 0
    mkdir -p "$STATE_DIR/postgres" "$PG_HOME"
    postgres_install
    if ((EUID == 0)); then
        chown postgres: "$PG_HOME"
        [[ "$PG_HOME" == "$STATE_DIR/postgres" ]] || chmod 700 "$PG_HOME"
        runuser -u postgres -- test -w "$PG_HOME" \
            || die "the postgres user cannot reach $PG_HOME. Fix: chmod o+x on its parent folders, or set HOLDED_STATE_DIR to a folder under /var/tmp"
    fi
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        local pwfile="$PG_HOME/pwfile"
        printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
        ((EUID == 0)) && chown postgres: "$pwfile"
        # Local socket trusted for the owner; TCP (what the app uses) needs the password.
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
            --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
            >"$PG_HOME/initdb.log" 2>&1 \
            || { cat "$PG_HOME/initdb.log" >&2; die "initdb failed"; }
        rm -f "$pwfile"
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$(logfile postgres)" -w -t "$WAIT_SECONDS" \
        -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DATA" start >/dev/null \
        || { tail -n 20 "$(logfile postgres)" >&2; die "PostgreSQL did not start"; }
    head -n1 "$PG_DATA/postmaster.pid" >"$(pidfile postgres)"
    wait_until postgres postgres_ready
    if [[ -z "$(PGPASSWORD="$POSTGRES_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER" \
        -d postgres -tAc "select 1 from pg_database where datname = '$POSTGRES_DB'")" ]]; then
        PGPASSWORD="$POSTGRES_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER" \
            -d postgres -qc "create database \"$POSTGRES_DB\"" || die "could not create database $POSTGRES_DB"
    fi
}

# --- Commands --------------------------------------------------------------

stop_service() {
    local name="$1" pid
    if [[ "$name" == postgres ]]; then
        if postgres_running; then
            as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
            log "postgres stopped"
        fi
        rm -f "$(pidfile postgres)"
        return 0
    fi
    pid="$(running_pid "$name")" || { rm -f "$(pidfile "$name")"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop within 30s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")"
    log "$name stopped"
}

# Every problem that would stop `up` (a missing tool, a busy port), reported
# together and before anything starts.
cmd_check() {
    local problems=()
    command -v curl >/dev/null || problems+=("'curl' is not installed. Fix: apt-get install curl")
    if ! command -v java >/dev/null; then
        problems+=("'java' is not installed (Kafka and the registry need Java 17+). Fix: apt-get install openjdk-17-jre-headless")
    fi
    if [[ ! -f "$KAFKA_HOME/.complete" || ! -f "$REGISTRY_HOME/.complete" ]] && ! command -v mvn >/dev/null; then
        problems+=("'mvn' is not installed (it fetches Kafka and the registry on first start). Fix: apt-get install maven")
    fi
    if [[ ! -x "$VERSITYGW_BIN" ]] && ! command -v go >/dev/null; then
        problems+=("'go' is not installed (it builds the S3 gateway on first start). Fix: apt-get install golang-go")
    fi
    if [[ ! -x "$PG_BIN/postgres" ]] && ! { ((EUID == 0)) && command -v apt-get >/dev/null; }; then
        problems+=("PostgreSQL $POSTGRES_MAJOR is not installed. Fix: sudo apt-get install postgresql-$POSTGRES_MAJOR")
    fi
    local entry name port variable
    for entry in "postgres:$POSTGRES_PORT:POSTGRES_PORT" "kafka:$KAFKA_PORT:KAFKA_PORT" \
        "kafka:$KAFKA_CONTROLLER_PORT:KAFKA_CONTROLLER_PORT" "registry:$SCHEMA_REGISTRY_PORT:SCHEMA_REGISTRY_PORT" \
        "s3:$S3_PORT:S3_PORT"; do
        IFS=: read -r name port variable <<<"$entry"
        if [[ "$name" == postgres ]]; then postgres_running && continue; else running_pid "$name" >/dev/null && continue; fi
        if port_busy "$port"; then
            problems+=("port $port (for $name) is already in use by another process. Fix: stop that process (ss -ltnp 'sport = :$port' names it) or choose another port with $variable=...")
        fi
    done
    if ((${#problems[@]})); then
        printf 'error: %s\n' "${problems[@]}" >&2
        return 1
    fi
}

cmd_up() {
    mkdir -p "$STATE_DIR" "$CACHE_DIR"
    cmd_check || exit 1
    ensure_python_env
    local name started
    for name in "${SERVICES[@]}"; do
        started=$SECONDS
        "${name}_up"
        log "$name ready ($((SECONDS - started))s)"
    done
}

cmd_down() {
    local name
    # Reverse order: the store and registry before Kafka and the database.
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        stop_service "${SERVICES[i]}"
    done
    if [[ "${1:-}" == "--purge" ]]; then
        rm -rf "$STATE_DIR"
        [[ "$PG_HOME" == "$STATE_DIR/postgres" ]] || rm -rf "$PG_HOME"
        log "state deleted ($STATE_DIR)"
    fi
}

cmd_status() {
    local name pid state rc=0
    for name in "${SERVICES[@]}"; do
        if [[ "$name" == postgres ]]; then
            postgres_running && pid="$(head -n1 "$PG_DATA/postmaster.pid")" || pid=""
        else
            pid="$(running_pid "$name")" || pid=""
        fi
        if [[ -z "$pid" ]]; then
            state="stopped"
            rc=1
        elif "${name}_ready" >/dev/null 2>&1; then
            state="ready (pid $pid)"
        else
            state="running but not answering (pid $pid)"
            rc=1
        fi
        printf '%-9s %s\n' "$name" "$state"
    done
    return $rc
}

cmd_logs() {
    local name
    for name in "${@:-${SERVICES[@]}}"; do
        [[ " ${SERVICES[*]} " == *" $name "* ]] || die "no service '$name' (one of: ${SERVICES[*]})"
        echo "==> $(logfile "$name") <=="
        tail -n 40 "$(logfile "$name")" 2>/dev/null || echo "(no log yet)"
    done
}

# The settings the application reads, pointing at these services.
cmd_env() {
    cat <<EOF
KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
SCHEMA_REGISTRY_URL=$REGISTRY_API
S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID
S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY
S3_BUCKET=$S3_BUCKET
POSTGRES_HOST=127.0.0.1
POSTGRES_PORT=$POSTGRES_PORT
POSTGRES_DB=$POSTGRES_DB
POSTGRES_USER=$POSTGRES_USER
POSTGRES_PASSWORD=$POSTGRES_PASSWORD
EOF
}

case "${1:-}" in
    up) cmd_up ;;
    check) cmd_check ;;
    down) shift; cmd_down "$@" ;;
    stop)
        # One service, for fault tests and operators; `up` starts it again.
        [[ " ${SERVICES[*]} " == *" ${2:-} "* ]] || die "usage: $0 stop SERVICE (one of: ${SERVICES[*]})"
        stop_service "$2"
        ;;
    status) cmd_status ;;
    logs) shift; cmd_logs "$@" ;;
    env) cmd_env ;;
    *) echo "usage: $0 up|check|down [--purge]|stop SERVICE|status|logs [SERVICE...]|env" >&2; exit 2 ;;
esac
