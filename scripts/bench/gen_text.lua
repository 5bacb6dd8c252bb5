-- Deterministic text generator: gen_text.lua OUT MiB [short]
-- Words drawn from a Zipf-like vocabulary of 20000 words, 8-14 words a line,
-- mixed case and punctuation so the tokenizer has work to do.
-- short: 50 000 distinct lower-case words of about 6 bytes, drawn Zipf-like
-- (rank r with probability ~ 1/r), 10-12 words a line, single spaces.
local out, mib, shape = arg[1], tonumber(arg[2] or "100"), arg[3]
local seed = 42
local function rnd(n) -- xorshift-free LCG, deterministic across machines
  seed = (seed * 1103515245 + 12345) % 2147483648
  return math.floor(seed / 65536) % n -- the high bits: an LCG's low bits cycle fast
end
local syll = { "ka", "lo", "mi", "ne", "ra", "tu", "si", "be", "do", "fa", "gu", "ho", "ji", "qu", "ve", "wy", "xe", "zo" }
local vocab = {}
for i = 1, 20000 do
  local w, x = {}, i -- i in base 18, one syllable a digit: every word distinct
  repeat
    w[#w + 1] = syll[x % #syll + 1]
    x = math.floor(x / #syll)
  until x == 0
  vocab[i] = table.concat(w) .. (i % 7 == 0 and tostring(i % 100) or "")
end
local punct = { " ", " ", " ", ", ", ". ", "; ", " - ", "! " }
local f = assert(io.open(out, "wb"))
local target, written = mib * 1024 * 1024, 0
local buf = {}
local function put_line(s)
  buf[#buf + 1] = s
  written = written + #s
  if #buf == 4096 then f:write(table.concat(buf)); buf = {} end
end
if shape == "short" then
  local vocab, seen, i = {}, {}, 0
  while #vocab < 50000 do -- 5 to 7 letters, distinct
    i = i + 1
    local x, w = (i * 7919 + 104729) % 308915776, {} -- 26^6
    for _ = 1, 5 + i % 3 do
      w[#w + 1] = string.char(97 + x % 26)
      x = math.floor(x / 26) + (i % 5)
    end
    local word = table.concat(w)
    if not seen[word] then seen[word] = true; vocab[#vocab + 1] = word end
  end
  local n = #vocab
  local logn = math.log(n)
  -- Park-Miller (exact in doubles: the LCG above loses bits when its
  -- product passes 2^53 and cycles early)
  local pm = 42
  local function uniform()
    pm = pm * 48271 % 2147483647
    return pm / 2147483647
  end
  while written < target do
    local line = {}
    for j = 1, 10 + math.floor(uniform() * 3) do
      line[j] = vocab[math.floor(math.exp(uniform() * logn))] -- log-uniform rank: Zipf s = 1
    end
    put_line(table.concat(line, " ") .. "\n")
  end
else
  while written < target do
    local line = {}
    for j = 1, 8 + rnd(7) do
      local r = rnd(20000)
      local idx = math.floor(r * r / 20000) + 1 -- skewed towards small indices
      local w = vocab[idx]
      if rnd(10) == 0 then w = w:upper() end
      line[#line + 1] = w .. punct[rnd(#punct) + 1]
    end
    put_line(table.concat(line) .. "\n")
  end
end
f:write(table.concat(buf))
f:close()
