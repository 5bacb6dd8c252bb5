#!/usr/bin/env luajit
--- Generates docs/api.md, the API reference, from the LuaCATS comments of
--- lua/flow/init.lua (the `flow` module and the types) and every
--- lua/flow/api/*.lua (one module per Flink class). Plain LuaJIT, no modules.
---
---   luajit scripts/gen_api_docs.lua [--check] [OUTPUT]
---
--- OUTPUT defaults to docs/api.md next to this script; "-" writes to stdout.
--- Warnings (a documented @param that is not in the code's signature, or a
--- code parameter without @param) go to stderr; with --check they fail.
---
--- What counts as a documented function: a `---` comment block directly
--- above one of
---   function Owner.name(...) / function Owner:name(...)
---   Owner.name = <expression>                (an alias or a built function)
---   name = function(...)                     (a field of `Owner = {` ... `}`)
---   Owner[var] = function(...)               (inside `for _, var in ipairs { "a", ... } do`)
--- where Owner is bound to a class by a `---@class` block directly above
--- `local Owner = ...` or `Owner = ...`, in the same file (a module adding
--- functions to `flow` binds its own `local flow = {}` with a bare
--- `---@class flow`: descriptions and fields of every block of a class add
--- up). Sections list a class's functions in the order of SOURCES, then of
--- the lines. A block is: description lines,
--- `---@param name[?] type [text]`, `---@return type [name] [text]`, and
--- `--- Example:` followed by `---   code` lines.

local root = (arg and arg[0] or ""):match("^(.*)/scripts/[^/]*$") or "."

--- lua/flow/init.lua, then every lua/flow/api/*.lua in byte order of the
--- names (a new module is documented without being listed here).
local SOURCES_TEXT = "lua/flow/init.lua and lua/flow/api/*.lua"
local SOURCES = (function()
  local names = {}
  local p = assert(io.popen('ls -1 "' .. root .. '/lua/flow/api"'))
  for name in p:lines() do
    if name:match("^[%w_]+%.lua$") then names[#names + 1] = name end
  end
  p:close()
  table.sort(names)
  local list = { "lua/flow/init.lua" }
  for _, name in ipairs(names) do list[#list + 1] = "lua/flow/api/" .. name end
  return list
end)()

-- the order of the reference's sections; other classes follow as found
local ORDER = {
  "flow", "flow.Env", "flow.EnvOptions", "flow.DataStream", "flow.KeyedStream",
  "flow.WindowedStream", "flow.JoinBuilder", "flow.IntervalJoin", "flow.ConnectedStreams",
  "flow.Sink", "flow.JobClient", "flow.watermarks", "flow.WatermarkStrategy",
  "flow.windows", "flow.triggers", "flow.evictors", "flow.sinks", "flow.ops", "flow.COperator",
}

local check, out_path = false, nil
for _, a in ipairs(arg or {}) do
  if a == "--check" then check = true
  elseif a == "-h" or a == "--help" then
    io.stdout:write("usage: luajit scripts/gen_api_docs.lua [--check] [OUTPUT|-]\n")
    os.exit(0)
  else out_path = a end
end
out_path = out_path or (root .. "/docs/api.md")

local warnings = {}
local function warn(where, msg) warnings[#warnings + 1] = where .. ": " .. msg end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

--- Splits "type rest" where a type may hold spaces inside brackets and after
--- ':' '|' ',' (fun(a: x): y, a | b).
local function split_type(s)
  s = trim(s)
  local depth, quote, i, n = 0, nil, 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if quote then
      if c == quote then quote = nil end
    elseif c == '"' or c == "'" or c == "`" then
      quote = c
    elseif c:match("[%(%[{<]") then
      depth = depth + 1
    elseif c:match("[%)%]}>]") then
      depth = depth - 1
    elseif c:match("%s") and depth <= 0 then
      local prev = s:sub(1, i - 1):match("(%S)%s*$")
      local nxt = s:match("^%s*(%S)", i)
      if not (prev == ":" or prev == "|" or prev == "," or nxt == "|") then break end
    end
    i = i + 1
  end
  return trim(s:sub(1, i - 1)), trim(s:sub(i))
end

--- The doc of a comment block (its lines without the leading `---`).
local function parse_block(block)
  local d = { desc = {}, params = {}, returns = {}, example = {}, fields = {}, aliases = {} }
  local in_example = false
  local pending = {} -- description lines since the last tag / empty line (for @alias)
  for _, b in ipairs(block) do
    local text = b.text
    local tag, rest = text:match("^%s*@(%w+)%s*(.*)$")
    if tag then
      in_example = false
      if tag == "param" then
        local name, opt, r = rest:match("^([%w_%.]+)(%??)%s*(.*)$")
        if name then
          local ty, desc = split_type(r)
          if ty:sub(-1) == "?" and ty:find("^[%w_%.]+%?$") then ty = ty:sub(1, -2) opt = "?" end
          d.params[#d.params + 1] = { name = name, optional = opt == "?", type = ty, desc = desc, line = b.line }
        end
      elseif tag == "return" then
        local ty, r = split_type(rest)
        local name, desc = r:match("^([%a_][%w_]*)%s*(.*)$")
        if r:match("^#") then name, desc = nil, trim(r:sub(2)) end
        if not name then desc = r end
        d.returns[#d.returns + 1] = { type = ty, name = name, desc = desc }
      elseif tag == "class" then
        local name, parent = rest:match("^([%w_%.]+)%s*:?%s*([%w_%.]*)")
        d.class, d.parent = name, parent ~= "" and parent or nil
      elseif tag == "field" then
        local name, opt, r = rest:match("^([%w_]+)(%??)%s*(.*)$")
        if name then
          local ty, desc = split_type(r)
          d.fields[#d.fields + 1] = { name = name, optional = opt == "?", type = ty, desc = desc }
        end
      elseif tag == "alias" then
        local name, r = rest:match("^([%w_%.]+)%s*(.*)$")
        if name then
          local desc = {}
          for _, p in ipairs(pending) do desc[#desc + 1] = p end
          d.aliases[#d.aliases + 1] = { name = name, type = trim(r), desc = desc }
        end
      end
      pending = {}
    elseif text:match("^%s*Example:%s*$") then
      in_example = true
      pending = {}
    elseif in_example and (text:match("^%s%s") or text == "") then
      d.example[#d.example + 1] = text
    else
      in_example = false
      local t = trim(text)
      d.desc[#d.desc + 1] = t
      if t == "" then pending = {} else pending[#pending + 1] = t end
    end
  end
  -- examples: drop the common indentation, and blank lines at either end
  local indent
  for _, l in ipairs(d.example) do
    if l:match("%S") then
      local n = #l:match("^%s*")
      if not indent or n < indent then indent = n end
    end
  end
  for i, l in ipairs(d.example) do d.example[i] = l:sub((indent or 0) + 1) end
  while d.example[#d.example] == "" do d.example[#d.example] = nil end
  while d.desc[1] == "" do table.remove(d.desc, 1) end
  while d.desc[#d.desc] == "" do d.desc[#d.desc] = nil end
  return d
end

local classes, class_list = {}, {}
local aliases = {}
local functions = {}

local function class_named(name)
  local c = classes[name]
  if not c then
    c = { name = name, desc = {}, fields = {}, functions = {} }
    classes[name] = c
    class_list[#class_list + 1] = c
  end
  return c
end

local function split_params(s)
  local ps = {}
  for p in s:gmatch("[^,%s]+") do ps[#ps + 1] = p end
  return ps
end

local function parse_file(rel)
  local f = assert(io.open(root .. "/" .. rel, "r"))
  local lines = {}
  for l in f:lines() do lines[#lines + 1] = l end
  f:close()
  local owners = {} -- code name -> class name, for this file
  local block, block_end = {}, 0
  local table_ctx, loop = nil, nil

  local function add_function(d, owner, sep, name, code_params, lineno)
    local cls = owners[owner]
    if not cls or name:sub(1, 1) == "_" then return end -- "_x": private
    local c = class_named(cls)
    if sep == nil then sep = cls:match("([%w_]+)$"):match("^%u") and ":" or "." end
    local fn = { class = cls, sep = sep, name = name, doc = d, file = rel, line = lineno }
    local params = {}
    if code_params then
      for _, p in ipairs(code_params) do
        if not (p == "self" and sep == ":") then params[#params + 1] = p end
      end
      -- parameters of the code and of the doc must agree
      local documented = {}
      for _, p in ipairs(d.params) do documented[p.name] = true end
      for _, p in ipairs(params) do
        if not documented[p] then warn(rel .. ":" .. lineno, cls .. sep .. name .. ": no @param for '" .. p .. "'") end
      end
      local in_code = {}
      for _, p in ipairs(params) do in_code[p] = true end
      for _, p in ipairs(d.params) do
        if not in_code[p.name] then
          warn(rel .. ":" .. lineno, cls .. sep .. name .. ": @param '" .. p.name .. "' is not a parameter")
        end
      end
    else
      for _, p in ipairs(d.params) do params[#params + 1] = p.name end
    end
    fn.params = params
    if #d.returns == 0 then warn(rel .. ":" .. lineno, cls .. sep .. name .. ": no @return") end
    if #d.example == 0 then warn(rel .. ":" .. lineno, cls .. sep .. name .. ": no example") end
    if #d.desc == 0 then warn(rel .. ":" .. lineno, cls .. sep .. name .. ": no description") end
    c.functions[#c.functions + 1] = fn
    functions[#functions + 1] = fn
  end

  for i, line in ipairs(lines) do
    local text = line:match("^%s*%-%-%-(.*)$")
    if text and not line:match("^%s*%-%-%-%-") then
      if block_end ~= i - 1 then block = {} end
      block[#block + 1] = { text = text:gsub("^ ", "", 1), line = i }
      block_end = i
    else
      local has_doc = block_end == i - 1 and #block > 0
      local d = has_doc and parse_block(block) or nil
      if d then
        for _, a in ipairs(d.aliases) do
          aliases[#aliases + 1] = a
        end
      end
      -- a class bound to a table
      if d and d.class then
        local c = class_named(d.class)
        c.parent = d.parent
        c.file = c.file or rel
        for _, l in ipairs(d.desc) do c.desc[#c.desc + 1] = l end
        for _, fl in ipairs(d.fields) do c.fields[#c.fields + 1] = fl end
        local var = line:match("^local%s+([%w_]+)%s*=") or line:match("^([%w_%.]+)%s*=")
        if var then owners[var] = d.class end
      end
      -- definitions
      local full, params = line:match("^function%s+([%w_%.:]+)%s*%((.-)%)")
      if full and full:find("[%.:]") then
        local owner, sep, name = full:match("^(.*)([%.:])([%w_]+)$")
        if d and not d.class then
          add_function(d, owner, sep, name, split_params(params), i)
        elseif owners[owner] then
          warn(rel .. ":" .. i, full .. ": no doc comment")
        end
      elseif d and not d.class then
        local owner, name = line:match("^([%w_%.]+)%.([%w_]+)%s*=%s*%S")
        local fparams = line:match("=%s*function%s*%((.-)%)")
        if owner then
          add_function(d, owner, nil, name, fparams and split_params(fparams) or nil, i)
        elseif table_ctx then
          local fname, fp = line:match("^%s+([%w_]+)%s*=%s*function%s*%((.-)%)")
          if fname then add_function(d, table_ctx, ".", fname, split_params(fp), i) end
        end
        local lowner, var, lp = line:match("^%s*([%w_]+)%[([%w_]+)%]%s*=%s*function%s*%((.-)%)")
        if lowner and loop and loop.var == var then
          for _, n in ipairs(loop.names) do add_function(d, lowner, nil, n, split_params(lp), i) end
        end
      end
      -- contexts: `X = {` ... `}` and `for _, v in ipairs { "a", ... } do` ... `end`
      local tname = line:match("^([%w_%.]+)%s*=%s*{%s*$")
      if tname then table_ctx = tname elseif line:match("^}") then table_ctx = nil end
      local var, list = line:match("^%s*for%s+[%w_]+%s*,%s*([%w_]+)%s+in%s+ipairs%s*{(.-)}%s*do%s*$")
      if var then
        loop = { var = var, names = {} }
        for n in list:gmatch("[\"']([%w_]+)[\"']") do loop.names[#loop.names + 1] = n end
      elseif line:match("^end") then
        loop = nil
      end
      block, block_end = {}, 0
    end
  end
end

for _, rel in ipairs(SOURCES) do parse_file(rel) end

-- ------------------------------------------------------------ rendering

--- Markdown text outside code spans: < and > would read as HTML.
local function md(s)
  local out = {}
  local i = 1
  while i <= #s do
    local a, b = s:find("`[^`]*`", i)
    if not a then
      out[#out + 1] = s:sub(i):gsub("<", "&lt;"):gsub(">", "&gt;")
      break
    end
    out[#out + 1] = s:sub(i, a - 1):gsub("<", "&lt;"):gsub(">", "&gt;")
    out[#out + 1] = s:sub(a, b)
    i = b + 1
  end
  return table.concat(out)
end

local function cell(s) return (s:gsub("|", "\\|")) end
local function code(s) return "`" .. s .. "`" end

local function paragraphs(lines)
  local out, cur = {}, {}
  for _, l in ipairs(lines) do
    if l == "" then
      if #cur > 0 then out[#out + 1] = md(table.concat(cur, " ")) cur = {} end
    else
      cur[#cur + 1] = l
    end
  end
  if #cur > 0 then out[#out + 1] = md(table.concat(cur, " ")) end
  return out
end

local function anchor(s) return (s:gsub("[^%w_%.%-]", "-")) end

local known = {}
for _, c in ipairs(class_list) do known[c.name] = true end
for _, a in ipairs(aliases) do known[a.name] = true end

--- A type for a table cell: a union of plain names links the known ones.
local function type_cell(t)
  if not t:match("^[%w_%.|%?%[%]\"]+$") then return cell(code(t)) end
  local parts = {}
  for p in t:gmatch("[^|]+") do
    local base, suffix = p:match("^([%w_%.]+)(.*)$")
    if base and known[base] then
      parts[#parts + 1] = "[" .. code(p) .. "](#" .. anchor(base) .. ")"
    else
      parts[#parts + 1] = code(p)
    end
  end
  return table.concat(parts, " \\| ")
end

local function signature(fn)
  local ps = {}
  local opt = {}
  for _, p in ipairs(fn.doc.params) do opt[p.name] = p.optional end
  for _, p in ipairs(fn.params) do ps[#ps + 1] = p .. (opt[p] and "?" or "") end
  return fn.class .. fn.sep .. fn.name .. "(" .. table.concat(ps, ", ") .. ")"
end

local function typed_signature(fn)
  local types = {}
  for _, p in ipairs(fn.doc.params) do types[p.name] = p end
  local ps = {}
  for _, p in ipairs(fn.params) do
    local t = types[p]
    ps[#ps + 1] = p .. (t and t.optional and "?" or "") .. (t and (": " .. t.type) or "")
  end
  local rs = {}
  for _, r in ipairs(fn.doc.returns) do rs[#rs + 1] = r.type end
  return "function " .. fn.class .. fn.sep .. fn.name .. "(" .. table.concat(ps, ", ") .. ")" ..
    (#rs > 0 and (": " .. table.concat(rs, ", ")) or "")
end

-- sections in ORDER, then the others as found
local sections, placed = {}, {}
for _, n in ipairs(ORDER) do
  if classes[n] then sections[#sections + 1] = classes[n] placed[n] = true end
end
for _, c in ipairs(class_list) do
  if not placed[c.name] then sections[#sections + 1] = c end
end

local o = {}
local function w(s) o[#o + 1] = s or "" end

w("# flowlua Lua API reference")
w()
w("<!-- Generated by scripts/gen_api_docs.lua from the LuaCATS comments in")
w("     " .. SOURCES_TEXT .. ". Do not edit: change the comments and run")
w("     `luajit scripts/gen_api_docs.lua`; scripts/check/api_docs.sh keeps this page in sync. -->")
w()
w("Every public function of the Lua API, from the LuaCATS annotations in the source (`---@class`,")
w("`---@param`, `---@return`). `../shared/API.md` is the contract, `api_additions.md` what flowlua")
w("adds, `flink_to_flowlua.md` where a Flink concept lives. Records are Lua values; a tuple is an")
w("array table with 1-based fields; times are integer milliseconds.")
w()
local nfun = 0
for _, c in ipairs(sections) do nfun = nfun + #c.functions end
w(("%d functions in %d classes and modules, %d types."):format(nfun, #sections, #aliases))
w()
w("## Contents")
w()
for _, c in ipairs(sections) do
  local names = {}
  for _, fn in ipairs(c.functions) do
    names[#names + 1] = "[" .. fn.name .. "](#" .. anchor(fn.class .. fn.sep .. fn.name) .. ")"
  end
  w("- [" .. c.name .. "](#" .. anchor(c.name) .. ")" .. (#names > 0 and (": " .. table.concat(names, ", ")) or ""))
end
if #aliases > 0 then w("- [Types](#types)") end
w()

for _, c in ipairs(sections) do
  w('<a id="' .. anchor(c.name) .. '"></a>')
  w()
  w("## " .. c.name)
  w()
  for _, p in ipairs(paragraphs(c.desc)) do w(p) w() end
  if c.parent then
    w("Inherits every method of [" .. c.parent .. "](#" .. anchor(c.parent) .. ").")
    w()
  end
  local documented = {}
  for _, fn in ipairs(c.functions) do documented[fn.name] = true end
  local fields = {}
  for _, fl in ipairs(c.fields) do
    if not documented[fl.name] then fields[#fields + 1] = fl end
  end
  if #fields > 0 then
    w("| field | type | description |")
    w("|---|---|---|")
    for _, fl in ipairs(fields) do
      w("| " .. code(fl.name .. (fl.optional and "?" or "")) .. " | " .. type_cell(fl.type) .. " | " ..
        cell(md(fl.desc)) .. " |")
    end
    w()
  end
  for _, fn in ipairs(c.functions) do
    local d = fn.doc
    w('<a id="' .. anchor(fn.class .. fn.sep .. fn.name) .. '"></a>')
    w()
    w("### " .. code(signature(fn)))
    w()
    w("```lua")
    w(typed_signature(fn))
    w("```")
    w()
    for _, p in ipairs(paragraphs(d.desc)) do w(p) w() end
    if #d.params > 0 or #d.returns > 0 then
      w("| | name | type | description |")
      w("|---|---|---|---|")
      for _, p in ipairs(d.params) do
        w("| param | " .. code(p.name .. (p.optional and "?" or "")) .. " | " .. type_cell(p.type) .. " | " ..
          cell(md(p.desc)) .. " |")
      end
      for _, r in ipairs(d.returns) do
        w("| returns | " .. (r.name and code(r.name) or "") .. " | " .. type_cell(r.type) .. " | " ..
          cell(md(r.desc or "")) .. " |")
      end
      w()
    end
    if #d.example > 0 then
      w("Example:")
      w()
      w("```lua")
      for _, l in ipairs(d.example) do w(l) end
      w("```")
      w()
    end
    w("<sub>" .. fn.file .. "</sub>")
    w()
  end
end

if #aliases > 0 then
  w('<a id="types"></a>')
  w()
  w("## Types")
  w()
  w("Type names (`---@alias`) the annotations use.")
  w()
  for _, a in ipairs(aliases) do
    w('<a id="' .. anchor(a.name) .. '"></a>')
    w()
    w("### " .. code(a.name))
    w()
    for _, p in ipairs(paragraphs(a.desc)) do w(p) w() end
    w("```lua")
    w(a.type)
    w("```")
    w()
  end
end

-- one trailing newline
while o[#o] == "" do o[#o] = nil end
local text = table.concat(o, "\n") .. "\n"

for _, m in ipairs(warnings) do io.stderr:write("warning: ", m, "\n") end
if out_path == "-" then
  io.stdout:write(text)
else
  local f = assert(io.open(out_path, "w"))
  f:write(text)
  f:close()
  io.stderr:write(("wrote %s: %d functions, %d sections, %d types\n"):format(out_path, nfun, #sections, #aliases))
end
if check and #warnings > 0 then
  io.stderr:write(#warnings, " warning(s)\n")
  os.exit(1)
end
