/* flowlua: the command line. The only place that parses command lines.
 *
 *   flowlua SCRIPT.lua [args...]                  run a job script
 *   flowlua explain SCRIPT.lua [--format F] [...] print the plan, run nothing
 *   flowlua                                       interactive REPL
 *   flowlua --version | --help */
#include <lauxlib.h>
#include <signal.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lua/core.h"
#include "lua/state.h"

static const char *usage =
    "usage: flowlua SCRIPT.lua [args...]      run a job script\n"
    "       flowlua explain SCRIPT.lua [--format text|json|dot] [args...]\n"
    "       flowlua                           interactive REPL\n"
    "       flowlua --version | --help\n";

/* Ctrl-C: the first asks the running job to cancel (every thread is
 * joined, exit code 130); a second one exits at once. */
static volatile sig_atomic_t sigint_count;

static void on_sigint(int sig) {
  (void)sig;
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
  set_args(L, script, argv, argc);
  add_script_dir(L, script);
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
  if (luaL_loadfile(L, script) != 0) {
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
    fprintf(stderr, "flowlua: %s never called execute(): nothing to explain\n", script);
    return 1;
  }
  return 0;
}

/* A line REPL: each line runs as a chunk; expressions print their values. */
static int repl(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "flow");
  if (flow_lua_pcall(L, 1, 1) != 0) {
    fprintf(stderr, "flowlua: %s\n", flow_lua_error_message(L, -1));
    return 1;
  }
  lua_setglobal(L, "flow");
  if (luaL_dostring(L, "env = flow.env()") != 0) return 1;
  int tty = isatty(0);
  if (tty) printf("flowlua %s (LuaJIT) — `flow` and `env` are ready; Ctrl-D exits\n", FLOWLUA_VERSION);
  char line[8192];
  for (;;) {
    if (tty) {
      fputs("> ", stdout);
      fflush(stdout);
    }
    if (fgets(line, sizeof(line), stdin) == NULL) break;
    lua_settop(L, 0);
    lua_pushfstring(L, "return %s", line);
    if (luaL_loadbuffer(L, lua_tostring(L, -1), lua_objlen(L, -1), "=stdin") != 0) {
      lua_settop(L, 0);
      if (luaL_loadbuffer(L, line, strlen(line), "=stdin") != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        continue;
      }
    } else {
      lua_remove(L, 1);
    }
    if (flow_lua_pcall(L, 0, LUA_MULTRET) != 0) {
      fprintf(stderr, "%s\n", flow_lua_error_message(L, -1));
      continue;
    }
    int n = lua_gettop(L);
    if (n > 0) {
      lua_getglobal(L, "print");
      lua_insert(L, 1);
      flow_lua_pcall(L, n, 0);
    }
  }
  if (tty) putchar('\n');
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
    printf("flowlua %s (%s, libuv)\n", FLOWLUA_VERSION, LUAJIT_VERSION);
    return 0;
  }
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(usage, stdout);
    return 0;
  }
  lua_State *L = flow_lua_new_state();
  if (L == NULL) {
    fputs("flowlua: cannot create a Lua state\n", stderr);
    return 1;
  }
  install_signals();
  int rc;
  if (argc < 2) {
    rc = repl(L);
  } else if (strcmp(argv[1], "explain") == 0) {
    if (argc < 3) {
      fputs(usage, stderr);
      lua_close(L);
      return 2;
    }
    const char *fmt = "text";
    char *rest[256];
    int nrest = 0;
    for (int i = 3; i < argc && nrest < 256; i++) {
      if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) fmt = argv[++i];
      else rest[nrest++] = argv[i];
    }
    if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0 && strcmp(fmt, "dot") != 0) {
      fprintf(stderr, "flowlua: unknown explain format '%s' (text, json or dot)\n", fmt);
      lua_close(L);
      return 2;
    }
    rc = run_script(L, argv[2], rest, nrest, fmt);
  } else if (argv[1][0] == '-') {
    fprintf(stderr, "flowlua: unknown option '%s'\n%s", argv[1], usage);
    rc = 2;
  } else {
    rc = run_script(L, argv[1], argv + 2, argc - 2, NULL);
  }
  fflush(stdout);
  lua_close(L);
  if (rc != 0 && flow_core_interrupted()) return 130;
  return rc;
}
