-- flowlua's `flow` module for plain luajit (installed by the rock):
-- flow_native.so carries the embedded modules; this shim loads the
-- embedded "flow" directly (a require("flow") here would find this file).
local native = require("flow_native")
return native.require("flow")
