# Shared by the scripts in scripts/: where things live, settings, messages.
# Sourced, never run. Every value can be overridden from the environment or
# from a .env file at the project root (see .env.example).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ -f "$ROOT/.env" ]]; then
    set -a
    # shellcheck disable=SC1091
    source "$ROOT/.env"
    set +a
fi

# Downloads and builds (kept between runs) and runtime state (data, logs, pids).
CACHE_DIR="${HOLDED_CACHE_DIR:-$ROOT/.cache}"
STATE_DIR="${HOLDED_STATE_DIR:-$ROOT/.run}"

# Versions of the native services. Kafka and the registry come from Maven
# Central, the S3 gateway from the Go module proxy, PostgreSQL from Debian.
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
LOG4J_VERSION="${LOG4J_VERSION:-2.25.3}"
SLF4J_VERSION="${SLF4J_VERSION:-2.0.17}"
# 3.0.x is the newest Apicurio line that runs on Java 17 (3.3 needs Java 21).
APICURIO_VERSION="${APICURIO_VERSION:-3.0.9}"
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.7.0}"
POSTGRES_MAJOR="${POSTGRES_MAJOR:-15}"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
SCHEMA_REGISTRY_PORT="${SCHEMA_REGISTRY_PORT:-8085}"
S3_PORT="${S3_PORT:-9000}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
API_PORT="${API_PORT:-8000}"

# The store's administrator (versitygw's root, MinIO's root user): used only
# by services.sh to create the bucket and the application's user.
S3_ROOT_ACCESS_KEY_ID="${S3_ROOT_ACCESS_KEY_ID:-minioadmin}"
S3_ROOT_SECRET_ACCESS_KEY="${S3_ROOT_SECRET_ACCESS_KEY:-minioadmin}"
# The application's credentials: a user that owns the bucket and may do
# nothing else (no other bucket, no bucket creation, no administration).
S3_ACCESS_KEY_ID="${S3_ACCESS_KEY_ID:-holded-app}"
S3_SECRET_ACCESS_KEY="${S3_SECRET_ACCESS_KEY:-holded-app-secret}"
S3_BUCKET="${S3_BUCKET:-holded-events}"
POSTGRES_DB="${POSTGRES_DB:-holded}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-postgres}"
# The API's own role (created and granted by `manage.py migrate`).
API_POSTGRES_USER="${API_POSTGRES_USER:-holded_api}"
API_POSTGRES_PASSWORD="${API_POSTGRES_PASSWORD:-holded_api}"
STREAM_POSTGRES_USER="${STREAM_POSTGRES_USER:-holded_stream}"
STREAM_POSTGRES_PASSWORD="${STREAM_POSTGRES_PASSWORD:-holded_stream}"

KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$KAFKA_PORT}"

# uv, when the project installed it itself (below), and Go where its official
# packaging puts it: found even with a minimal PATH and an empty HOME.
TOOLS_DIR="$CACHE_DIR/tools"
for dir in "$TOOLS_DIR/bin" /usr/local/go/bin /usr/sbin /sbin; do
    if [[ -d "$dir" && ":$PATH:" != *":$dir:"* ]]; then PATH="$dir:$PATH"; fi
done
export PATH
# uv never fetches an interpreter from outside the package registries, and
# trusts the system's certificates (a proxy's CA installed there too).
export UV_PYTHON_DOWNLOADS=never UV_NATIVE_TLS=true

log() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# die with a message naming the fix when a tool is missing.
need() {
    local tool="$1" fix="$2"
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed. Fix: $fix"
}

# Debian packages for the programs at PATHS (the rest of the arguments), installed with apt-get when
# run as root; otherwise a message names the fix. usage: ensure_debian_packages WHY PACKAGE=PATH...
ensure_debian_packages() {
    local why="$1" missing=() pair
    shift
    for pair in "$@"; do
        [[ -x "${pair#*=}" ]] || missing+=("${pair%%=*}")
    done
    ((${#missing[@]})) || return 0
    if ((EUID == 0)) && command -v apt-get >/dev/null; then
        log "installing ${missing[*]} (apt): $why"
        mkdir -p "$STATE_DIR"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
            >"$STATE_DIR/apt.log" 2>&1 || die "apt-get could not install ${missing[*]} (log: $STATE_DIR/apt.log)"
    else
        die "${missing[*]} not installed: $why. Fix: sudo apt-get install ${missing[*]}"
    fi
}

# True when something already listens on 127.0.0.1:$1.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# uv, installed from PyPI into a virtual environment of the project's own
# ($CACHE_DIR/tools) when the machine has none: neither the system Python
# (externally managed on Debian) nor HOME is touched.
ensure_uv() {
    command -v uv >/dev/null 2>&1 && return 0
    # Installed by an earlier step of this same run (after PATH was set above).
    if [[ -x "$TOOLS_DIR/bin/uv" ]]; then PATH="$TOOLS_DIR/bin:$PATH"; return 0; fi
    need python3 "apt-get install python3 python3-venv"
    log "installing uv (the project's Python package manager) into $TOOLS_DIR"
    { python3 -m venv "$TOOLS_DIR" && "$TOOLS_DIR/bin/python" -m pip install --quiet 'uv>=0.5'; } \
        || die "could not install uv into $TOOLS_DIR (is python3-venv installed? apt-get install python3-venv)"
    PATH="$TOOLS_DIR/bin:$PATH"
}

# The project's Python environment, created from uv.lock by uv.
ensure_python_env() {
    ensure_uv
    (cd "$ROOT" && uv sync --frozen --quiet --python python3.11) \
        || die "uv sync failed (is Python 3.11 installed? apt-get install python3.11)"
}

# Run the project's Python (manage.py and friends) inside its environment.
py() { ensure_uv && (cd "$ROOT" && uv run --frozen --quiet --python python3.11 "$@"); }

need_java() {
    need java "apt-get install openjdk-17-jre-headless"
    local major
    major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
    ((major >= 17)) || die "Java $major found, Kafka 4 and Flink need Java 17 or newer. Fix: apt-get install openjdk-17-jre-headless"
}

# Resolve Maven artifacts with plain Maven into a folder (once).
maven_fetch() {
    local dir="$1" pom="$2" goal="$3"
    [[ -f "$dir/.complete" ]] && return 0
    need mvn "apt-get install maven"
    mkdir -p "$dir"
    printf '%s\n' "$pom" >"$dir/pom.xml"
    log "resolving $(basename "$dir") from Maven Central (first start only)"
    (cd "$dir" && mvn -q -B -f pom.xml $goal) >"$dir/maven.log" 2>&1 \
        || { tail -n 20 "$dir/maven.log" >&2; die "Maven could not resolve $(basename "$dir") (log: $dir/maven.log)"; }
    touch "$dir/.complete"
}
