/* Cluster commands of the command line (src/cli/cluster_cmd.c). */
#ifndef FLOW_CLI_CLUSTER_CMD_H
#define FLOW_CLI_CLUSTER_CMD_H

#include "cli/options.h"

/* jobmanager, taskmanager, list, cancel, savepoint: the exit code. */
int flow_cli_cluster(const flow_cli_t *cli);
/* run --jobmanager: points flow.core at the cluster. 0 or an exit code. */
int flow_cli_setup_remote(const flow_cli_t *cli);
/* --set rest.port=N / --web: serves REST and the dashboard for this
 * process's jobs (cluster/local_monitor.h) and prints the URL. 0, or 1
 * (reported). */
int flow_cli_setup_rest(const flow_cli_t *cli);

#endif
