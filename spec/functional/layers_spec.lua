-- scripts/check/layers.sh (run by ctest as example.layers) must fail on
-- every kind of layer break it claims to catch: run it on small trees.
local h = require("helpers.flowlua")

local script = h.source_dir .. "/scripts/check/layers.sh"

local function tree(files)
  local root = h.tmpname(".tree")
  for path, text in pairs(files) do
    os.execute("mkdir -p " .. h.quote(root .. "/" .. path:match("^(.*)/")))
    h.write(root .. "/" .. path, text)
  end
  os.execute("mkdir -p " .. h.quote(root .. "/src") .. " " .. h.quote(root .. "/stdlib") .. " " ..
    h.quote(root .. "/lua/flow/api") .. " " .. h.quote(root .. "/lua/flow/runtime"))
  return root
end

local function check(root)
  local out = h.sh("bash " .. h.quote(script) .. " " .. h.quote(root) .. " 2>&1; echo exit=$?")
  os.execute("rm -rf " .. h.quote(root))
  return out
end

describe("layers.sh", function()
  it("passes a tree that keeps the layers", function()
    local out = check(tree {
      ["src/util/a.c"] = '#include "util/a.h"\n#include <stdio.h>\n',
      ["src/runtime/b.c"] = '#include "graph/x.h"\n#include "util/a.h"\n',
      ["src/lua/c.c"] = '#include <lua.h>\n#include "cluster/p.h"\n',
      ["stdlib/s.c"] = '#include "flowlua.h"\n',
      ["lua/flow/api/e.lua"] = 'local codec = require("flow.codec")\n',
      ["lua/flow/runtime/t.lua"] = 'local ffi = require("flow.ffi")\n',
    })
    assert.truthy(out:find("exit=0", 1, true), out)
  end)

  local breaks = {
    { "runtime includes coordination", "src/runtime/b.c", '#include "coordination/rpc.h"\n', "may not include" },
    { "coordination includes net", "src/coordination/j.c", '#include "net/frame.h"\n', "may not include" },
    { "net includes runtime", "src/net/t.c", '#include "runtime/task.h"\n', "may not include" },
    { "client includes cluster", "src/client/r.c", '#include "cluster/protocol.h"\n', "may not include" },
    { "util includes graph", "src/util/u.c", '#include "graph/job_graph.h"\n', "may not include" },
    { "runtime knows Lua", "src/runtime/task.c", "#include <lauxlib.h>\n", "may not know Lua" },
    { "util uses libuv", "src/util/clock.c", "#include <uv.h>\n", "libc only" },
    { "an unknown folder", "src/misc/x.c", "", "not a layer" },
    { "stdlib includes the core", "stdlib/s.c", '#include "runtime/buffer.h"\n', "may include only flowlua.h" },
    { "api requires runtime", "lua/flow/api/e.lua", 'local t = require("flow.runtime.task")\n', "may not use lua/flow/runtime" },
    { "api peeks at a runtime module", "lua/flow/api/e.lua", 'local t = package.loaded["flow.runtime.task"]\n',
      "may not use lua/flow/runtime" },
    { "runtime requires api", "lua/flow/runtime/t.lua", "local e = require('flow.api.environment')\n",
      "may not use lua/flow/api" },
    { "runtime requires the facade", "lua/flow/runtime/t.lua", 'local flow = require("flow")\n', "API facade" },
    { "a shared module requires a side", "lua/flow/codec.lua", 'local w = require("flow.runtime.record_writer")\n',
      "shared module" },
  }
  for _, b in ipairs(breaks) do
    it("fails when " .. b[1], function()
      local out = check(tree { [b[2]] = b[3] })
      assert.truthy(out:find("exit=1", 1, true), out)
      assert.truthy(out:find(b[4], 1, true), out)
    end)
  end
end)
