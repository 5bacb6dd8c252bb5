/* flowlua's command line: global options, the command, its arguments. */
#ifndef FLOW_CLI_OPTIONS_H
#define FLOW_CLI_OPTIONS_H

#include <lua.h>

#include "cli/log.h"

#define FLOW_CLI_MAX_CONFIG 64
#define FLOW_CLI_MAX_EXEC 32

typedef enum {
  FLOW_CMD_DEFAULT, /* a script, -e code, the REPL on a terminal, or stdin */
  FLOW_CMD_RUN,     /* flowlua run SCRIPT */
  FLOW_CMD_EXPLAIN,
  FLOW_CMD_REPL,
  FLOW_CMD_HELP,
  FLOW_CMD_VERSION,
  FLOW_CMD_CLUSTER, /* jobmanager, taskmanager, list, cancel, savepoint: src/cli/cluster_cmd.c */
} flow_cli_command_t;

typedef struct flow_cli_config {
  char key[128];
  char value[256];
} flow_cli_config_t;

typedef struct flow_cli {
  flow_cli_command_t command;
  const char *script; /* NULL: none; "-": stdin */
  char **args;        /* the script's arguments */
  int nargs;
  const char *exec[FLOW_CLI_MAX_EXEC]; /* -e CODE, in order */
  int nexec;
  int interactive; /* -i */
  const char *explain_format;
  const char *help_topic;
  flow_log_level_t log_level;
  flow_cli_config_t config[FLOW_CLI_MAX_CONFIG];
  int nconfig;
  /* cluster mode */
  const char *cluster_command; /* FLOW_CMD_CLUSTER: its name; args/nargs its arguments */
  const char *jobmanager;      /* run --jobmanager HOST:PORT */
  const char *rest;            /* run --rest HOST:PORT: submit through the REST endpoint */
  int detached;                /* run --detached */
  const char *secret_file;     /* --secret-file FILE */
  int web;                     /* --web: REST + dashboard, kept up after the job until Ctrl-C */
} flow_cli_t;

/* Parses argv. Returns 0, or 2 (a usage error, already reported). */
int flow_cli_parse(flow_cli_t *cli, int argc, char **argv);
/* Prints the help of a command (NULL: the general help) to stdout;
 * returns 0, or 2 for an unknown command. */
int flow_cli_help(const char *topic);
/* Sets the global FLOWLUA_CONFIG = { [key] = "value", ... }. */
void flow_cli_push_config(const flow_cli_t *cli, lua_State *L);

#endif
