/* kafka_mock: librdkafka's own mock cluster (rdkafka_mock.h) as a process,
 * for the connector specs and for trying the Kafka examples without a Kafka
 * install (scripts/kafka-mock.sh). The mock speaks the real Kafka protocol on
 * loopback listeners and accepts transactions; the connector cannot tell it
 * from a real cluster.
 *
 *   kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]...
 *
 * Prints "bootstrap.servers=HOST:PORT,..." on stdout (one line, flushed),
 * then stays up until SIGINT or SIGTERM. Exit 0, or 1 with a message. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  int brokers = 1;
  for (int i = 1; i < argc; i++) { /* first pass: the broker count */
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) brokers = atoi(argv[++i]);
  }
  if (brokers < 1 || brokers > 16) {
    fprintf(stderr, "kafka_mock: --brokers must be 1..16\n");
    return 1;
  }
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* the handle only keeps the mock's books: quiet, no broker of its own */
  if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "kafka_mock: %s\n", err);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == NULL) {
    fprintf(stderr, "kafka_mock: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == NULL) {
    fprintf(stderr, "kafka_mock: could not start a mock cluster of %d brokers\n", brokers);
    rd_kafka_destroy(rk);
    return 1;
  }
  int rc = 0;
  for (int i = 1; i < argc && rc == 0; i++) {
    if (strcmp(argv[i], "--brokers") == 0) {
      i++;
    } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
      char name[256];
      snprintf(name, sizeof(name), "%s", argv[++i]);
      int partitions = 1;
      char *colon = strrchr(name, ':');
      if (colon != NULL) {
        *colon = '\0';
        partitions = atoi(colon + 1);
      }
      if (name[0] == '\0' || partitions < 1 ||
          rd_kafka_mock_topic_create(mc, name, partitions, brokers < 3 ? brokers : 3) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka_mock: cannot create topic '%s' with %d partitions\n", argv[i], partitions);
        rc = 1;
      }
    } else {
      fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic NAME[:PARTITIONS]]...\n");
      rc = 1;
    }
  }
  if (rc == 0) {
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("bootstrap.servers=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (!stop) pause();
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return rc;
}
