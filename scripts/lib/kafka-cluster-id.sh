# Sourced by services.sh: a new Kafka cluster id.

# 16 random bytes in URL-safe base64, unpadded, as Kafka's own Uuid writes
# them. One draw in 64 starts with '-', which kafka-storage's argument parser
# takes for an option ("--cluster-id: expected one argument"); Kafka's
# Uuid.randomUuid() draws again in that case, and so does this.
new_kafka_cluster_id() {
    local id
    while :; do
        id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
        if [[ "$id" != -* ]]; then
            echo "$id"
            return 0
        fi
    done
}
