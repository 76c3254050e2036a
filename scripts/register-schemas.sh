#!/usr/bin/env bash
# Registers every Avro schema of schemas/ under its subject (the file name
# without .avsc), after setting the registry's global compatibility to
# BACKWARD. Idempotent: a schema already registered is reported "unchanged".
# A schema the registry refuses (incompatible, invalid) is reported with the
# registry's own message, and the script exits 1.
#
# usage: scripts/register-schemas.sh [SCHEMAS_DIR]
# Environment: SCHEMA_REGISTRY_URL (default: the native registry's
# Confluent-compatible API). The same work as `manage.py register_schemas`,
# for machines without the project's Python environment (curl and python3 only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SCHEMAS_DIR="${1:-$ROOT/schemas}"
URL="${SCHEMA_REGISTRY_URL:-http://127.0.0.1:$SCHEMA_REGISTRY_PORT/apis/ccompat/v7}"
URL="${URL%/}"
CONTENT_TYPE="Content-Type: application/vnd.schemaregistry.v1+json"
need curl "apt-get install curl"
need python3 "apt-get install python3"

shopt -s nullglob
files=("$SCHEMAS_DIR"/*.avsc)
((${#files[@]})) || die "no .avsc file in $SCHEMAS_DIR"

response="$(mktemp)"
trap 'rm -f "$response"' EXIT

# request METHOD PATH [BODY] -> prints the HTTP status; the body goes to $response.
request() {
    local code
    code="$(curl -sS -o "$response" -w '%{http_code}' -X "$1" -H "$CONTENT_TYPE" ${3:+--data-binary "$3"} "$URL$2")" \
        || die "cannot reach the schema registry at $URL"
    echo "$code"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$response" "$1"; }

[[ "$(request PUT /config '{"compatibility":"BACKWARD"}')" == 200 ]] \
    || die "could not set the global compatibility: $(cat "$response")"

for file in "${files[@]}"; do
    subject="$(basename "$file" .avsc)"
    body="$(python3 -c 'import json,sys; print(json.dumps({"schemaType": "AVRO", "schema": open(sys.argv[1]).read()}))' "$file")"
    if [[ "$(request POST "/subjects/$subject" "$body")" == 200 ]]; then
        echo "$subject: unchanged, version $(field version) (schema id $(field id))"
        continue
    fi
    code="$(request POST "/subjects/$subject/versions" "$body")"
    if [[ "$code" != 200 ]]; then
        die "the registry refused $subject (HTTP $code): $(field message)"
    fi
    schema_id="$(field id)"
    request GET "/subjects/$subject/versions/latest" >/dev/null
    echo "$subject: registered version $(field version) (schema id $schema_id)"
done
