-- The reference: WordCount as a plain single-threaded LuaJIT loop, with the
-- same tokenizer as examples/wordcount.lua. Prints "word count" lines to OUT
-- (or nothing with no OUT).
local input, out = arg[1], arg[2]
local counts = {}
for line in io.lines(input) do
  for word in line:lower():gmatch("[%w_]+") do
    counts[word] = (counts[word] or 0) + 1
  end
end
if out then
  local f = assert(io.open(out, "wb"))
  for w, n in pairs(counts) do f:write("(", w, ",", n, ")\n") end
  f:close()
end
