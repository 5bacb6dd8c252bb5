#!/usr/bin/env bash
# A Kafka cluster to try the Kafka connector without installing Kafka:
# librdkafka's own mock cluster (it speaks the real protocol on loopback and
# accepts transactions), built as build/kafka_mock when librdkafka-dev is
# installed. Prints "bootstrap.servers=HOST:PORT,..." and stays up until
# Ctrl-C.
#
#   scripts/kafka-mock.sh [--brokers N] [--topic NAME[:PARTITIONS]]...
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${KAFKA_MOCK:-$here/build/kafka_mock}"
if [ ! -x "$bin" ]; then
  echo "kafka-mock.sh: $bin is missing: install librdkafka-dev, then cmake -B build && cmake --build build" >&2
  exit 1
fi
exec "$bin" "$@"
