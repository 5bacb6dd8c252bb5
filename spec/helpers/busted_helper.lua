-- Run by busted before any spec (.busted: helper): the specs' own Lua state
-- gets the same LuaJIT workaround as flowlua's states (lua/flow/jit_guard.lua).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
require("flow.jit_guard")
