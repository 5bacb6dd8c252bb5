#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/common.h"

/* ---- help ------------------------------------------------------------- */

static const char *general_help =
    "usage: flowlua [options] SCRIPT.lua [args...]   run a job script\n"
    "       flowlua [options] explain SCRIPT.lua [--format text|json|dot] [args...]\n"
    "       flowlua [options]                        the REPL on a terminal; else stdin is the script\n"
    "       flowlua [options] -e CODE [-i]           run CODE (then the REPL with -i)\n"
    "       flowlua [options] -i SCRIPT.lua          run the script, then the REPL\n"
    "       flowlua help [run|explain|repl|cluster]  help of a command\n"
    "cluster: flowlua jobmanager | taskmanager | run --jobmanager ADDR SCRIPT | list | cancel ID | savepoint ID\n"
    "\n"
    "options (before the script):\n"
    "  -p, --parallelism N     default parallelism (parallelism.default)\n"
    "  --set KEY=VALUE         a configuration option, Flink's key names:\n"
    "                          parallelism.default, execution.buffer-timeout,\n"
    "                          pipeline.auto-watermark-interval, execution.runtime-mode,\n"
    "                          taskmanager.numberOfTaskSlots, restart-strategy.type, ...\n"
    "  -s, --from-savepoint P  restore from a savepoint/checkpoint (execution.savepoint.path);\n"
    "      --from-checkpoint P the same (also accepted after the script)\n"
    "  --log-level LEVEL       error | warn | info | debug (default warn)\n"
    "  -q, --quiet             only errors (--log-level error)\n"
    "  -e CODE                 run CODE (repeatable)\n"
    "  -i                      enter the REPL after the script / -e code\n"
    "  -h, --help              this help\n"
    "  -v, --version           the version\n"
    "\n"
    "exit codes: 0 ok, 1 script error or failed job, 2 usage, 130 interrupted (Ctrl-C)\n"
    "docs/cli.md has the configuration keys and the REPL's helpers.\n";

static const char *run_help =
    "usage: flowlua [options] [run] SCRIPT.lua [args...]\n"
    "       flowlua [options] run --jobmanager HOST:PORT [--detached] [--secret-file F] SCRIPT.lua [args...]\n"
    "       flowlua [options] run --rest HOST:PORT [--detached] [--secret-file F] SCRIPT.lua [args...]\n"
    "\n"
    "Runs a job script. The script's arguments are in `arg` (arg[0] is the\n"
    "script) and in `...`; flow.params() parses --key value pairs of them.\n"
    "SCRIPT \"-\" reads the script from standard input.\n"
    "Ctrl-C cancels the running job (exit code 130); a second Ctrl-C exits at once.\n"
    "With --jobmanager the jobs go to that cluster (see `flowlua help cluster`):\n"
    "the script and the modules it loaded from its directory are uploaded with\n"
    "each job; --detached returns once the job is accepted. --rest HOST:PORT\n"
    "submits through the jobmanager's REST endpoint instead and follows the job\n"
    "by polling it (as Flink's CLI); with a secret every request is signed.\n";

static const char *cluster_help =
    "usage: flowlua jobmanager [--bind HOST:PORT] [--rest HOST:PORT|off] [--secret-file F] [--port-file F]\n"
    "       flowlua taskmanager [--jobmanager HOST:PORT] [--slots N] [--bind HOST] [--advertise HOST]\n"
    "                           [--secret-file F]\n"
    "       flowlua run --jobmanager HOST:PORT [--detached] SCRIPT.lua [args...]\n"
    "       flowlua run --rest HOST:PORT [--detached] SCRIPT.lua [args...]\n"
    "       flowlua list [--jobmanager HOST:PORT]\n"
    "       flowlua cancel [--jobmanager HOST:PORT] JOB_ID\n"
    "       flowlua savepoint [--jobmanager HOST:PORT] [--stop] JOB_ID [DIR]\n"
    "\n"
    "A standalone cluster as Flink's: one jobmanager (RPC on 127.0.0.1:6123, REST\n"
    "on 127.0.0.1:8081 by default) and taskmanagers that register with it.\n"
    "scripts/start-cluster.sh / stop-cluster.sh start and stop one locally.\n"
    "Everything binds to loopback unless told otherwise; binding elsewhere needs\n"
    "a cluster secret (--secret-file FILE, mode 600, or FLOWLUA_CLUSTER_SECRET)\n"
    "that taskmanagers and clients prove by challenge-response.\n"
    "--set heartbeat.interval=10s, heartbeat.timeout=50s, slot.request.timeout=5min\n"
    "tune the jobmanager and taskmanagers (Flink's keys and defaults).\n"
    "A taskmanager that loses its jobmanager cancels that jobmanager's tasks and\n"
    "registers again. REST: GET /overview, /jobs, /jobs/overview, /jobs/ID,\n"
    "/taskmanagers; PATCH /jobs/ID?mode=cancel; POST /jobs (docs/cluster.md).\n";

static const char *explain_help =
    "usage: flowlua [options] explain SCRIPT.lua [--format text|json|dot] [args...]\n"
    "\n"
    "Runs the script until its first execute(), then prints the plan\n"
    "(StreamGraph, JobGraph with chains, ExecutionGraph) instead of running it.\n";

static const char *repl_help =
    "usage: flowlua [options] [repl]    (or: flowlua -i SCRIPT.lua)\n"
    "\n"
    "The interactive prompt: `flow` and a ready `env` are in scope, expression\n"
    "results are printed, incomplete statements continue on a \">>\" line.\n"
    "  show(ds [, n])   run ds and print at most n records (default 20) as a table\n"
    "  explain(ds)      print the plan of ds's environment\n"
    "  job = env:execute_async(name)   run a job in the background\n"
    "  jobs()           list background jobs: id, name, status\n"
    "  cancel(id)       cancel a background job\n"
    "Tab completes globals, flow.* and methods (obj. / obj:); history is kept in\n"
    "$FLOWLUA_HISTORY or ~/.flowlua_history. Ctrl-C cancels the running job or\n"
    "clears the line; Ctrl-D exits.\n";

int flow_cli_help(const char *topic) {
  if (topic == NULL) fputs(general_help, stdout);
  else if (strcmp(topic, "run") == 0) fputs(run_help, stdout);
  else if (strcmp(topic, "explain") == 0) fputs(explain_help, stdout);
  else if (strcmp(topic, "repl") == 0) fputs(repl_help, stdout);
  else if (strcmp(topic, "cluster") == 0 || strcmp(topic, "jobmanager") == 0 || strcmp(topic, "taskmanager") == 0 ||
           strcmp(topic, "list") == 0 || strcmp(topic, "cancel") == 0 || strcmp(topic, "savepoint") == 0)
    fputs(cluster_help, stdout);
  else {
    fprintf(stderr, "flowlua: no help for '%s' (commands: run, explain, repl, cluster)\n", topic);
    return 2;
  }
  return 0;
}

static int usage_error(const char *fmt, const char *a) {
  fputs("flowlua: ", stderr);
  fprintf(stderr, fmt, a);
  fputs("\nTry 'flowlua --help'.\n", stderr);
  return 2;
}

/* ---- configuration keys -------------------------------------------------- */

typedef enum { K_INT_POS, K_INT, K_NUMBER, K_DURATION, K_BOOL, K_STRING, K_RUNTIME_MODE, K_RESTART, K_CP_MODE } kind_t;

static const struct {
  const char *key;
  kind_t kind;
} known_keys[] = {
    {"parallelism.default", K_INT_POS},
    {"pipeline.max-parallelism", K_INT_POS},
    {"taskmanager.numberOfTaskSlots", K_INT_POS},
    {"execution.runtime-mode", K_RUNTIME_MODE},
    {"execution.buffer-timeout", K_DURATION},
    {"pipeline.auto-watermark-interval", K_DURATION},
    {"pipeline.operator-chaining", K_BOOL},
    {"pipeline.operator-chaining.enabled", K_BOOL},
    {"pipeline.name", K_STRING},
    {"restart-strategy.type", K_RESTART},
    {"restart-strategy.fixed-delay.attempts", K_INT},
    {"restart-strategy.fixed-delay.delay", K_DURATION},
    {"restart-strategy.failure-rate.max-failures-per-interval", K_INT_POS},
    {"restart-strategy.failure-rate.failure-rate-interval", K_DURATION},
    {"restart-strategy.failure-rate.delay", K_DURATION},
    {"restart-strategy.exponential-delay.initial-backoff", K_DURATION},
    {"restart-strategy.exponential-delay.max-backoff", K_DURATION},
    {"restart-strategy.exponential-delay.backoff-multiplier", K_NUMBER},
    {"restart-strategy.exponential-delay.jitter-factor", K_NUMBER},
    {"restart-strategy.exponential-delay.reset-backoff-threshold", K_DURATION},
    {"restart-strategy.exponential-delay.attempts-before-reset-backoff", K_INT},
    {"execution.checkpointing.interval", K_DURATION},
    {"execution.checkpointing.mode", K_CP_MODE},
    {"execution.checkpointing.timeout", K_DURATION},
    {"execution.checkpointing.min-pause", K_DURATION},
    {"state.checkpoints.dir", K_STRING},
    {"execution.savepoint.path", K_STRING},
    {"heartbeat.interval", K_DURATION},
    {"heartbeat.timeout", K_DURATION},
    {"slot.request.timeout", K_DURATION},
    {"rest.port", K_INT},
    {"rest.address", K_STRING},
    {"rest.bind-address", K_STRING},
    {"metrics.reporter.prom.port", K_STRING},
};

static int parse_int(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return FLOW_EINVAL;
  *out = v;
  return 0;
}

/* Flink durations: "100", "100 ms", "2s", "1 min", "1h", "1d" -> ms. */
static int parse_duration(const char *s, long long *ms) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s) return FLOW_EINVAL;
  while (*end == ' ') end++;
  static const struct {
    const char *unit;
    long long ms;
  } units[] = {{"", 1},           {"ms", 1},         {"milli", 1},      {"millis", 1},      {"millisecond", 1},
               {"milliseconds", 1}, {"s", 1000},      {"sec", 1000},     {"secs", 1000},     {"second", 1000},
               {"seconds", 1000}, {"min", 60000},    {"m", 60000},      {"minute", 60000},  {"minutes", 60000},
               {"h", 3600000},    {"hour", 3600000}, {"hours", 3600000}, {"d", 86400000},    {"day", 86400000},
               {"days", 86400000}};
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strcasecmp(end, units[i].unit) == 0) {
      long long lim = (long long)(9e15 / (double)units[i].ms);
      if (v > lim || v < -lim) return FLOW_EINVAL; /* (no llabs: llabs(LLONG_MIN) is undefined) */
      *ms = v * units[i].ms;
      return 0;
    }
  }
  return FLOW_EINVAL;
}

/* Checks a value and writes its normalized form; FLOW_EINVAL with a reason. */
static int normalize(const char *key, const char *value, char *out, size_t size, const char **why) {
  kind_t kind = K_STRING;
  int known = 0;
  for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
    if (strcmp(known_keys[i].key, key) == 0) {
      kind = known_keys[i].kind;
      known = 1;
      break;
    }
  }
  if (!known) flow_log(FLOW_LOG_WARN, "unknown configuration key '%s' (passed on as given)", key);
  long long n;
  switch (kind) {
  case K_INT_POS:
  case K_INT:
    if (parse_int(value, &n) != 0 || n < (kind == K_INT_POS ? 1 : -1) || n > 1000000000) {
      *why = kind == K_INT_POS ? "a positive integer" : "an integer";
      return FLOW_EINVAL;
    }
    snprintf(out, size, "%lld", n);
    return 0;
  case K_NUMBER: {
    char *end;
    double d = strtod(value, &end);
    if (end == value || *end != '\0' || !isfinite(d)) {
      *why = "a number";
      return FLOW_EINVAL;
    }
    snprintf(out, size, "%s", value);
    return 0;
  }
  case K_DURATION:
    if (parse_duration(value, &n) != 0 || n < -1) {
      *why = "a duration (100, 100ms, 2s, 1min, ...)";
      return FLOW_EINVAL;
    }
    snprintf(out, size, "%lld", n);
    return 0;
  case K_BOOL:
    if (strcasecmp(value, "true") == 0) snprintf(out, size, "true");
    else if (strcasecmp(value, "false") == 0) snprintf(out, size, "false");
    else {
      *why = "true or false";
      return FLOW_EINVAL;
    }
    return 0;
  case K_RUNTIME_MODE:
    if (strcasecmp(value, "streaming") == 0) snprintf(out, size, "streaming");
    else if (strcasecmp(value, "batch") == 0) snprintf(out, size, "batch");
    else if (strcasecmp(value, "automatic") == 0) snprintf(out, size, "automatic");
    else {
      *why = "STREAMING, BATCH or AUTOMATIC";
      return FLOW_EINVAL;
    }
    return 0;
  case K_CP_MODE:
    if (strcasecmp(value, "exactly_once") == 0 || strcasecmp(value, "exactly-once") == 0)
      snprintf(out, size, "exactly_once");
    else if (strcasecmp(value, "at_least_once") == 0 || strcasecmp(value, "at-least-once") == 0)
      snprintf(out, size, "at_least_once");
    else {
      *why = "EXACTLY_ONCE or AT_LEAST_ONCE";
      return FLOW_EINVAL;
    }
    return 0;
  case K_RESTART: {
    static const struct {
      const char *in, *out;
    } kinds[] = {{"none", "none"},
                 {"off", "none"},
                 {"disable", "none"},
                 {"fixed-delay", "fixed-delay"},
                 {"fixeddelay", "fixed-delay"},
                 {"fixed_delay", "fixed-delay"},
                 {"failure-rate", "failure-rate"},
                 {"failurerate", "failure-rate"},
                 {"failure_rate", "failure-rate"},
                 {"exponential-delay", "exponential-delay"},
                 {"exponentialdelay", "exponential-delay"},
                 {"exponential_delay", "exponential-delay"}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
      if (strcasecmp(value, kinds[i].in) == 0) {
        snprintf(out, size, "%s", kinds[i].out);
        return 0;
      }
    }
    *why = "none, fixed-delay, failure-rate or exponential-delay";
    return FLOW_EINVAL;
  }
  case K_STRING:
    snprintf(out, size, "%s", value);
    return 0;
  }
  return 0;
}

static int add_config(flow_cli_t *cli, const char *key, size_t key_len, const char *value) {
  if (key_len == 0 || key_len >= sizeof(cli->config[0].key)) return usage_error("bad configuration key in '--set %s'", key);
  if (strlen(value) >= sizeof(cli->config[0].value)) return usage_error("configuration value too long: '%s'", value);
  char k[128];
  memcpy(k, key, key_len);
  k[key_len] = '\0';
  char norm[256];
  const char *why = "";
  if (normalize(k, value, norm, sizeof(norm), &why) != 0) {
    fprintf(stderr, "flowlua: %s: '%s' is not %s\nTry 'flowlua --help'.\n", k, value, why);
    return 2;
  }
  /* a later setting of the same key wins */
  int slot = cli->nconfig;
  for (int i = 0; i < cli->nconfig; i++)
    if (strcmp(cli->config[i].key, k) == 0) slot = i;
  if (slot == FLOW_CLI_MAX_CONFIG) return usage_error("too many --set options (at most 64)%s", "");
  snprintf(cli->config[slot].key, sizeof(cli->config[slot].key), "%s", k);
  snprintf(cli->config[slot].value, sizeof(cli->config[slot].value), "%s", norm);
  if (slot == cli->nconfig) cli->nconfig++;
  return 0;
}

/* ---- argv ---------------------------------------------------------------- */

/* "--name=value" or "--name value": the option's value, or NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *arg, const char *name) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) == 0 && arg[n] == '=') return arg + n + 1;
  if (strcmp(arg, name) == 0 && *i + 1 < argc) return argv[++*i];
  return NULL;
}

static int matches(const char *arg, const char *name) {
  size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int flow_cli_parse(flow_cli_t *cli, int argc, char **argv) {
  memset(cli, 0, sizeof(*cli));
  cli->command = FLOW_CMD_DEFAULT;
  cli->explain_format = "text";
  cli->log_level = FLOW_LOG_WARN;
  int quiet = 0, level_given = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0) break;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    const char *v;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      cli->command = FLOW_CMD_HELP;
      return 0;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      cli->command = FLOW_CMD_VERSION;
      return 0;
    } else if (strcmp(a, "-p") == 0 || matches(a, "--parallelism")) {
      v = strcmp(a, "-p") == 0 ? (i + 1 < argc ? argv[++i] : NULL) : option_value(argc, argv, &i, a, "--parallelism");
      if (v == NULL) return usage_error("%s needs a number", a);
      if (add_config(cli, "parallelism.default", strlen("parallelism.default"), v) != 0) return 2;
    } else if (matches(a, "--set")) {
      v = option_value(argc, argv, &i, a, "--set");
      if (v == NULL) return usage_error("%s needs KEY=VALUE", a);
      const char *eq = strchr(v, '=');
      if (eq == NULL) return usage_error("--set expects KEY=VALUE, got '%s'", v);
      if (add_config(cli, v, (size_t)(eq - v), eq + 1) != 0) return 2;
    } else if (strcmp(a, "-s") == 0 || matches(a, "--from-savepoint") || matches(a, "--from-checkpoint")) {
      v = strcmp(a, "-s") == 0 ? (i + 1 < argc ? argv[++i] : NULL)
          : option_value(argc, argv, &i, a, matches(a, "--from-savepoint") ? "--from-savepoint" : "--from-checkpoint");
      if (v == NULL) return usage_error("%s needs a savepoint or checkpoint path", a);
      if (add_config(cli, "execution.savepoint.path", strlen("execution.savepoint.path"), v) != 0) return 2;
    } else if (matches(a, "--log-level")) {
      v = option_value(argc, argv, &i, a, "--log-level");
      if (v == NULL) return usage_error("%s needs error, warn, info or debug", a);
      if (flow_log_parse_level(v, &cli->log_level) != 0)
        return usage_error("unknown log level '%s' (error, warn, info or debug)", v);
      level_given = 1;
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      quiet = 1;
    } else if (strcmp(a, "--web") == 0) {
      cli->web = 1;
    } else if (strcmp(a, "-e") == 0) {
      if (i + 1 >= argc) return usage_error("%s needs CODE", a);
      if (cli->nexec == FLOW_CLI_MAX_EXEC) return usage_error("too many -e options%s", "");
      cli->exec[cli->nexec++] = argv[++i];
    } else if (strcmp(a, "-i") == 0) {
      cli->interactive = 1;
    } else {
      return usage_error("unknown option '%s'", a);
    }
  }
  if (quiet && !level_given) cli->log_level = FLOW_LOG_ERROR;
  flow_log_set_level(cli->log_level);
  if (i >= argc) return 0;

  const char *cmd = argv[i];
  if (strcmp(cmd, "help") == 0) {
    cli->command = FLOW_CMD_HELP;
    cli->help_topic = i + 1 < argc ? argv[i + 1] : NULL;
    return 0;
  }
  if (strcmp(cmd, "repl") == 0) {
    cli->command = FLOW_CMD_REPL;
    if (i + 1 < argc) return usage_error("repl takes no arguments (got '%s')", argv[i + 1]);
    return 0;
  }
  if (strcmp(cmd, "explain") == 0) {
    cli->command = FLOW_CMD_EXPLAIN;
    if (i + 1 >= argc) return usage_error("explain needs a SCRIPT%s", "");
    cli->script = argv[i + 1];
    /* --format may stand anywhere after the script; the rest are its arguments */
    cli->args = argv + i + 2;
    int n = 0;
    for (int j = i + 2; j < argc; j++) {
      if (strcmp(argv[j], "--format") == 0 && j + 1 < argc) cli->explain_format = argv[++j];
      else if (strncmp(argv[j], "--format=", 9) == 0) cli->explain_format = argv[j] + 9;
      else cli->args[n++] = argv[j];
    }
    cli->nargs = n;
    const char *f = cli->explain_format;
    if (strcmp(f, "text") != 0 && strcmp(f, "json") != 0 && strcmp(f, "dot") != 0) {
      fprintf(stderr, "flowlua: unknown explain format '%s' (text, json or dot)\n", f);
      return 2;
    }
    return 0;
  }
  if (strcmp(cmd, "jobmanager") == 0 || strcmp(cmd, "taskmanager") == 0 || strcmp(cmd, "list") == 0 ||
      strcmp(cmd, "cancel") == 0 || strcmp(cmd, "savepoint") == 0) {
    cli->command = FLOW_CMD_CLUSTER;
    cli->cluster_command = cmd;
    cli->args = argv + i + 1;
    cli->nargs = argc - i - 1;
    return 0;
  }
  if (strcmp(cmd, "run") == 0) {
    cli->command = FLOW_CMD_RUN;
    i++;
    /* cluster options of run, before the script */
    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "-") != 0) {
      const char *a = argv[i], *v;
      if (matches(a, "--jobmanager") || strcmp(a, "-m") == 0) {
        v = strcmp(a, "-m") == 0 ? (i + 1 < argc ? argv[++i] : NULL) : option_value(argc, argv, &i, a, "--jobmanager");
        if (v == NULL) return usage_error("%s needs HOST:PORT", a);
        cli->jobmanager = v;
      } else if (matches(a, "--rest")) {
        v = option_value(argc, argv, &i, a, "--rest");
        if (v == NULL) return usage_error("%s needs HOST:PORT", a);
        cli->rest = v;
      } else if (strcmp(a, "--detached") == 0 || strcmp(a, "-d") == 0) {
        cli->detached = 1;
      } else if (matches(a, "--secret-file")) {
        v = option_value(argc, argv, &i, a, "--secret-file");
        if (v == NULL) return usage_error("%s needs a FILE", a);
        cli->secret_file = v;
      } else {
        return usage_error("unknown option of run '%s'", a);
      }
      i++;
    }
    if (i >= argc) return usage_error("run needs a SCRIPT%s", "");
    if (cli->jobmanager != NULL && cli->rest != NULL) return usage_error("--jobmanager or --rest, not both%s", "");
    if (cli->detached && cli->jobmanager == NULL && cli->rest == NULL)
      return usage_error("--detached needs --jobmanager or --rest%s", "");
  }
  cli->script = argv[i];
  cli->args = argv + i + 1;
  cli->nargs = argc - i - 1;
  return 0;
}

void flow_cli_push_config(const flow_cli_t *cli, lua_State *L) {
  lua_createtable(L, 0, cli->nconfig + 1);
  for (int i = 0; i < cli->nconfig; i++) {
    lua_pushstring(L, cli->config[i].value);
    lua_setfield(L, -2, cli->config[i].key);
  }
  lua_pushstring(L, flow_log_level_name(cli->log_level));
  lua_setfield(L, -2, "flowlua.log-level");
  lua_setglobal(L, "FLOWLUA_CONFIG");
}
