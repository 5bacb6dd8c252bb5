-- The REPL's Lua side (embedded in the flowlua binary by src/cli/repl.c):
-- evaluation with multi-line detection, result printing, tab completion,
-- and the prompt helpers show/explain/jobs/cancel.
local M = {}

local flow = require("flow")
local format = require("flow.format")

local concat, sort, unpack = table.concat, table.sort, unpack

local function out(s) io.stdout:write(s, "\n") end

-- ------------------------------------------------------------ printing

--- Class names of the API's objects, found from their metatables.
local class_names = {}

local function is_array(t)
  local n = #t
  local count = 0
  for _ in pairs(t) do
    count = count + 1
    if count > n then return false end
  end
  return n > 0 and count == n
end

local function is_ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local pretty

local function object_label(t)
  local mt = getmetatable(t)
  if mt == nil then return nil end
  if type(mt) == "table" and rawget(mt, "__tostring") then return tostring(t) end
  local name = class_names[mt]
  if name then return "<" .. name .. ">" end
  if type(mt) == "table" and rawget(mt, "__index") then
    return "<object " .. (tostring(rawget(mt, "__name") or "") ~= "" and mt.__name or "") ..
      tostring(t):gsub("^table: ", "") .. ">"
  end
  return nil
end

--- A value for the prompt: strings quoted, arrays in the print format,
--- other tables as sorted `key = value` lines.
pretty = function(v, indent, seen)
  indent = indent or ""
  local tv = type(v)
  if tv == "string" then return string.format("%q", v):gsub("\\\n", "\\n") end
  if tv ~= "table" then return format.value(v) end
  local label = object_label(v)
  if label then return label end
  seen = seen or {}
  if seen[v] then return "<cycle>" end
  if next(v) == nil then return "{}" end
  if is_array(v) then
    local s = format.value(v)
    if #s <= 160 or #v > 1000 then return s end
  end
  seen[v] = true
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  sort(keys, key_less)
  local lines = { "{" }
  local inner = indent .. "  "
  for i, k in ipairs(keys) do
    if i > 200 then
      lines[#lines + 1] = inner .. "... (" .. (#keys - 200) .. " more)"
      break
    end
    local ks = is_ident(k) and k or ("[" .. pretty(k, inner, seen) .. "]")
    lines[#lines + 1] = inner .. ks .. " = " .. pretty(v[k], inner, seen) .. ","
  end
  lines[#lines + 1] = indent .. "}"
  seen[v] = nil
  return concat(lines, "\n")
end
M.pretty = pretty

local function print_results(n, ...)
  if n == 0 then return end
  local parts = {}
  for i = 1, n do parts[i] = pretty((select(i, ...))) end
  out(concat(parts, "\t"))
end

-- ------------------------------------------------------------ evaluation

local function traceback(e)
  if type(e) ~= "string" then
    local ok, s = pcall(tostring, e)
    e = ok and s or ("(error object is a " .. type(e) .. " value)")
  end
  -- the REPL's own frames are noise: cut the traceback at this chunk
  local tb = debug.traceback(e, 2)
  tb = tb:gsub("\n%s*%[C%]: in function 'xpcall'.*$", "")
  -- `return error("x")` (a statement is compiled as an expression first)
  -- tail-calls the builtin: its frame says nothing ("[builtin#19]: at 0x...")
  tb = tb:gsub("\n%s*%[builtin#%d+%]:[^\n]*", "")
  tb = tb:gsub("\nstack traceback:$", "")
  return tb
end

--- Compiles a statement: "return <src>" first (an expression), then src.
--- Returns the function, or nil, "incomplete" | message.
function M.compile(src)
  local f = loadstring("return " .. src, "=stdin")
  if f then return f end
  local err
  f, err = loadstring(src, "=stdin")
  if f then return f end
  if err:match("<eof>'?$") then return nil, "incomplete", err end
  return nil, err
end

--- Runs one complete statement. Returns "incomplete" when more lines are
--- needed; true when it ran; false when it failed (the error is printed).
function M.eval(src, final)
  if src:match("^%s*$") then return true end
  local f, err, why = M.compile(src)
  if not f then
    if err == "incomplete" and not final then return "incomplete" end
    io.stderr:write(why or err, "\n")
    return false
  end
  local r = { xpcall(f, traceback) }
  if not r[1] then
    io.stderr:write(tostring(r[2]), "\n")
    return false
  end
  print_results(table.maxn(r) - 1, unpack(r, 2, table.maxn(r)))
  return true
end

-- ------------------------------------------------------------ completion

local keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
  "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while" }

--- Keys of t, and of its metatable's __index chain.
local function fields(t, methods_only)
  local names, seen = {}, {}
  local depth = 0
  while t ~= nil and depth < 16 do
    depth = depth + 1
    if type(t) == "table" then
      for k, v in pairs(t) do
        if type(k) == "string" and is_ident(k) and not seen[k]
            and (not methods_only or type(v) == "function"
                 or (type(v) == "table" and getmetatable(v) and getmetatable(v).__call)) then
          seen[k] = true
          names[#names + 1] = k
        end
      end
    end
    local mt = getmetatable(t)
    if type(mt) ~= "table" then break end
    local idx = rawget(mt, "__index")
    if type(idx) ~= "table" then break end
    t = idx
  end
  return names
end

--- Completions of the text before the cursor: returns the offset (0-based)
--- where the completed word starts, and the sorted candidates.
function M.complete(line)
  local expr = line:match("[%w_%.:]*$") or ""
  local start = #line - #expr
  local base, sep, word = expr:match("^(.*)([%.:])([%w_]*)$")
  local candidates
  if base then
    if base == "" or not base:match("^[%a_][%w_]*$") and not base:match("^[%a_][%w_%.]*[%w_]$") then
      return #line, {}
    end
    local v = _G
    for part in base:gmatch("[^%.]+") do
      local ok, nv = pcall(function() return v[part] end)
      if not ok or nv == nil then return #line, {} end
      v = nv
    end
    if type(v) == "string" then v = string end
    candidates = fields(v, sep == ":")
    start = start + #base + 1
  else
    word = expr
    candidates = fields(_G)
    for _, k in ipairs(keywords) do candidates[#candidates + 1] = k end
  end
  local matches = {}
  for _, c in ipairs(candidates) do
    if c:sub(1, #word) == word and (word:sub(1, 1) == "_" or c:sub(1, 1) ~= "_") then
      matches[#matches + 1] = c
    end
  end
  sort(matches)
  local uniq = {}
  for i, c in ipairs(matches) do
    if c ~= matches[i - 1] then uniq[#uniq + 1] = c end
  end
  return start, uniq
end

-- ------------------------------------------------------------ helpers

local jobs_registry = {}

--- Keeps env's transformations across a run, so a stream defined at the
--- prompt can be shown or explained again.
local function keeping_graph(env, f, ...)
  local nodes, sinks = env.nodes, env.sinks
  local saved_nodes, saved_sinks = { unpack(nodes or {}) }, { unpack(sinks or {}) }
  local r = { pcall(f, ...) }
  env.nodes, env.sinks = saved_nodes, saved_sinks
  if not r[1] then error(r[2], 0) end
  return unpack(r, 2, table.maxn(r))
end

local function cell(v)
  local s = format.value(v)
  return (s:gsub("[\r\n\t]", " "))
end

--- Prints records as an aligned table: a column per tuple field (or per key
--- of non-array records), one per line.
function M.print_table(rows)
  if #rows == 0 then
    out("(no records)")
    return
  end
  local cols, keyed = 0, {}
  local kind = "scalar"
  for _, r in ipairs(rows) do
    if type(r) == "table" then
      if is_array(r) then
        kind = (kind == "map") and "mixed" or (kind == "mixed" and "mixed" or "tuple")
        if #r > cols then cols = #r end
      else
        kind = (kind == "tuple") and "mixed" or (kind == "mixed" and "mixed" or "map")
        for k in pairs(r) do keyed[k] = true end
      end
    end
  end
  local header, get = {}, {}
  if kind == "tuple" then
    for i = 1, cols do
      header[i] = "f" .. i
      get[i] = function(r) if type(r) == "table" then return r[i] end return i == 1 and r or nil end
    end
  elseif kind == "map" then
    local keys = {}
    for k in pairs(keyed) do keys[#keys + 1] = k end
    sort(keys, key_less)
    for i, k in ipairs(keys) do
      header[i] = tostring(k)
      get[i] = function(r) if type(r) == "table" then return r[k] end return nil end
    end
  else
    header[1] = "value"
    get[1] = function(r) return r end
  end
  local cells, widths = {}, {}
  for i, h in ipairs(header) do widths[i] = #h end
  for ri, r in ipairs(rows) do
    local line = {}
    for i = 1, #header do
      local v = get[i](r)
      local s = v == nil and "" or cell(v)
      line[i] = s
      if #s > widths[i] then widths[i] = #s end
    end
    cells[ri] = line
  end
  local function fmt(line)
    local parts = {}
    for i, s in ipairs(line) do
      local pad = string.rep(" ", widths[i] - #s)
      local numeric = s:match("^%-?[%d%.eE%+%-]+$") ~= nil
      parts[i] = numeric and (pad .. s) or (s .. pad)
    end
    return (concat(parts, " | "):gsub("%s+$", ""))
  end
  out(fmt(header))
  local rule = {}
  for i, w in ipairs(widths) do rule[i] = string.rep("-", w) end
  out(concat(rule, "-+-"))
  for _, line in ipairs(cells) do out(fmt(line)) end
  out("(" .. #rows .. (#rows == 1 and " record)" or " records)"))
end

local function check_stream(ds, what)
  if type(ds) ~= "table" or type(ds.env) ~= "table" or type(ds.execute_and_collect) ~= "function" then
    error(what .. " expects a DataStream or a table of records", 3)
  end
end

--- show(ds [, n]): runs the stream (at most n records, default 20) and
--- prints the records as a table; a table of records (a collected result)
--- is shown as it is.
function M.show(ds, n)
  n = n or 20
  if type(n) ~= "number" or n < 1 then error("show: n must be a positive number", 2) end
  if type(ds) == "table" and ds.env == nil then
    local rows = {}
    for i = 1, math.min(#ds, n) do rows[i] = ds[i] end
    M.print_table(rows)
    if #ds > n then out("(" .. (#ds - n) .. " more not shown)") end
    return
  end
  check_stream(ds, "show")
  local rows = keeping_graph(ds.env, ds.execute_and_collect, ds, "show", { limit = n })
  M.print_table(rows)
end

--- explain(ds [, format]): prints the plan of the stream's environment.
function M.explain(ds, fmt)
  local env = ds
  if type(ds) == "table" and ds.env then env = ds.env end
  if type(env) ~= "table" or type(env.explain) ~= "function" then
    error("explain expects a DataStream or an environment", 2)
  end
  local s = keeping_graph(env, function()
    if type(env.sinks) == "table" and #env.sinks == 0 and env ~= ds then ds:print() end
    return env:explain(fmt)
  end)
  out((s:gsub("\n+$", "")))
end

local function job_status(j)
  local ok, st = pcall(j.client.status, j.client)
  return ok and st or "UNKNOWN"
end

--- jobs(): the background jobs started at the prompt.
function M.jobs()
  if #jobs_registry == 0 then
    out("(no background jobs)")
    return
  end
  local rows = {}
  local now = require("flow.ffi").mono_ms()
  for id, j in ipairs(jobs_registry) do
    -- records/s: since the previous jobs() (or since the job started)
    local ok, n = pcall(j.client.records_read, j.client)
    local rate = ""
    if ok and n then
      local dt = (now - (j.seen_ms or j.started_ms)) / 1000
      if dt > 0 then rate = string.format("%.0f", (n - (j.seen_n or 0)) / dt) end
      j.seen_ms, j.seen_n = now, n
    end
    rows[#rows + 1] = { tostring(id), j.name, job_status(j), rate, j.client.job_id or "" }
  end
  local widths = { 2, 4, 6, 9, 6 }
  for _, r in ipairs(rows) do
    for i, s in ipairs(r) do if #s > widths[i] then widths[i] = #s end end
  end
  local function line(r)
    local parts = {}
    for i, s in ipairs(r) do parts[i] = s .. string.rep(" ", widths[i] - #s) end
    return (concat(parts, "  "):gsub("%s+$", ""))
  end
  out(line({ "id", "name", "status", "records/s", "job_id" }))
  for _, r in ipairs(rows) do out(line(r)) end
end

--- cancel(id): cancels a background job; waits until it stopped.
function M.cancel(id)
  local j = jobs_registry[id]
  if not j then error("no background job " .. tostring(id) .. " (see jobs())", 2) end
  j.client:cancel()
  pcall(j.client.wait, j.client)
  out("job " .. id .. " (" .. j.name .. "): " .. job_status(j))
end

--- The REPL's env: execute_async registers a background job (not when
--- env:execute runs the job in the foreground).
function M.wrap_env(env)
  local Env = getmetatable(env).__index
  env.execute_async = function(self, name)
    local client = Env.execute_async(self, name)
    local caller = debug.getinfo(2, "f")
    if not (caller and caller.func == Env.execute) then
      jobs_registry[#jobs_registry + 1] = { client = client, name = client.job_name or tostring(name),
        started_ms = require("flow.ffi").mono_ms() }
      client.repl_id = #jobs_registry
    end
    return client
  end
  return env
end

local help_text = [[
flowlua REPL: Lua statements and expressions; results are printed.
  flow, env          the flow module and a ready environment
  show(ds [, n])     run ds, print at most n records (default 20) as a table
  explain(ds)        print the plan of ds's environment
  job = env:execute_async(name)   run in the background; the prompt stays usable
  jobs()             list background jobs (id, name, status)
  cancel(id)         cancel a background job
  Tab completes names; Ctrl-C cancels a running job or clears the line;
  Ctrl-D exits.]]

function M.help() out(help_text) end

--- Puts the prompt's globals in place.
function M.setup()
  _G.flow = flow
  local env = flow.env()
  class_names[getmetatable(env)] = "Env"
  local ok, ds = pcall(function() return env:from_elements(1) end)
  if ok and type(ds) == "table" then
    class_names[getmetatable(ds)] = "DataStream"
    local ok2, keyed = pcall(function() return ds:key_by(function(x) return x end) end)
    if ok2 and type(keyed) == "table" and getmetatable(keyed) ~= getmetatable(ds) then
      class_names[getmetatable(keyed)] = "KeyedStream"
    end
  end
  env = flow.env()
  _G.env = M.wrap_env(env)
  _G.show, _G.explain, _G.jobs, _G.cancel = M.show, M.explain, M.jobs, M.cancel
  if _G.help == nil then _G.help = M.help end
end

return M
