local ffi = require("ffi")
local codec = require("flow.codec")

local function bytes(s)
  local out = {}
  for i = 1, #s do out[i] = s:byte(i) end
  return out
end

local function roundtrip(v)
  return codec.decode_string(codec.encode_string(v))
end

local function tag_of(v)
  return codec.encode_string(v):byte(1)
end

describe("flow.codec", function()
  describe("scalars", function()
    it("round-trips nil and booleans with one byte each", function()
      assert.are.same({ 0 }, bytes(codec.encode_string(nil)))
      assert.are.same({ 1 }, bytes(codec.encode_string(false)))
      assert.are.same({ 2 }, bytes(codec.encode_string(true)))
      assert.is_nil(roundtrip(nil))
      assert.is_false(roundtrip(false))
      assert.is_true(roundtrip(true))
    end)

    it("writes int32 little-endian", function()
      assert.are.same({ 3, 1, 0, 0, 0 }, bytes(codec.encode_string(1)))
      assert.are.same({ 3, 0xff, 0xff, 0xff, 0xff }, bytes(codec.encode_string(-1)))
    end)

    it("chooses int32, int64 and double by value", function()
      local cases = {
        { 0, 3 }, { 7, 3 }, { -7, 3 },
        { 2 ^ 31 - 1, 3 }, { -2 ^ 31, 3 },
        { 2 ^ 31, 4 }, { -2 ^ 31 - 1, 4 }, { 2 ^ 32, 4 },
        { 2 ^ 53 - 1, 4 }, { -(2 ^ 53 - 1), 4 }, { 1e15, 4 }, { -1099511627779, 4 },
        { 2 ^ 53, 5 }, { -2 ^ 53, 5 }, { 1e300, 5 },
        { 0.5, 5 }, { -15.277777777777777, 5 }, { 1 / 0, 5 }, { -1 / 0, 5 },
      }
      for _, c in ipairs(cases) do
        local v, tag = c[1], c[2]
        assert.are.equal(tag, tag_of(v), "tag of " .. tostring(v))
        assert.are.equal(v, roundtrip(v), "round trip of " .. tostring(v))
        assert.are.equal(tag == 3 and 5 or 9, codec.size(v))
      end
    end)

    it("keeps NaN a NaN and turns -0.0 into 0", function()
      local nan = roundtrip(0 / 0)
      assert.is_true(nan ~= nan)
      assert.are.equal(5, tag_of(0 / 0))
      assert.are.equal(0, roundtrip(-0.0))
    end)

    it("writes short strings with a u8 length and long ones with a u32 length", function()
      assert.are.same({ 6, 2, 0x61, 0x62 }, bytes(codec.encode_string("ab")))
      assert.are.same({ 6, 0 }, bytes(codec.encode_string("")))
      local s255, s256 = string.rep("x", 255), string.rep("y", 256)
      assert.are.equal(6, tag_of(s255))
      assert.are.equal(257, codec.size(s255))
      assert.are.same({ 7, 0, 1, 0, 0 }, { codec.encode_string(s256):byte(1, 5) })
      assert.are.equal(261, codec.size(s256))
      assert.are.equal(s255, roundtrip(s255))
      assert.are.equal(s256, roundtrip(s256))
      local big = string.rep("abc\0", 100000)
      assert.are.equal(big, roundtrip(big))
    end)
  end)

  describe("arrays", function()
    it("encodes a tuple as tag 8, u32 count, then the fields", function()
      assert.are.same({ 8, 2, 0, 0, 0, 6, 2, 0x61, 0x62, 3, 1, 0, 0, 0 },
        bytes(codec.encode_string({ "ab", 1 })))
    end)

    it("round-trips tuples of every length, nested and empty", function()
      local cases = {
        {}, { "a" }, { "word", 1 }, { "a", 1, 3 }, { 1, 2, 3, 4 }, { 1, 2, 3, 4, 5 },
        { "a", { "b", 2 } }, { {}, { {} } }, { true, false, 2.5, "x", 2 ^ 40 },
      }
      local long = {}
      for i = 1, 1000 do long[i] = i % 3 == 0 and tostring(i) or i end
      cases[#cases + 1] = long
      for _, v in ipairs(cases) do
        local s = codec.encode_string(v)
        assert.are.equal(8, s:byte(1))
        assert.are.equal(#s, codec.size(v))
        assert.are.same(v, codec.decode_string(s))
      end
    end)

    it("keeps nil holes inside an array", function()
      local v = roundtrip({ 1, nil, 3 })
      assert.are.equal(1, v[1])
      assert.is_nil(v[2])
      assert.are.equal(3, v[3])
    end)

    it("treats integer keys stored in the hash part as an array", function()
      local t = {}
      t[2] = "b"
      t[1] = "a"
      assert.are.equal(8, tag_of(t))
      assert.are.same({ "a", "b" }, roundtrip(t))
      assert.are.equal(2, codec.array_len(t))
    end)

    it("agrees with the array rule", function()
      assert.are.equal(0, codec.array_len({}))
      assert.are.equal(3, codec.array_len({ 1, 2, 3 }))
      assert.is_nil(codec.array_len({ 1, 2, x = 3 }))
      assert.is_nil(codec.array_len({ x = 1 }))
      assert.is_nil(codec.array_len({ [0] = "z", "a" }))
      assert.is_nil(codec.array_len({ [1.5] = 1 }))
    end)
  end)

  describe("other tables (tag 9)", function()
    it("encodes non-array tables with string.buffer", function()
      for _, v in ipairs({
        { user = "x", n = 1 },
        { 1, 2, x = 3 },
        { [0] = "z", "a" },
        { nested = { deep = { 1, 2, { k = "v" } } } },
      }) do
        local s = codec.encode_string(v)
        assert.are.equal(9, s:byte(1))
        assert.are.equal(#s, codec.size(v))
        local len = s:byte(2) + s:byte(3) * 256 + s:byte(4) * 65536 + s:byte(5) * 16777216
        assert.are.equal(#s - 5, len)
        assert.are.same(v, codec.decode_string(s))
      end
    end)

    it("nests inside arrays", function()
      local v = { "k", { user = "x", clicks = 3 }, 7 }
      assert.are.equal(8, tag_of(v))
      assert.are.same(v, roundtrip(v))
    end)

    it("carries int64 cdata", function()
      local v = roundtrip(ffi.new("int64_t", 42))
      assert.is_true(ffi.istype("int64_t", v))
      assert.is_true(v == 42LL)
    end)
  end)

  describe("encode into a buffer", function()
    local CAP = 256
    local buf

    before_each(function()
      buf = ffi.new("uint8_t[?]", CAP)
    end)

    it("writes records back to back and decodes them in order", function()
      local recs = { { "the", 1 }, "fox", 42, { "a", { "b", 2 } }, { user = "u" }, true, nil, 2 ^ 40, 0.25 }
      local off = 0
      for i = 1, 9 do
        off = codec.encode(recs[i], buf, off, CAP)
        assert.is_number(off)
      end
      local pos = 0
      for i = 1, 9 do
        local v
        v, pos = codec.decode(buf, pos)
        assert.are.same(recs[i], v)
      end
      assert.are.equal(off, pos)
    end)

    it("returns nil when the record does not fit, and fits exactly at cap", function()
      local recs = { { "word", 1 }, "x", 3, 2 ^ 40, 0.5, true, nil, { k = 1 }, { "a", { "bb", { 3, 4 } } },
        string.rep("z", 300), { 1, 2, 3, 4, 5, 6 } }
      for _, v in ipairs(recs) do
        local n = codec.size(v)
        local big = ffi.new("uint8_t[?]", n + 16)
        for start = 0, 3 do
          for cap = start, start + n - 1 do
            assert.is_nil(codec.encode(v, big, start, cap))
          end
          assert.are.equal(start + n, codec.encode(v, big, start, start + n))
          local back, e = codec.decode(big, start)
          assert.are.same(v, back)
          assert.are.equal(start + n, e)
        end
      end
    end)

    it("leaves bytes before the offset alone", function()
      local off = codec.encode("keep", buf, 0, CAP)
      assert.is_nil(codec.encode(string.rep("y", 300), buf, off, CAP))
      assert.are.equal("keep", (codec.decode(buf, 0)))
    end)
  end)

  describe("errors", function()
    local refused = {
      ["function"] = function() end,
      thread = coroutine.create(function() end),
      userdata = newproxy(),
    }

    for kind, v in pairs(refused) do
      it("refuses a " .. kind .. " anywhere in a record", function()
        local msg = "cannot encode a record containing a " .. kind
        local buf = ffi.new("uint8_t[256]")
        assert.has_error(function() codec.encode(v, buf, 0, 256) end, msg)
        assert.has_error(function() codec.encode({ "a", v }, buf, 0, 256) end, msg)
        assert.has_error(function() codec.encode({ "a", { x = { v } } }, buf, 0, 256) end, msg)
        assert.has_error(function() codec.size({ 1, v }) end, msg)
        assert.has_error(function() codec.encode_string({ k = v }) end, msg)
      end)
    end

    it("refuses corrupt input", function()
      assert.has_error(function() codec.decode_string("\99") end,
        "flow.codec: corrupt record: unknown tag 99 at offset 0")
      assert.has_error(function() codec.decode_string("\3\1\0\0\0\0") end,
        "flow.codec: corrupt record: 1 trailing bytes")
    end)
  end)
end)
