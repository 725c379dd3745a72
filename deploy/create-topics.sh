#!/bin/sh
# Create the wirestream topics with the partition counts the app expects (idempotent).
#
# Runs in the official apache/kafka image (docker-compose service `create-topics`), or anywhere
# with Kafka's CLI tools:
#   BOOTSTRAP_SERVERS=broker:9092 sh deploy/create-topics.sh
#   kubectl -n wirestream run create-topics --rm -i --restart=Never --image=apache/kafka:4.1.1 \
#     --env=BOOTSTRAP_SERVERS=my-kafka:9092 --command -- sh -s < deploy/create-topics.sh
#
# Settings (environment):
#   BOOTSTRAP_SERVERS              host:port list (default kafka:9092)
#   KAFKA_CLIENT_CONFIG            optional client properties file (SASL/TLS) passed as --command-config
#   WIRESTREAM_TOPIC_PREFIX        default "wire."
#   WIRESTREAM_PARTITIONS          default 8 (every topic gets the same count: Faust co-partitions them)
#   WIRESTREAM_REPLICATION_FACTOR  default 1
#   TOPIC_RETENTION_MS             retention of stream topics (default 7 days)
#   DEAD_LETTER_RETENTION_MS       retention of dead-letter topics (default 30 days)
#   EVENT_MAX_MESSAGE_BYTES        max.message.bytes of the events topic (default 4194304: the app's
#                                  largest record, 4 x WIRESTREAM_MAX_MESSAGE_BYTES; an event's
#                                  snapshot grows with its stories). Faust sets the same on the
#                                  events table's changelog, which it creates itself.
#
# An existing topic with a different partition count is an error (the app would refuse to
# co-partition its tables, and adding partitions to a keyed topic moves keys): fix it by hand.
set -eu

BOOTSTRAP_SERVERS="${BOOTSTRAP_SERVERS:-kafka:9092}"
PREFIX="${WIRESTREAM_TOPIC_PREFIX:-wire.}"
PARTITIONS="${WIRESTREAM_PARTITIONS:-8}"
REPLICATION="${WIRESTREAM_REPLICATION_FACTOR:-1}"
RETENTION_MS="${TOPIC_RETENTION_MS:-604800000}"
DLQ_RETENTION_MS="${DEAD_LETTER_RETENTION_MS:-2592000000}"
EVENT_MAX_BYTES="${EVENT_MAX_MESSAGE_BYTES:-4194304}"

if [ -n "${KAFKA_TOPICS_CMD:-}" ]; then
  :
elif command -v kafka-topics.sh >/dev/null 2>&1; then
  KAFKA_TOPICS_CMD=kafka-topics.sh
else
  KAFKA_TOPICS_CMD=/opt/kafka/bin/kafka-topics.sh
fi

kt() {
  if [ -n "${KAFKA_CLIENT_CONFIG:-}" ]; then
    "$KAFKA_TOPICS_CMD" --bootstrap-server "$BOOTSTRAP_SERVERS" --command-config "$KAFKA_CLIENT_CONFIG" "$@"
  else
    "$KAFKA_TOPICS_CMD" --bootstrap-server "$BOOTSTRAP_SERVERS" "$@"
  fi
}

echo "create-topics: waiting for $BOOTSTRAP_SERVERS"
tries=0
until kt --list >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    echo "create-topics: broker $BOOTSTRAP_SERVERS not reachable" >&2
    exit 1
  fi
  sleep 2
done

status=0
# name|extra configs (comma-separated, one --config flag each)
for spec in \
  "stories|retention.ms=$RETENTION_MS" \
  "enriched|retention.ms=$RETENTION_MS" \
  "assigned|retention.ms=$RETENTION_MS" \
  "stories.clustered|retention.ms=$RETENTION_MS" \
  "events|cleanup.policy=compact,max.message.bytes=$EVENT_MAX_BYTES" \
  "story-updates|retention.ms=$RETENTION_MS" \
  "dead-letter|retention.ms=$DLQ_RETENTION_MS" \
  "webhook-dead-letter|retention.ms=$DLQ_RETENTION_MS"
do
  topic="${PREFIX}${spec%%|*}"
  config="${spec#*|}"
  flags=""
  for c in $(printf '%s' "$config" | tr ',' ' '); do
    flags="$flags --config $c"
  done
  # shellcheck disable=SC2086 # one word per flag: configs hold no spaces
  kt --create --if-not-exists --topic "$topic" --partitions "$PARTITIONS" \
     --replication-factor "$REPLICATION" $flags >/dev/null
  have=$(kt --describe --topic "$topic" 2>/dev/null \
         | sed -n 's/.*PartitionCount:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
  if [ "$have" != "$PARTITIONS" ]; then
    echo "create-topics: $topic has ${have:-?} partitions, expected $PARTITIONS" >&2
    status=1
  else
    echo "create-topics: $topic ok ($PARTITIONS partitions, $config)"
  fi
done
exit "$status"
