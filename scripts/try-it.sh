#!/usr/bin/env bash
# The README's "Try it", as a script: posts one event to the API, then waits
# until the stream has written its row to PostgreSQL, and prints the row.
# scripts/test.sh runs it after `platform.sh up` in a clean environment, the
# way a new user meets the platform. Exits non-zero if the event is refused or
# its row does not arrive within HOLDED_TRY_SECONDS (default 60).
#
# usage: scripts/try-it.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PSQL="$(command -v psql || echo "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/psql")"
SECONDS_TO_WAIT="${HOLDED_TRY_SECONDS:-60}"
message_id="$(cat /proc/sys/kernel/random/uuid)"
now="$(date -u +%Y-%m-%dT%H:%M:%S+00:00)"

answer="$(curl -sS --max-time 30 -X POST "http://127.0.0.1:$API_PORT/collect" -H 'Content-Type: application/json' -d '[{
  "data": {"id": "try-it", "amount": 120.5},
  "attributes": {
    "type": "invoice.created", "targetSubscription": "accounting",
    "X-Message-Stamp-Holded\\Shared\\Infrastructure\\Messenger\\Stamp\\NewContextStamp":
      {"accountId": "5b0e6d3c-9f1a-4c55-8d5e-0a7f3f1b2c44", "userId": "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"},
    "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\TimestampStamp": "'"$now"'",
    "X-Message-Stamp-Holded\\Core\\Messaging\\Messenger\\Stamp\\MessageIdStamp": "'"$message_id"'"
  }}]')" || die "POST /collect failed: is the API up? (scripts/platform.sh status)"
echo "POST /collect -> $answer"
[[ "$answer" == *'"accepted":1'* ]] || die "the event was not accepted"
correlation_id="$(grep -o '"correlationId":"[0-9a-f-]*"' <<<"$answer" | cut -d'"' -f4)"

deadline=$((SECONDS + SECONDS_TO_WAIT))
until row="$(PGPASSWORD="$POSTGRES_PASSWORD" "$PSQL" -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
    -tAc "select correlation_id, type, data->'metadata'->>'publishTime' from events where correlation_id = '$correlation_id'")" \
    && [[ -n "$row" ]]; do
    ((SECONDS < deadline)) || die "no row for $correlation_id in PostgreSQL after ${SECONDS_TO_WAIT}s (stream log: $STATE_DIR/stream/stream.log)"
    sleep 0.5
done
echo "PostgreSQL events -> $row"
