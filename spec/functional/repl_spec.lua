-- The REPL in a real terminal (tmux): completion, history across restarts,
-- multi-line input, show(), background jobs, Ctrl-C and Ctrl-D.
local h = require("helpers.flowlua")

local status = os.execute("command -v tmux >/dev/null 2>&1")
local has_tmux = status == 0 or status == true
local socket = "flowlua-spec-" .. os.time() .. "-" .. math.random(1e9)
local n = 0

local sh = h.sh

local function tmux(args) return sh("tmux -L " .. socket .. " " .. args) end

local function sleep(s) os.execute("sleep " .. s) end

local Session = {}
Session.__index = Session

--- Starts flowlua in a fresh 200x50 terminal; after it exits the pane
--- shows "EXITED <code>".
local function start(env)
  n = n + 1
  local name = "s" .. n
  local vars = ""
  for k, v in pairs(env or {}) do vars = vars .. k .. "=" .. h.quote(v) .. " " end
  local cmd = vars .. h.quote(h.bin) .. "; echo EXITED $?; sleep 30"
  tmux("new-session -d -s " .. name .. " -x 200 -y 50 " .. h.quote(cmd))
  local s = setmetatable({ name = name }, Session)
  s:wait_for("Ctrl%-D exits")
  return s
end

function Session:screen() return tmux("capture-pane -p -t " .. self.name) end
function Session:type(text) tmux("send-keys -t " .. self.name .. " -l " .. h.quote(text)) end
function Session:keys(...) tmux("send-keys -t " .. self.name .. " " .. table.concat({ ... }, " ")) end
function Session:line(text)
  self:type(text)
  self:keys("Enter")
end
--- Waits until the screen matches the pattern; returns the screen.
function Session:wait_for(pattern, timeout)
  local deadline = os.time() + (timeout or 20)
  local screen
  repeat
    screen = self:screen()
    if screen:find(pattern) then return screen end
    sleep(0.1)
  until os.time() > deadline
  error("timed out waiting for " .. pattern .. " on the screen:\n" .. screen, 2)
end
function Session:kill() tmux("kill-session -t " .. self.name) end

describe("repl", function()
  local history, sessions

  -- a session that lives through the whole describe: the tmux server exits
  -- with its last session, and a test starting while it exits finds none
  setup(function()
    if has_tmux then tmux("new-session -d -s keepalive 'sleep 3600'") end
  end)

  before_each(function()
    if not has_tmux then return end
    history = h.tmpname(".history")
    sessions = {}
  end)
  after_each(function()
    if not has_tmux then return end
    for _, s in ipairs(sessions) do s:kill() end
    os.remove(history)
  end)
  teardown(function()
    if has_tmux then tmux("kill-server") end
  end)

  local function repl()
    local s = start({ FLOWLUA_HISTORY = history })
    sessions[#sessions + 1] = s
    return s
  end

  it("completes flow.wind<Tab> to flow.windows and methods after obj:", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:type("flow.wind")
    s:keys("Tab")
    s:wait_for("> flow%.windows")
    s:type(".tumbling_e")
    s:keys("Tab")
    s:wait_for("> flow%.windows%.tumbling_event_time")
    s:keys("C-u")
    s:type("env:from_seq")
    s:keys("Tab")
    s:wait_for("> env:from_sequence")
  end)

  it("keeps history across restarts (FLOWLUA_HISTORY)", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:line("marker_value = 4242")
    s:wait_for("> marker_value = 4242\n>")
    s:keys("C-d")
    s:wait_for("EXITED 0")
    assert.truthy((h.read(history) or ""):find("marker_value", 1, true))
    local s2 = repl()
    s2:keys("Up")
    s2:wait_for("> marker_value = 4242")
  end)

  it("continues an incomplete statement on >> lines", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:line("function twice(x)")
    s:wait_for("\n>>")
    s:line("  return 2 * x")
    s:line("end")
    s:line("twice(21)")
    s:wait_for("\n42\n")
  end)

  it("show(ds, n) prints the collected records as an aligned table", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:line('env:set_parallelism(1) ds = env:from_elements({"apple", 3}, {"kiwi", 12}, {"fig", 7})')
    s:line("show(ds, 3)")
    local screen = s:wait_for("%(3 records%)")
    assert.truthy(screen:find("f1    | f2", 1, true), screen)
    assert.truthy(screen:find("apple |  3", 1, true), screen)
    assert.truthy(screen:find("kiwi  | 12", 1, true), screen)
    -- the stream stays usable at the prompt
    s:line("show(ds:filter(function(r) return r[2] > 5 end))")
    s:wait_for("%(2 records%)")
    -- a collected result is shown as a table too
    s:line("r = ds:execute_and_collect() show(r, 2)")
    s:wait_for("%(1 more not shown%)")
  end)

  it("prints an error with its position and no builtin frames", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:line('error("boom")')
    local screen = s:wait_for("boom")
    s:line("1 + 1")
    screen = s:wait_for("\n2\n")
    assert.is_nil(screen:find("builtin#", 1, true), screen)
  end)

  it("lists a background job with jobs() and cancels it", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:line("env:add_source(function(ctx) while ctx:is_running() do ctx:collect(1) ctx:sleep(5) end end," ..
      " { bounded = false }):filter(function() return false end):print()")
    s:line('job = env:execute_async("forever")')
    s:line("jobs()")
    s:wait_for("1%s+forever%s+RUNNING%s+%d+")  -- with its records/s
    s:line("1 + 1")
    s:wait_for("\n2\n")  -- the prompt stays usable
    s:line("cancel(1)")
    s:wait_for("job 1 %(forever%): CANCELED")
    s:line("jobs()")
    s:wait_for("1%s+forever%s+CANCELED")
  end)

  it("Ctrl-C cancels the running foreground job and the REPL stays; Ctrl-D exits", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:line("env:add_source(function(ctx) while ctx:is_running() do ctx:collect(1) ctx:sleep(5) end end," ..
      " { bounded = false }):filter(function() return false end):print() env:execute('endless')")
    sleep(1)
    s:keys("C-c")
    s:wait_for("job 'endless' was canceled")
    s:line("print('still here')")
    s:wait_for("\nstill here\n")
    s:type("half a line")
    s:keys("C-c")
    s:wait_for("half a line%^C\n>")
    s:keys("C-d")
    s:wait_for("EXITED 0")
  end)

  it("a second Ctrl-C exits at once when the first goes unanswered (a JIT-compiled loop)", function()
    if not has_tmux then return pending("tmux is not installed") end
    local s = repl()
    s:line("while true do end") -- compiled: LuaJIT's traces never call the hook
    sleep(1)
    s:keys("C-c")
    sleep(0.5)
    s:keys("C-c")
    s:wait_for("EXITED 130")
  end)
end)
