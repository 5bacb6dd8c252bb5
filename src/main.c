/* flowlua: the command line. The only place that parses command lines
 * (src/cli/options.c does the parsing; docs/cli.md documents it).
 *
 *   flowlua [options] SCRIPT.lua [args...]        run a job script
 *   flowlua [options] explain SCRIPT.lua [...]    print the plan, run nothing
 *   flowlua [options]                             the REPL (a terminal) / stdin as a script
 *   flowlua -e CODE | -i SCRIPT | help CMD | --version | --help */
#include <lauxlib.h>
#include <signal.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cluster_cmd.h"
#include "cli/log.h"
#include "cli/options.h"
#include "cli/repl.h"
#include "cluster/local_monitor.h"
#include "lua/core.h"
#include "lua/state.h"

/* Ctrl-C: the first asks the running job to cancel (every thread is
 * joined, exit code 130); a second one exits at once. */
static volatile sig_atomic_t sigint_count;
static volatile sig_atomic_t serving; /* --web after the script: Ctrl-C ends it */

static void on_sigint(int sig) {
  (void)sig;
  if (serving) {
    serving = 0;
    return;
  }
  /* nothing to cancel, or asked twice: leave now */
  if (sigint_count++ > 0 || !flow_core_waiting_for_job()) _exit(130);
  flow_core_interrupt();
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* a closed stdout or socket is an error, not a kill */
}

/* Sets the global `arg` as the standalone lua interpreter does. */
static void set_args(lua_State *L, const char *script, char **argv, int argc) {
  lua_createtable(L, argc, 1);
  lua_pushstring(L, script);
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "arg");
}

/* package.path gets the script's directory, so its own modules are found. */
static void add_script_dir(lua_State *L, const char *script) {
  const char *slash = strrchr(script, '/');
  char dir[4096] = ".";
  if (slash != NULL && (size_t)(slash - script) < sizeof(dir)) {
    memcpy(dir, script, (size_t)(slash - script));
    dir[slash - script] = '\0';
  }
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

/* Is the error value flow._EXPLAINED (explain mode ended the script)? */
static int is_explained(lua_State *L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_getfield(L, -1, "flow");
  int yes = 0;
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "_EXPLAINED");
    yes = lua_rawequal(L, -1, -5);
    lua_pop(L, 1);
  }
  lua_pop(L, 3);
  return yes;
}

static int run_script(lua_State *L, const char *script, char **argv, int argc, const char *explain) {
  int from_stdin = script == NULL || strcmp(script, "-") == 0;
  set_args(L, from_stdin ? "-" : script, argv, argc);
  add_script_dir(L, from_stdin ? "./stdin" : script);
  flow_core_set_script(from_stdin ? "-" : script);
  if (explain != NULL) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "flow");
    if (flow_lua_pcall(L, 1, 1) != 0) {
      fprintf(stderr, "flowlua: %s\n", flow_lua_error_message(L, -1));
      return 1;
    }
    lua_pushstring(L, explain);
    lua_setfield(L, -2, "_explain_format");
    lua_pop(L, 1);
  }
  if (luaL_loadfile(L, from_stdin ? NULL : script) != 0) {
    fprintf(stderr, "flowlua: %s\n", flow_lua_error_message(L, -1));
    return 1;
  }
  for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  if (flow_lua_pcall(L, argc, 0) != 0) {
    if (explain != NULL && is_explained(L)) return 0;
    fprintf(stderr, "flowlua: %s\n", flow_lua_error_message(L, -1));
    return 1;
  }
  if (explain != NULL) {
    fprintf(stderr, "flowlua: %s never called execute(): nothing to explain\n", from_stdin ? "stdin" : script);
    return 1;
  }
  return 0;
}

/* -e CODE: runs as a chunk named "=(command line)". */
static int run_code(lua_State *L, const char *code) {
  if (luaL_loadbuffer(L, code, strlen(code), "=(command line)") != 0 || flow_lua_pcall(L, 0, 0) != 0) {
    fprintf(stderr, "flowlua: %s\n", flow_lua_error_message(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

static int exit_code(int rc) {
  if (flow_core_interrupted()) return 130; /* even if the script caught the cancel */
  return rc;
}

int main(int argc, char **argv) {
  flow_cli_t cli;
  int rc = flow_cli_parse(&cli, argc, argv);
  if (rc != 0) return rc;
  if (cli.command == FLOW_CMD_VERSION) {
    printf("flowlua %s (%s, libuv %s)\n", FLOWLUA_VERSION, LUAJIT_VERSION, uv_version_string());
    return 0;
  }
  if (cli.command == FLOW_CMD_HELP) return flow_cli_help(cli.help_topic);
  if (cli.command == FLOW_CMD_CLUSTER) {
    signal(SIGPIPE, SIG_IGN);
    return flow_cli_cluster(&cli);
  }
  if ((rc = flow_cli_setup_remote(&cli)) != 0) return rc;
  if ((rc = flow_cli_setup_rest(&cli)) != 0) return rc;

  /* what runs: a script, -e code, and/or the REPL */
  int has_script = cli.script != NULL;
  int repl = cli.command == FLOW_CMD_REPL || cli.interactive ||
             (cli.command == FLOW_CMD_DEFAULT && !has_script && cli.nexec == 0 && isatty(STDIN_FILENO));
  if (!has_script && !repl && cli.nexec == 0 && cli.command == FLOW_CMD_DEFAULT) cli.script = "-"; /* piped stdin */

  lua_State *L = flow_lua_new_state();
  if (L == NULL) {
    flow_log(FLOW_LOG_ERROR, "cannot create a Lua state");
    return 1;
  }
  flow_log_open_lua(L);
  flow_cli_push_config(&cli, L);
  if (repl) flow_repl_install_signals(L);
  else install_signals();
  /* the live progress line: on a terminal, unless --quiet; not in the REPL */
  flow_core_set_progress(!repl && cli.log_level > FLOW_LOG_ERROR && isatty(STDERR_FILENO));
  flow_log(FLOW_LOG_DEBUG, "configuration: %d option(s); log level %s", cli.nconfig,
           flow_log_level_name(cli.log_level));

  rc = 0;
  if (repl && flow_repl_setup(L) != 0) rc = 1;
  for (int i = 0; rc == 0 && i < cli.nexec; i++) rc = run_code(L, cli.exec[i]);
  if (rc == 0 && cli.script != NULL) {
    if (cli.command == FLOW_CMD_EXPLAIN) rc = run_script(L, cli.script, cli.args, cli.nargs, cli.explain_format);
    else rc = run_script(L, cli.script, cli.args, cli.nargs, NULL);
  }
  if (repl) {
    /* as lua -i: the REPL starts even when the script failed */
    flow_core_clear_interrupt();
    rc = flow_repl_run(L);
  } else {
    rc = exit_code(rc);
  }
  fflush(stdout);
  if (cli.web && !repl && !flow_core_interrupted() && flow_local_monitor_port() > 0) {
    /* --web: the finished jobs stay on view until Ctrl-C */
    fprintf(stderr, "flowlua: the dashboard stays at http://127.0.0.1:%d/ until Ctrl-C\n", flow_local_monitor_port());
    sigint_count = 0;
    serving = 1;
    while (serving) pause();
  }
  lua_close(L);
  flow_local_monitor_stop();
  return rc;
}
