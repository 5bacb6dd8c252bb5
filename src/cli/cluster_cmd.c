/* The cluster commands of the command line: jobmanager, taskmanager, list,
 * cancel, savepoint, and the set-up of `run --jobmanager` (docs/cluster.md). */
#include "cli/cluster_cmd.h"

#include "cluster/local_monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/auth.h"
#include "cluster/protocol.h"
#include "cluster/jobmanager.h"
#include "client/remote_client.h"
#include "net/tcp_addr.h"
#include "cluster/taskmanager.h"
#include "util/common.h"
#include "lua/core.h"
#include "lua/task_body.h"

#define DEFAULT_JOBMANAGER "127.0.0.1:6123"

static char *g_secret; /* the loaded cluster secret, for the process's life */
static size_t g_secret_len;

static int usage(const char *fmt, const char *a) {
  fputs("flowlua: ", stderr);
  fprintf(stderr, fmt, a);
  fputs("\nTry 'flowlua help cluster'.\n", stderr);
  return 2;
}

/* the value of --set KEY, or NULL */
static const char *config_value(const flow_cli_t *cli, const char *key) {
  const char *v = NULL;
  for (int i = 0; i < cli->nconfig; i++)
    if (strcmp(cli->config[i].key, key) == 0) v = cli->config[i].value;
  return v;
}

static int64_t config_ms(const flow_cli_t *cli, const char *key, int64_t dflt) {
  for (int i = 0; i < cli->nconfig; i++)
    if (strcmp(cli->config[i].key, key) == 0) return strtoll(cli->config[i].value, NULL, 10);
  return dflt;
}

static int load_secret(const char *file) {
  char err[512];
  if (flow_auth_load_secret(file, &g_secret, &g_secret_len, err, sizeof(err)) != 0) {
    fprintf(stderr, "flowlua: %s\n", err);
    return 1;
  }
  return 0;
}

/* "--name VALUE" / "--name=VALUE" at args[*i]: the value, or NULL. */
static const char *opt(int n, char **args, int *i, const char *name) {
  size_t k = strlen(name);
  if (strncmp(args[*i], name, k) == 0 && args[*i][k] == '=') return args[*i] + k + 1;
  if (strcmp(args[*i], name) == 0 && *i + 1 < n) return args[++*i];
  return NULL;
}

static int is(const char *a, const char *name) {
  size_t k = strlen(name);
  return strncmp(a, name, k) == 0 && (a[k] == '\0' || a[k] == '=');
}

static int refuse_open_bind(const char *what, const char *host) {
  if (g_secret != NULL || flow_auth_is_loopback(host)) return 0;
  fprintf(stderr,
          "flowlua: %s: binding to %s exposes the cluster: give a cluster secret (--secret-file FILE, "
          "mode 600, or FLOWLUA_CLUSTER_SECRET) or bind to 127.0.0.1\n",
          what, host);
  return 1;
}

static int cmd_jobmanager(const flow_cli_t *cli) {
  flow_jobmanager_options_t o;
  flow_jobmanager_options_init(&o);
  const char *secret_file = NULL;
  char *bind = NULL, *rest = NULL;
  int rc = 2;
  for (int i = 0; i < cli->nargs; i++) {
    const char *a = cli->args[i], *v;
    if (is(a, "--bind")) {
      if ((v = opt(cli->nargs, cli->args, &i, "--bind")) == NULL || flow_parse_host_port(v, &bind, &o.bind_port) != 0)
        return usage("--bind needs HOST:PORT%s", "");
    } else if (is(a, "--rest")) {
      if ((v = opt(cli->nargs, cli->args, &i, "--rest")) == NULL) return usage("--rest needs HOST:PORT or off%s", "");
      if (strcmp(v, "off") == 0) o.rest_port = -1;
      else if (flow_parse_host_port(v, &rest, &o.rest_port) != 0) return usage("--rest needs HOST:PORT or off%s", "");
    } else if (is(a, "--secret-file")) {
      if ((secret_file = opt(cli->nargs, cli->args, &i, "--secret-file")) == NULL) return usage("--secret-file needs a FILE%s", "");
    } else if (is(a, "--port-file")) {
      if ((o.port_file = opt(cli->nargs, cli->args, &i, "--port-file")) == NULL) return usage("--port-file needs a FILE%s", "");
    } else {
      return usage("unknown jobmanager option '%s'", a);
    }
  }
  if (load_secret(secret_file) != 0) goto out;
  o.bind_host = bind;
  o.rest_host = rest;
  o.secret = g_secret;
  o.secret_len = g_secret_len;
  o.heartbeat_interval_ms = config_ms(cli, "heartbeat.interval", o.heartbeat_interval_ms);
  o.heartbeat_timeout_ms = config_ms(cli, "heartbeat.timeout", o.heartbeat_timeout_ms);
  o.slot_timeout_ms = config_ms(cli, "slot.request.timeout", o.slot_timeout_ms);
  o.prom_ports = config_value(cli, "metrics.reporter.prom.port");
  rc = 1;
  if (refuse_open_bind("jobmanager", bind) || (o.rest_port >= 0 && refuse_open_bind("jobmanager REST", rest))) goto out;
  rc = flow_jobmanager_run(&o);
out:
  free(bind);
  free(rest);
  return rc;
}

static int cmd_taskmanager(const flow_cli_t *cli) {
  flow_taskmanager_options_t o;
  flow_taskmanager_options_init(&o);
  o.task_body = flow_lua_task_body;
  const char *secret_file = NULL;
  char *jm = NULL;
  int rc = 2;
  for (int i = 0; i < cli->nconfig; i++)
    if (strcmp(cli->config[i].key, "taskmanager.numberOfTaskSlots") == 0) o.slots = atoi(cli->config[i].value);
  if (o.slots < 1 || o.slots > 4096) return usage("taskmanager.numberOfTaskSlots must be 1 to 4096%s", "");
  for (int i = 0; i < cli->nargs; i++) {
    const char *a = cli->args[i], *v;
    if (is(a, "--jobmanager") || strcmp(a, "-m") == 0) {
      v = strcmp(a, "-m") == 0 ? (i + 1 < cli->nargs ? cli->args[++i] : NULL) : opt(cli->nargs, cli->args, &i, "--jobmanager");
      free(jm);
      jm = NULL;
      if (v == NULL || flow_parse_host_port(v, &jm, &o.jobmanager_port) != 0) return usage("--jobmanager needs HOST:PORT%s", "");
    } else if (is(a, "--slots")) {
      if ((v = opt(cli->nargs, cli->args, &i, "--slots")) == NULL || (o.slots = atoi(v)) < 1 || o.slots > 4096)
        return usage("--slots needs a number from 1 to 4096%s", "");
    } else if (is(a, "--bind")) {
      if ((o.bind_host = opt(cli->nargs, cli->args, &i, "--bind")) == NULL) return usage("--bind needs a HOST%s", "");
    } else if (is(a, "--advertise")) {
      if ((o.advertise_host = opt(cli->nargs, cli->args, &i, "--advertise")) == NULL)
        return usage("--advertise needs a HOST%s", "");
    } else if (is(a, "--secret-file")) {
      if ((secret_file = opt(cli->nargs, cli->args, &i, "--secret-file")) == NULL) return usage("--secret-file needs a FILE%s", "");
    } else {
      return usage("unknown taskmanager option '%s'", a);
    }
  }
  if (load_secret(secret_file) != 0) goto out;
  o.jobmanager_host = jm;
  o.secret = g_secret;
  o.secret_len = g_secret_len;
  o.heartbeat_interval_ms = config_ms(cli, "heartbeat.interval", o.heartbeat_interval_ms);
  o.heartbeat_timeout_ms = config_ms(cli, "heartbeat.timeout", o.heartbeat_timeout_ms);
  o.prom_ports = config_value(cli, "metrics.reporter.prom.port");
  rc = 1;
  if (refuse_open_bind("taskmanager", o.bind_host)) goto out;
  rc = flow_taskmanager_run(&o);
out:
  free(jm);
  return rc;
}

/* list / cancel / savepoint: one request each. */
static int cmd_client(const flow_cli_t *cli) {
  const char *cmd = cli->cluster_command;
  const char *addr = DEFAULT_JOBMANAGER, *secret_file = NULL;
  const char *pos[2] = {NULL, NULL};
  int npos = 0, stop = 0;
  for (int i = 0; i < cli->nargs; i++) {
    const char *a = cli->args[i];
    if (is(a, "--jobmanager") || strcmp(a, "-m") == 0) {
      addr = strcmp(a, "-m") == 0 ? (i + 1 < cli->nargs ? cli->args[++i] : NULL) : opt(cli->nargs, cli->args, &i, "--jobmanager");
      if (addr == NULL) return usage("--jobmanager needs HOST:PORT%s", "");
    } else if (is(a, "--secret-file")) {
      if ((secret_file = opt(cli->nargs, cli->args, &i, "--secret-file")) == NULL) return usage("--secret-file needs a FILE%s", "");
    } else if (strcmp(a, "--stop") == 0 && strcmp(cmd, "savepoint") == 0) {
      stop = 1;
    } else if (a[0] == '-') {
      return usage("unknown option '%s'", a);
    } else if (npos < 2) {
      pos[npos++] = a;
    } else {
      return usage("too many arguments ('%s')", a);
    }
  }
  int need = strcmp(cmd, "list") == 0 ? 0 : 1;
  if (npos < need) return usage("%s needs a JOB_ID", cmd);
  if (npos > need + (strcmp(cmd, "savepoint") == 0)) return usage("too many arguments for %s", cmd);
  if (need && (strlen(pos[0]) != 32 || strspn(pos[0], "0123456789abcdef") != 32))
    return usage("'%s' is not a job id (32 hex digits)", pos[0]);
  if (load_secret(secret_file) != 0) return 1;
  flow_remote_target_t t;
  char *host = NULL;
  if (flow_parse_host_port(addr, &host, &t.port) != 0) return usage("bad jobmanager address '%s'", addr);
  t.host = host;
  t.secret = g_secret;
  t.secret_len = g_secret_len;
  flow_wbuf_t w, reply;
  flow_wbuf_init(&w);
  uint8_t type, reply_type;
  if (strcmp(cmd, "list") == 0) {
    type = FLOW_GATEWAY_LIST, reply_type = FLOW_GATEWAY_LIST_REPLY;
  } else if (strcmp(cmd, "cancel") == 0) {
    type = FLOW_GATEWAY_CANCEL, reply_type = FLOW_GATEWAY_CANCEL_REPLY;
    flow_wr_str(&w, pos[0]);
  } else {
    type = FLOW_GATEWAY_SAVEPOINT, reply_type = FLOW_GATEWAY_SAVEPOINT_REPLY;
    flow_wr_str(&w, pos[0]);
    char dir[4096];
    if (pos[1] != NULL && pos[1][0] != '/') {
      char cwd[2048];
      snprintf(dir, sizeof(dir), "%s/%s", getcwd(cwd, sizeof(cwd)) ? cwd : ".", pos[1]);
    } else {
      snprintf(dir, sizeof(dir), "%s", pos[1] ? pos[1] : "/tmp/flowlua-savepoints");
    }
    flow_wr_str(&w, dir);
    flow_wr_u8(&w, (uint8_t)stop);
  }
  char err[600];
  int rc = flow_remote_request(&t, type, w.data, w.len, reply_type, type == FLOW_GATEWAY_SAVEPOINT ? 600000 : 30000, &reply,
                           err, sizeof(err));
  flow_wbuf_free(&w);
  free(host);
  if (rc != 0) {
    fprintf(stderr, "flowlua: %s: %s\n", cmd, err);
    return 1;
  }
  flow_rbuf_t r;
  flow_rbuf_init(&r, reply.data, reply.len);
  int code = 0;
  if (type == FLOW_GATEWAY_LIST) {
    int32_t n = 0;
    flow_rd_i32(&r, &n);
    if (n == 0) printf("No jobs.\n");
    for (int32_t i = 0; i < n && r.err == 0; i++) {
      char *id = NULL, *name = NULL, *status = NULL;
      int64_t start = 0, dur = 0;
      flow_rd_str(&r, &id, 0);
      flow_rd_str(&r, &name, 0);
      flow_rd_str(&r, &status, 0);
      flow_rd_i64(&r, &start);
      flow_rd_i64(&r, &dur);
      if (r.err == 0) {
        time_t secs = (time_t)(start / 1000);
        struct tm tmv;
        char ts[32];
        localtime_r(&secs, &tmv);
        strftime(ts, sizeof(ts), "%d.%m.%Y %H:%M:%S", &tmv);
        printf("%s : %s : %s (%s)\n", ts, id, name, status); /* Flink's `flink list` line */
      }
      free(id), free(name), free(status);
    }
  } else {
    uint8_t ok = 0;
    char *text = NULL;
    flow_rd_u8(&r, &ok);
    flow_rd_str(&r, &text, 0);
    if (r.err == 0 && ok) {
      if (type == FLOW_GATEWAY_CANCEL) printf("Cancelled job %s.\n", pos[0]);
      else printf("Savepoint completed. Path: %s\n", text);
    } else {
      fprintf(stderr, "flowlua: %s: %s\n", cmd, text ? text : "malformed reply");
      code = 1;
    }
    free(text);
  }
  if (r.err != 0) {
    fprintf(stderr, "flowlua: %s: malformed reply from the jobmanager\n", cmd);
    code = 1;
  }
  flow_wbuf_free(&reply);
  return code;
}

int flow_cli_cluster(const flow_cli_t *cli) {
  const char *cmd = cli->cluster_command;
  if (strcmp(cmd, "jobmanager") == 0) return cmd_jobmanager(cli);
  if (strcmp(cmd, "taskmanager") == 0) return cmd_taskmanager(cli);
  return cmd_client(cli);
}

int flow_cli_setup_rest(const flow_cli_t *cli) {
  const char *port = config_value(cli, "rest.port");
  const char *prom = config_value(cli, "metrics.reporter.prom.port");
  if (port == NULL && !cli->web && prom == NULL) return 0;
  if (cli->jobmanager != NULL || cli->rest != NULL) {
    fprintf(stderr, "flowlua: rest.port, --web and metrics.reporter.prom.port serve local jobs: the cluster's "
                    "processes serve their own\n");
    return 0;
  }
  const char *host = config_value(cli, "rest.bind-address");
  if (host == NULL) host = config_value(cli, "rest.address");
  if (host == NULL) host = "127.0.0.1";
  if (g_secret == NULL && (cli->secret_file != NULL || getenv("FLOWLUA_CLUSTER_SECRET") != NULL) &&
      load_secret(cli->secret_file) != 0)
    return 1;
  char err[256];
  flow_local_monitor_opts_t o = {
      .host = host,
      .rest_port = port != NULL ? atoi(port) : cli->web ? 8081 : -1,
      .prom_ports = prom,
      .secret = g_secret,
      .secret_len = g_secret_len,
  };
  int rc = flow_local_monitor_start(&o, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "flowlua: %s\n", err);
    return 1;
  }
  int v6 = strchr(host, ':') != NULL;
  if (flow_local_monitor_port() > 0)
    fprintf(stderr, "flowlua: REST and the dashboard at http://%s%s%s:%d/\n", v6 ? "[" : "", host, v6 ? "]" : "",
            flow_local_monitor_port());
  if (flow_local_monitor_prom_port() > 0)
    fprintf(stderr, "flowlua: Prometheus metrics at http://%s%s%s:%d/metrics\n", v6 ? "[" : "", host, v6 ? "]" : "",
            flow_local_monitor_prom_port());
  return 0;
}

int flow_cli_setup_remote(const flow_cli_t *cli) {
  const char *addr = cli->jobmanager ? cli->jobmanager : cli->rest;
  if (addr == NULL) return 0;
  char *host = NULL;
  int port = 0;
  struct sockaddr_storage ss;
  if (flow_parse_host_port(addr, &host, &port) != 0 || flow_tcp_parse_addr(host, port, &ss) != 0) {
    fprintf(stderr, "flowlua: bad jobmanager address '%s' (numeric IPv4 or IPv6 address and port, e.g. "
                    "127.0.0.1:6123)\n", addr);
    free(host);
    return 2;
  }
  if (load_secret(cli->secret_file) != 0) {
    free(host);
    return 1;
  }
  flow_core_set_remote(host, port, g_secret, g_secret_len, cli->detached, cli->rest != NULL);
  free(host);
  return 0;
}
