--- Helpers for specs that run the flowlua binary as a user would.
local M = {}

local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return (os.getenv("PWD") or ".") .. "/" .. p
end
M.bin = absolute(os.getenv("FLOWLUA") or "build/flowlua")
M.source_dir = absolute(os.getenv("FLOWLUA_SOURCE_DIR") or ".")
M.conformance = M.source_dir .. "/../shared/conformance/flink"

local tmp_n = 0
--- A fresh temporary path (not created), unique across processes and runs.
function M.tmpname(suffix)
  tmp_n = tmp_n + 1
  local base = os.tmpname() -- creates a unique empty file: keep its name only
  os.remove(base)
  return string.format("%s-%d%s", base, tmp_n, suffix or "")
end

function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Runs a shell command; returns its stdout and stderr together.
function M.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = shell_quote

--- Runs `flowlua ARGS...`; returns stdout, stderr, exit code. A run that
--- takes longer than `timeout` seconds (default 60) is killed (code 124):
--- a hang fails the spec instead of blocking the suite.
function M.run(args, opts)
  opts = opts or {}
  local err = M.tmpname(".err")
  local parts = { "timeout", tostring(opts.timeout or 60), shell_quote(M.bin) }
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  local cmd = table.concat(parts, " ") .. " 2>" .. shell_quote(err)
  if opts.stdin then cmd = cmd .. " <" .. shell_quote(opts.stdin) else cmd = cmd .. " </dev/null" end
  if opts.cwd then cmd = "cd " .. shell_quote(opts.cwd) .. " && " .. cmd end
  local p = assert(io.popen(cmd .. "; echo \"::exit::$?\"", "r"))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("::exit::(%d+)%s*$"))
  out = out:gsub("::exit::%d+%s*$", "")
  local stderr = M.read(err) or ""
  os.remove(err)
  return out, stderr, code
end

--- Writes `source` to a temporary script and runs it with args.
function M.run_script(source, args, opts)
  local path = M.write(M.tmpname(".lua"), source)
  local a = { path }
  for _, x in ipairs(args or {}) do a[#a + 1] = x end
  local out, err, code = M.run(a, opts)
  os.remove(path)
  return out, err, code, path
end

--- Lines of s, without the "N> " print prefix when strip_prefix, sorted.
function M.sorted_lines(s, strip_prefix)
  local t = {}
  for line in s:gmatch("[^\n]+") do
    if strip_prefix then line = line:gsub("^%d+> ", "") end
    t[#t + 1] = line
  end
  table.sort(t)
  return t
end

function M.file_lines(path)
  return M.sorted_lines(assert(M.read(path), "missing " .. path))
end

--- Runs `flowlua explain SCRIPT --format json` and decodes the plan.
function M.explain(source)
  local path = M.write(M.tmpname(".lua"), source)
  local out, err, code = M.run({ "explain", path, "--format", "json" })
  os.remove(path)
  if code ~= 0 then return nil, err end
  return require("cjson").decode(out)
end

--- The job graph's vertices as arrays of operator names, e.g.
--- { {"Source: Collection Source", "Map"}, {"Keyed Aggregation", "Sink: ..."} }.
function M.groups(plan)
  local names = {}
  for _, n in ipairs(plan.stream_graph.nodes) do names[n.id] = n.name end
  local g = {}
  for _, v in ipairs(plan.job_graph.vertices) do
    local ops = {}
    for _, id in ipairs(v.operators) do ops[#ops + 1] = names[id] end
    g[#g + 1] = ops
  end
  return g
end

function M.job_edges(plan)
  local e = {}
  for _, x in ipairs(plan.job_graph.edges) do
    e[#e + 1] = x.source .. "->" .. x.target .. ":" .. x.partitioner
  end
  return e
end

return M
