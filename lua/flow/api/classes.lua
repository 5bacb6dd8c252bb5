--- The method tables of the two stream classes, made here, empty, so that
--- their modules need not require each other: DataStream:key_by returns a
--- KeyedStream, a KeyedStream has every DataStream method, and every module
--- that adds an operator returns a DataStream (transformations.stream).
--- datastream.lua and keyed_stream.lua fill them; require("flow") loads both.
--- The other classes live in their own modules, which return what the
--- rest of the API needs of them.
local DataStream = {}
DataStream.__index = DataStream

local KeyedStream = setmetatable({}, { __index = DataStream })
KeyedStream.__index = KeyedStream

return { DataStream = DataStream, KeyedStream = KeyedStream }
