#!/usr/bin/env bash
# Creates the Kafka topics declared in topics/main-topics (or the file given).
#
# usage: scripts/create-topics.sh [TOPICS_FILE]
#
# The file has one topic a line, `name,partitions,replicas[,key=value...]`,
# the key=value pairs being topic configs; blank lines and # comments are
# ignored. The whole file is checked before Kafka is touched: a malformed line
# is reported with its line number and nothing is created.
#
# Idempotent: a topic that exists as declared is left alone and reported
# "unchanged". One that exists but differs (partitions, replicas, a config) is
# reported and not altered, and the script exits 1: changing a live topic is a
# decision for a person (more partitions remap keys to partitions).
#
# Environment: KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092);
# KAFKA_TOPICS_CMD, the kafka-topics command to use (default: the jars that
# scripts/services.sh fetched; in the Confluent image, `kafka-topics`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

TOPICS_FILE="${1:-$ROOT/topics/main-topics}"
[[ -r "$TOPICS_FILE" ]] || die "cannot read the topics file $TOPICS_FILE"

if [[ -n "${KAFKA_TOPICS_CMD:-}" ]]; then
    read -r -a TOPICS_CMD <<<"$KAFKA_TOPICS_CMD"
elif [[ -f "$KAFKA_HOME/.complete" ]]; then
    TOPICS_CMD=(java -Dlog4j2.configurationFile="$KAFKA_HOME/tools-log4j2.properties"
        -cp "$KAFKA_HOME/lib/*" org.apache.kafka.tools.TopicCommand)
elif command -v kafka-topics >/dev/null; then
    TOPICS_CMD=(kafka-topics)
elif command -v kafka-topics.sh >/dev/null; then
    TOPICS_CMD=(kafka-topics.sh)
else
    die "no Kafka command-line tools found. Fix: run scripts/services.sh up (it fetches them), or set KAFKA_TOPICS_CMD"
fi
topics_cmd() { "${TOPICS_CMD[@]}" --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" "$@"; }

# --- 1. Read and check the whole file --------------------------------------

trim() {
    local value="$1"
    value="${value#"${value%%[![:space:]]*}"}"
    printf '%s' "${value%"${value##*[![:space:]]}"}"
}

names=()
declare -A partitions=() replicas=() configs=()
errors=()
line_number=0
while IFS= read -r line || [[ -n "$line" ]]; do
    line_number=$((line_number + 1))
    line="${line%$'\r'}"
    trimmed="$(trim "$line")"
    [[ -z "$trimmed" || "$trimmed" == \#* ]] && continue
    IFS=, read -r -a raw_fields <<<"$trimmed"
    fields=()
    for field in "${raw_fields[@]}"; do
        fields+=("$(trim "$field")")
    done
    where="$TOPICS_FILE:$line_number"
    if ((${#fields[@]} < 3)); then
        errors+=("$where: expected name,partitions,replicas[,key=value...], got '$trimmed'")
        continue
    fi
    name="${fields[0]}"
    if [[ ! "$name" =~ ^[A-Za-z0-9._-]{1,249}$ ]]; then
        errors+=("$where: '$name' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)")
        continue
    fi
    if [[ -n "${partitions[$name]:-}" ]]; then
        errors+=("$where: topic '$name' is declared twice")
        continue
    fi
    if [[ ! "${fields[1]}" =~ ^[1-9][0-9]*$ ]]; then
        errors+=("$where: partitions must be a positive integer, got '${fields[1]}'")
        continue
    fi
    if [[ ! "${fields[2]}" =~ ^[1-9][0-9]*$ ]]; then
        errors+=("$where: replicas must be a positive integer, got '${fields[2]}'")
        continue
    fi
    topic_configs=()
    bad_config=""
    for config in "${fields[@]:3}"; do
        if [[ ! "$config" =~ ^[a-z0-9.]+=[^=]+$ ]]; then
            bad_config="$config"
            break
        fi
        topic_configs+=("$config")
    done
    if [[ -n "$bad_config" ]]; then
        errors+=("$where: topic config must be key=value, got '$bad_config'")
        continue
    fi
    names+=("$name")
    partitions[$name]="${fields[1]}"
    replicas[$name]="${fields[2]}"
    configs[$name]="${topic_configs[*]:-}"
done <"$TOPICS_FILE"

if ((${#errors[@]})); then
    printf 'error: %s\n' "${errors[@]}" >&2
    die "$TOPICS_FILE has ${#errors[@]} malformed line(s); nothing was created"
fi
((${#names[@]})) || die "$TOPICS_FILE declares no topic"

# --- 2. What exists already ------------------------------------------------

# One describe call for every declared topic (an anchored regular expression).
pattern=""
for name in "${names[@]}"; do
    pattern+="${pattern:+|}${name//./\\.}"
done
described="$(topics_cmd --describe --if-exists --topic "^($pattern)\$")" \
    || die "could not reach Kafka at $KAFKA_BOOTSTRAP_SERVERS"

declare -A actual_partitions=() actual_replicas=() actual_configs=()
while IFS= read -r row; do
    [[ "$row" == Topic:* ]] || continue   # partition rows start with a tab
    name="$(sed -n 's/^Topic: \([^[:space:]]*\).*/\1/p' <<<"$row")"
    actual_partitions[$name]="$(sed -n 's/.*PartitionCount: \([0-9]*\).*/\1/p' <<<"$row")"
    actual_replicas[$name]="$(sed -n 's/.*ReplicationFactor: \([0-9]*\).*/\1/p' <<<"$row")"
    actual_configs[$name]=",$(sed -n 's/.*Configs: \(.*\)$/\1/p' <<<"$row"),"
done <<<"$described"

# --- 3. Create what is missing, report what differs ------------------------

drifted=0
for name in "${names[@]}"; do
    if [[ -n "${actual_partitions[$name]:-}" ]]; then
        differences=()
        [[ "${actual_partitions[$name]}" == "${partitions[$name]}" ]] \
            || differences+=("partitions ${actual_partitions[$name]}, declared ${partitions[$name]}")
        [[ "${actual_replicas[$name]}" == "${replicas[$name]}" ]] \
            || differences+=("replicas ${actual_replicas[$name]}, declared ${replicas[$name]}")
        for config in ${configs[$name]}; do
            [[ "${actual_configs[$name]}" == *",$config,"* ]] || differences+=("config $config is not set")
        done
        if ((${#differences[@]})); then
            drifted=1
            echo "$name: exists but differs from $(basename "$TOPICS_FILE"): $(printf '%s; ' "${differences[@]}")not altered"
        else
            echo "$name: exists, unchanged"
        fi
        continue
    fi
    args=(--create --if-not-exists --topic "$name" --partitions "${partitions[$name]}"
        --replication-factor "${replicas[$name]}")
    for config in ${configs[$name]}; do
        args+=(--config "$config")
    done
    topics_cmd "${args[@]}" >/dev/null || die "could not create topic $name"
    echo "$name: created (partitions ${partitions[$name]}, replicas ${replicas[$name]}${configs[$name]:+, ${configs[$name]}})"
done

if ((drifted)); then
    die "some topics differ from $TOPICS_FILE (see above); change them by hand with kafka-topics --alter or kafka-configs"
fi
