-- WordCount, as Flink's WordCount example: counts the words of a text.
--
--   flowlua examples/wordcount.lua [--input FILE] [--output PATH]
--                                  [--parallelism N] [--mode batch|streaming]
--
-- Without --input it counts an embedded text (Flink's WordCountData: the
-- start of Goethe's Faust); without --output it prints `(word,count)` lines.
-- The tokenizer lower-cases each line and splits it on runs of characters
-- other than [A-Za-z0-9_], dropping empty tokens.
local flow = require("flow")

local params = flow.params()
local env = flow.env()
if params:has("parallelism") then env:set_parallelism(params:get_number("parallelism")) end
if params:has("mode") then env:set_runtime_mode(params:get("mode")) end

local text
if params:has("input") then
  text = env:read_text_file(params:get("input"))
else
  text = env:from_collection(require("wordcount_data"))
end

local counts = text
  :flat_map(function(line, out)
    for word in line:lower():gmatch("[%w_]+") do out:collect({ word, 1 }) end
  end):name("tokenizer")
  :key_by(1)
  :sum(2):name("counter")

if params:has("output") then
  counts:write_as_text(params:get("output")):name("file-sink")
else
  counts:print():name("print-sink")
end

env:execute("WordCount")
