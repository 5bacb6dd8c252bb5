-- A one-connection TCP line server for specs (LuaSocket):
--   luajit line_server.lua PORTFILE LOGFILE INTERVAL_MS LINE...
-- Binds an ephemeral port on 127.0.0.1, writes it to PORTFILE, accepts one
-- client, sends each LINE followed by "\n" INTERVAL_MS apart, logging
-- "<index> <send time in ms>" to LOGFILE, then closes. Gives up after 20 s.
local socket = require("socket")
local portfile, logfile, interval = arg[1], arg[2], tonumber(arg[3])
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
local f = assert(io.open(portfile .. ".tmp", "w"))
f:write(port)
f:close()
os.rename(portfile .. ".tmp", portfile)
server:settimeout(20)
local client = server:accept()
if not client then os.exit(1) end
local log = assert(io.open(logfile, "w"))
for i = 4, #arg do
  socket.sleep(interval / 1000)
  client:send(arg[i] .. "\n")
  log:write(i - 3, " ", math.floor(socket.gettime() * 1000), "\n")
  log:flush()
end
socket.sleep(interval / 1000)
client:close()
log:close()
