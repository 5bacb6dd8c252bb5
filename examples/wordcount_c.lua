-- WordCount with the tokenizer in C (flow.ops.words()): the same output as
-- examples/wordcount.lua. In batch mode the tokenizer and the pre-shuffle
-- combiner run as one C pass over whole batches of lines.
--
--   flowlua examples/wordcount_c.lua --input FILE [--output PATH]
--                                    [--parallelism N] [--mode batch|streaming]
local flow = require("flow")

local params = flow.params()
local env = flow.env()
if params:has("parallelism") then env:set_parallelism(params:get_number("parallelism")) end
if params:has("mode") then env:set_runtime_mode(params:get("mode")) end

local counts = env:read_text_file(params:get_required("input"))
  :flat_map(flow.ops.words()):name("tokenizer")
  :key_by(1)
  :sum(2):name("counter")

if params:has("output") then counts:write_as_text(params:get("output")) else counts:print() end
env:execute("WordCount (C tokenizer)")
