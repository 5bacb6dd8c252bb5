/* The REPL: libedit for line editing, history and completion; the Lua side
 * (src/cli/repl.lua, embedded) evaluates, prints and completes. */
#include "cli/repl.h"

#include <errno.h>
#include <histedit.h>
#include <lauxlib.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "cli/log.h"
#include "cli_repl_lua.h" /* luaJIT_BC_flowlua_repl, generated from src/cli/repl.lua */
#include "lua/core.h"
#include "lua/state.h"
#include "util/common.h"

#define REPL_KEY "flowlua.repl" /* registry: the Lua side's table */

static lua_State *repl_L;
static volatile sig_atomic_t evaluating;     /* Lua code of the prompt is running */
static volatile sig_atomic_t sigint_pending; /* Ctrl-C at the prompt: clear the line */
static int line_interrupted;

/* ---- signals -------------------------------------------------------- */

static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* Ctrl-C: cancels the foreground job, stops Lua code running at the prompt,
 * or clears the line being edited (Ctrl-D exits). A second Ctrl-C while the
 * first is still unanswered (JIT-compiled code ignores hooks; a task may
 * never look at its cancel flag) exits at once, as plain luajit would. */
static volatile sig_atomic_t unanswered;

static void on_sigint(int sig) {
  (void)sig;
  if (flow_core_waiting_for_job() || evaluating) {
    if (unanswered) _exit(130);
    unanswered = 1;
  }
  if (flow_core_waiting_for_job()) {
    flow_core_interrupt();
  } else if (evaluating && repl_L != NULL) {
    lua_sethook(repl_L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
  } else {
    sigint_pending = 1;
  }
}

void flow_repl_install_signals(lua_State *L) {
  repl_L = L;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked read sees EINTR */
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* ---- the Lua side ------------------------------------------------------ */

int flow_repl_setup(lua_State *L) {
  if (luaL_loadbuffer(L, (const char *)luaJIT_BC_flowlua_repl, luaJIT_BC_flowlua_repl_SIZE, "=flowlua.repl") != 0 ||
      flow_lua_pcall(L, 0, 1) != 0) {
    fprintf(stderr, "flowlua: %s\n", flow_lua_error_message(L, -1));
    lua_pop(L, 1);
    return 1;
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, REPL_KEY);
  lua_getfield(L, -1, "setup");
  if (flow_lua_pcall(L, 0, 0) != 0) {
    fprintf(stderr, "flowlua: %s\n", flow_lua_error_message(L, -1));
    lua_pop(L, 2);
    return 1;
  }
  lua_pop(L, 1);
  return 0;
}

/* Pushes repl[name]. */
static void repl_fn(lua_State *L, const char *name) {
  lua_getfield(L, LUA_REGISTRYINDEX, REPL_KEY);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

/* Evaluates a chunk: 1 = more lines needed, 0 = done (ran or failed). */
static int eval(lua_State *L, const char *src, int final, int *failed) {
  int top = lua_gettop(L);
  repl_fn(L, "eval");
  lua_pushstring(L, src);
  lua_pushboolean(L, final);
  evaluating = 1;
  int rc = flow_lua_pcall(L, 2, 1);
  evaluating = 0;
  unanswered = 0; /* the statement ended: a Ctrl-C was answered */
  lua_sethook(L, NULL, 0, 0);
  flow_core_clear_interrupt(); /* a canceled foreground job is over */
  int more = 0;
  if (rc != 0) {
    fprintf(stderr, "%s\n", flow_lua_error_message(L, -1));
    *failed = 1;
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    more = 1;
  } else {
    *failed = !lua_toboolean(L, -1);
  }
  lua_settop(L, top);
  fflush(stdout);
  fflush(stderr);
  return more;
}

/* ---- libedit ----------------------------------------------------------- */

static const char *prompt = "> ";
static char *prompt_fn(EditLine *e) {
  (void)e;
  return (char *)prompt;
}

/* Reads one character; Ctrl-C (a signal, ISIG stays on) arrives as ^C. */
static int getc_fn(EditLine *e, wchar_t *wc) {
  (void)e;
  unsigned char buf[8];
  size_t n = 0;
  sigset_t block, orig;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  for (;;) {
    sigprocmask(SIG_BLOCK, &block, &orig);
    if (sigint_pending) {
      sigint_pending = 0;
      sigprocmask(SIG_SETMASK, &orig, NULL);
      *wc = 3;
      return 1;
    }
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    int pr = ppoll(&p, 1, NULL, &orig); /* SIGINT is let in only while waiting */
    sigprocmask(SIG_SETMASK, &orig, NULL);
    if (pr < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    ssize_t r = read(STDIN_FILENO, &buf[n], 1);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    if (r == 0) return 0;
    n++;
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    size_t k = mbrtowc(wc, (const char *)buf, n, &st);
    if (k == (size_t)-2 && n < sizeof(buf)) continue; /* the rest of a UTF-8 sequence */
    if (k == (size_t)-1 || k == (size_t)-2) *wc = buf[0];
    return 1;
  }
}

static unsigned char interrupt_fn(EditLine *e, int ch) {
  (void)ch;
  const LineInfo *li = el_line(e);
  el_cursor(e, (int)(li->lastchar - li->cursor));
  line_interrupted = 1;
  return CC_NEWLINE;
}

/* Tab: asks the Lua side for the completions of the text before the cursor;
 * inserts their common prefix, or lists them. */
static unsigned char complete_fn(EditLine *e, int ch) {
  (void)ch;
  lua_State *L = repl_L;
  const LineInfo *li = el_line(e);
  int top = lua_gettop(L);
  repl_fn(L, "complete");
  lua_pushlstring(L, li->buffer, (size_t)(li->cursor - li->buffer));
  if (flow_lua_pcall(L, 1, 2) != 0 || !lua_istable(L, -1)) {
    lua_settop(L, top);
    return CC_REFRESH_BEEP;
  }
  size_t start = (size_t)lua_tointeger(L, -2);
  size_t typed = (size_t)(li->cursor - li->buffer) - start;
  int n = (int)lua_objlen(L, -1);
  if (n == 0) {
    lua_settop(L, top);
    return CC_REFRESH_BEEP;
  }
  /* the longest common prefix of the candidates */
  lua_rawgeti(L, -1, 1);
  size_t common;
  const char *first = lua_tolstring(L, -1, &common);
  for (int i = 2; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    const char *c = lua_tostring(L, -1);
    size_t j = 0;
    while (j < common && c[j] == first[j]) j++;
    common = j;
    lua_pop(L, 1);
  }
  unsigned char rc = CC_REFRESH;
  if (common > typed) {
    char *ins = strndup(first + typed, common - typed);
    if (ins != NULL) el_insertstr(e, ins);
    free(ins);
  } else if (n > 1) {
    /* list them, in columns, below the line */
    size_t width = 0;
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, i);
      if (lua_objlen(L, -1) > width) width = lua_objlen(L, -1);
      lua_pop(L, 1);
    }
    int cols = (int)(80 / (width + 2));
    if (cols < 1) cols = 1;
    fputc('\n', stdout);
    for (int i = 1; i <= n && i <= 400; i++) {
      lua_rawgeti(L, -2, i);
      fprintf(stdout, "%-*s", (int)width + 2, lua_tostring(L, -1));
      lua_pop(L, 1);
      if (i % cols == 0 || i == n) fputc('\n', stdout);
    }
    fflush(stdout);
    rc = CC_REDISPLAY;
  } else {
    rc = CC_REFRESH_BEEP;
  }
  lua_settop(L, top);
  return rc;
}

static const char *history_path(char *buf, size_t size) {
  const char *p = getenv("FLOWLUA_HISTORY");
  if (p != NULL && *p != '\0') return p;
  const char *home = getenv("HOME");
  if (home == NULL || *home == '\0') return NULL;
  snprintf(buf, size, "%s/.flowlua_history", home);
  return buf;
}

/* The statement being typed: lines joined by '\n' until eval() finds it
 * complete. */
typedef struct {
  char *s; /* NULL when empty */
  size_t len;
} chunk_t;

/* Appends one line (len bytes, no newline); FLOW_ENOMEM when out of memory. */
static int chunk_add(chunk_t *c, const char *line, size_t len) {
  char *grown = realloc(c->s, c->len + len + 2);
  if (grown == NULL) return FLOW_ENOMEM;
  c->s = grown;
  if (c->len > 0) c->s[c->len++] = '\n';
  memcpy(c->s + c->len, line, len);
  c->len += len;
  c->s[c->len] = '\0';
  return 0;
}

static void chunk_clear(chunk_t *c) {
  free(c->s);
  c->s = NULL;
  c->len = 0;
}

/* The length of line without its trailing newline characters. */
static size_t line_len(const char *line, size_t len) {
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  return len;
}

static int run_edit(lua_State *L) {
  setlocale(LC_CTYPE, "");
  HistEvent ev;
  History *hist = history_init();
  history(hist, &ev, H_SETSIZE, 1000);
  history(hist, &ev, H_SETUNIQUE, 1);
  char pathbuf[4096];
  const char *hpath = history_path(pathbuf, sizeof(pathbuf));
  if (hpath != NULL) history(hist, &ev, H_LOAD, hpath);

  EditLine *e = el_init("flowlua", stdin, stdout, stderr);
  el_set(e, EL_EDITOR, "emacs");
  el_set(e, EL_SIGNAL, 0);
  el_set(e, EL_PROMPT, prompt_fn);
  el_set(e, EL_HIST, history, hist);
  el_set(e, EL_GETCFN, getc_fn);
  /* el_wset: el_set(EL_ADDFN) leaks its wcsdup'ed copies of the names */
  el_wset(e, EL_ADDFN, L"flowlua-complete", L"complete a name", complete_fn);
  el_set(e, EL_BIND, "^I", "flowlua-complete", NULL);
  el_wset(e, EL_ADDFN, L"flowlua-interrupt", L"clear the line", interrupt_fn);
  el_set(e, EL_BIND, "^C", "flowlua-interrupt", NULL);
  el_source(e, NULL); /* ~/.editrc */

  printf("flowlua %s (LuaJIT) - `flow` and `env` are ready; help() lists the helpers; Ctrl-D exits\n",
         FLOWLUA_VERSION);
  fflush(stdout);
  chunk_t chunk = {0};
  int failed = 0;
  for (;;) {
    prompt = chunk.s == NULL ? "> " : ">> ";
    int count = 0;
    line_interrupted = 0;
    const char *line = el_gets(e, &count);
    if (line_interrupted) {
      fputs("^C\n", stdout);
      fflush(stdout);
      chunk_clear(&chunk);
      continue;
    }
    if (line == NULL || count <= 0) break; /* Ctrl-D */
    size_t len = line_len(line, strlen(line));
    if (len > 0) {
      char *entry = strndup(line, len);
      if (entry != NULL) {
        history(hist, &ev, H_ENTER, entry);
        if (hpath != NULL) history(hist, &ev, H_SAVE, hpath);
      }
      free(entry);
    }
    if (chunk_add(&chunk, line, len) != 0) break;
    if (eval(L, chunk.s, 0, &failed)) continue; /* incomplete: a ">>" line follows */
    chunk_clear(&chunk);
  }
  chunk_clear(&chunk);
  fputc('\n', stdout);
  el_end(e);
  history_end(hist);
  return 0;
}

/* Not a terminal: lines from stdin, no prompt, no editing. */
static int run_plain(lua_State *L) {
  chunk_t chunk = {0};
  char *line = NULL; /* getline: lines of any length */
  size_t line_cap = 0;
  ssize_t got;
  int failed = 0;
  while ((got = getline(&line, &line_cap, stdin)) >= 0) {
    if (chunk_add(&chunk, line, line_len(line, (size_t)got)) != 0) break;
    if (eval(L, chunk.s, 0, &failed)) continue;
    chunk_clear(&chunk);
  }
  if (chunk.s != NULL) eval(L, chunk.s, 1, &failed); /* reports the incomplete statement */
  chunk_clear(&chunk);
  free(line);
  return 0;
}

int flow_repl_run(lua_State *L) {
  repl_L = L;
  if (isatty(STDIN_FILENO)) return run_edit(L);
  return run_plain(L);
}
