-- SocketWindowWordCount, as Flink's example: words from a socket, counted
-- per 5 s processing-time window.
--
--   flowlua examples/socket_window_word_count.lua --port 9000 [--hostname localhost] [--window-ms 5000]
--
-- Try it with `nc -lk 9000` in another terminal and type some lines.
local flow = require("flow")
local params = flow.params()
local env = flow.env{ parallelism = 2 }

local counts = env:socket_text_stream(params:get("hostname", "localhost"), params:get_number("port"), "\n")
  :flat_map(function(line, out)
    for word in line:lower():gmatch("[%w_]+") do out:collect({ word, 1 }) end
  end)
  :key_by(1)
  :window(flow.windows.tumbling_processing_time(params:get_number("window-ms", 5000)))
  :reduce(function(a, b) return { a[1], a[2] + b[2] } end)

counts:print():set_parallelism(1)
env:execute("Socket Window WordCount")
