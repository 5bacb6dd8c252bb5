-- JSON (flow.json), loaded directly: strict RFC 8259 decoding that returns
-- nil and "what was expected at byte N" for malformed text instead of
-- raising, `null` as the sentinel json.null, a nesting limit instead of a
-- stack overflow; compact encoding with sorted object keys, integers
-- without a decimal point, and errors for NaN, infinities, non-string
-- keys and cycles.
local json = require("flow.json")

-- decode must fail with exactly this message
local function fails(text, msg)
  local v, err = json.decode(text)
  assert.is_nil(v)
  assert.are.equal(msg, err)
end

-- encode must raise an error containing this text
local function encode_fails(v, msg)
  local ok, err = pcall(json.encode, v)
  assert.is_false(ok)
  assert.matches(msg, err, 1, true)
end

local function nested(n, open, close)
  return string.rep(open, n) .. string.rep(close, n)
end

describe("flow.json", function()
  describe("decode", function()
    it("reads literals, numbers, strings, arrays and objects", function()
      assert.is_true(json.decode("true"))
      assert.is_false(json.decode("false"))
      assert.are.equal(json.null, json.decode("null"))
      assert.are.equal(42, json.decode("42"))
      assert.are.equal("hi", json.decode('"hi"'))
      assert.are.same({}, json.decode("[]"))
      assert.are.same({}, json.decode("{}"))
      assert.are.same(
        { a = { 1, 2, { b = "c" } }, d = { e = {} }, f = true, g = json.null },
        json.decode('{"a":[1,2,{"b":"c"}],"d":{"e":[]},"f":true,"g":null}'))
    end)

    it("allows space, tab, CR and LF around every token", function()
      assert.are.same({ a = { 1, 2 }, b = "x" },
        json.decode(' \t\r\n{ "a" :\t[ 1 ,\n2 ] ,\r"b"\n:"x" }\n '))
      fails("\f1", "expected a value at byte 1")
      fails("[1,\v2]", "expected a value at byte 4")
    end)

    it("decodes null to the json.null sentinel, also inside arrays", function()
      local t = json.decode("[null,1,null]")
      assert.are.equal(3, #t)
      assert.are.equal(json.null, t[1])
      assert.are.equal(json.null, t[3])
      assert.are.equal(json.null, json.decode('{"k":null}').k)
      assert.are.equal("json.null", tostring(json.null))
      assert.has_error(function() json.null.x = 1 end)
      assert.is_nil(next(json.null))
    end)

    it("keeps the last of duplicate keys", function()
      assert.are.same({ a = 2 }, json.decode('{"a":1,"a":2}'))
    end)

    it("reads number edge cases", function()
      assert.are.equal(0, json.decode("0"))
      local z = json.decode("-0")
      assert.are.equal(0, z)
      assert.are.equal(-math.huge, 1 / z) -- negative zero
      assert.are.equal(1000, json.decode("1e3"))
      assert.are.equal(1000, json.decode("1E+3"))
      assert.are.equal(0.001, json.decode("1e-3"))
      assert.are.equal(2 ^ 53, json.decode("9007199254740992"))
      assert.are.equal(2 ^ 53 - 1, json.decode("9007199254740991"))
      assert.are.equal(1.5, json.decode("1.5"))
      assert.are.equal(-12.25e-3, json.decode("-12.25e-3"))
      assert.are.equal(0.5, json.decode("0.5"))
      assert.are.equal(-7, json.decode("-7"))
      assert.are.equal(123456789, json.decode("123456789"))
    end)

    it("decodes every escape", function()
      assert.are.equal('"\\/\b\f\n\r\t', json.decode([["\"\\\/\b\f\n\r\t"]]))
      assert.are.equal("a\0b", json.decode([["a\u0000b"]]))
      assert.are.equal("A", json.decode([["\u0041"]]))
      assert.are.equal("\127", json.decode([["\u007f"]]))
      assert.are.equal("\195\169", json.decode([["\u00e9"]]))     -- é, 2 bytes
      assert.are.equal("\195\169", json.decode([["\u00E9"]]))     -- hex in either case
      assert.are.equal("\223\191", json.decode([["\u07ff"]]))     -- last 2-byte
      assert.are.equal("\224\160\128", json.decode([["\u0800"]])) -- first 3-byte
      assert.are.equal("\226\130\172", json.decode([["\u20ac"]])) -- €
      assert.are.equal("\239\191\191", json.decode([["\uffff"]]))
      assert.are.equal("x\ny\tz", json.decode([["x\ny\tz"]]))
      assert.are.equal("é raw", json.decode('"é raw"'))         -- raw UTF-8 passes through
      assert.are.equal("k\n", next(json.decode([[{"k\n":1}]])))  -- escapes in keys
    end)

    it("joins surrogate pairs into one code point", function()
      assert.are.equal("\240\159\152\128", json.decode([["\ud83d\ude00"]]))   -- U+1F600
      assert.are.equal("\240\144\128\128", json.decode([["\uD800\uDC00"]]))   -- U+10000
      assert.are.equal("\244\143\191\191", json.decode([["\udbff\udfff"]]))   -- U+10FFFF
      assert.are.equal("a\240\159\152\128b", json.decode([["a\ud83d\ude00b"]]))
    end)

    it("rejects lone and misordered surrogates", function()
      fails([["\ud800"]], "lone surrogate at byte 2")
      fails([["ab\ud800x"]], "lone surrogate at byte 4")
      fails([["\udc00"]], "lone surrogate at byte 2")
      fails([["\ude00\ud83d"]], "lone surrogate at byte 2")
      fails([["\ud800\u0041"]], "lone surrogate at byte 2")
      fails([["\ud800\ud800"]], "lone surrogate at byte 2")
      fails([["\ud800\n"]], "lone surrogate at byte 2")
    end)

    it("rejects invalid escapes and control characters in strings", function()
      fails([["\x"]], "invalid escape '\\x' at byte 2")
      fails([["ab\'"]], "invalid escape '\\'' at byte 4")
      fails([["\U0041"]], "invalid escape '\\U' at byte 2")
      fails([["\u12"]], "invalid \\u escape at byte 2")
      fails([["\u12g4"]], "invalid \\u escape at byte 2")
      fails([["\ud83d\u12"]], "invalid \\u escape at byte 8")
      fails('"a\nb"', "control character in string at byte 3")
      fails('"\tb"', "control character in string at byte 2")
      fails('"a\0"', "control character in string at byte 3")
      fails('"x\\y\31"', "invalid escape '\\y' at byte 3")
      fails('"x\\n\31"', "control character in string at byte 5")
    end)

    it("finds escapes and control characters in any string of a longer text", function()
      -- strings without escapes are taken whole: the text's next backslash
      -- and next control character are found once, not per string
      assert.are.same({ "a", "b\n", "c", "\\", "d" }, json.decode('["a","b\\n","c","\\\\","d"]'))
      assert.are.same({ x = { "p", "q" }, y = "t\tu" },
        json.decode('{\n  "x": [\n    "p",\n    "q"\n  ],\n  "y": "t\\tu"\n}\n'))
      fails('[\n"a",\n"b",\n"c\td"]', "control character in string at byte 15")
      fails('["a\\n", "b", "c\nd"]', "control character in string at byte 16")
      fails('["a", "b\\q"]', "invalid escape '\\q' at byte 9")
      assert.are.equal("a\127b", json.decode('"a\127b"')) -- DEL is not a control character here
    end)

    it("rejects unterminated strings at the opening quote", function()
      fails('"abc', "unterminated string at byte 1")
      fails('["a\\n', "unterminated string at byte 2")
      fails('"abc\\', "unterminated string at byte 1")
      fails('{"a', "unterminated string at byte 2")
    end)

    it("rejects malformed numbers", function()
      fails("01", "leading zero in number at byte 1")
      fails("-01", "leading zero in number at byte 1")
      fails("[00]", "leading zero in number at byte 2")
      fails("+1", "expected a value at byte 1")
      fails(".5", "expected a value at byte 1")
      fails("1.", "expected a digit at byte 3")
      fails("1.e3", "expected a digit at byte 3")
      fails("1e", "expected a digit at byte 3")
      fails("1e+", "expected a digit at byte 4")
      fails("-", "expected a digit at byte 2")
      fails("-a", "expected a digit at byte 2")
      fails("NaN", "expected a value at byte 1")
      fails("Infinity", "expected a value at byte 1")
      fails("-Infinity", "expected a digit at byte 2")
      fails("0x10", "expected end of input at byte 2")
      fails("1e400", "number out of range at byte 1")
      fails("[1,-1e999]", "number out of range at byte 4")
    end)

    it("rejects bad literals and missing values", function()
      fails("", "expected a value at byte 1")
      fails("   ", "expected a value at byte 4")
      fails("tru", "expected a value at byte 1")
      fails("nul", "expected a value at byte 1")
      fails("True", "expected a value at byte 1")
      fails("[1,]", "expected a value at byte 4")
      fails("[,1]", "expected a value at byte 2")
      fails("'a'", "expected a value at byte 1")
    end)

    it("says what was expected in arrays and objects", function()
      fails("[1 2]", "expected ',' or ']' at byte 4")
      fails("[1", "expected ',' or ']' at byte 3")
      fails('{"a":1 "b":2}', "expected ',' or '}' at byte 8")
      fails('{"a":1', "expected ',' or '}' at byte 7")
      fails('{"a" 1}', "expected ':' at byte 6")
      fails('{"a"', "expected ':' at byte 5")
      fails('{"a":}', "expected a value at byte 6")
      fails("{a:1}", "expected a string key or '}' at byte 2")
      fails("{1:1}", "expected a string key or '}' at byte 2")
      fails('{"a":1,}', "expected a string key at byte 8")
      fails('{"a":1, b:2}', "expected a string key at byte 9")
      fails("{", "expected a string key or '}' at byte 2")
      fails("[", "expected a value at byte 2")
      fails("]", "expected a value at byte 1")
    end)

    it("rejects trailing garbage after the value", function()
      fails("[1]x", "expected end of input at byte 4")
      fails("1 2", "expected end of input at byte 3")
      fails('{} {}', "expected end of input at byte 4")
      fails("true\n,", "expected end of input at byte 6")
      assert.are.same({ 1 }, json.decode("[1] \n"))
    end)

    it("limits nesting depth with an error, not a stack overflow", function()
      assert.are.equal(200, json.max_depth)
      local t = json.decode(nested(200, "[", "]"))
      for _ = 1, 199 do t = t[1] end
      assert.are.same({}, t)
      fails(nested(201, "[", "]"), "nesting deeper than 200 at byte 201")
      fails(string.rep('{"a":', 201) .. "1" .. string.rep("}", 201),
        "nesting deeper than 200 at byte 1001")
      fails(string.rep("[", 1000000), "nesting deeper than 200 at byte 201")
      assert.is_table(json.decode(nested(5, "[", "]"), { max_depth = 5 }))
      local v, err = json.decode(nested(6, "[", "]"), { max_depth = 5 })
      assert.is_nil(v)
      assert.are.equal("nesting deeper than 5 at byte 6", err)
    end)

    it("raises only for a non-string argument", function()
      local ok, err = pcall(json.decode, 42)
      assert.is_false(ok)
      assert.matches("flow.json: decode expects a string, got number", err, 1, true)
      assert.has_error(function() json.decode(nil) end)
      assert.has_error(function() json.decode({}) end)
    end)
  end)

  describe("encode", function()
    it("writes scalars", function()
      assert.are.equal("null", json.encode(nil))
      assert.are.equal("null", json.encode(json.null))
      assert.are.equal("true", json.encode(true))
      assert.are.equal("false", json.encode(false))
      assert.are.equal('"hi"', json.encode("hi"))
      assert.are.equal('""', json.encode(""))
    end)

    it("writes integers without a decimal point or exponent", function()
      assert.are.equal("0", json.encode(0))
      assert.are.equal("-0", json.encode(-0.0))
      assert.are.equal("1000", json.encode(1e3))
      assert.are.equal("-42", json.encode(-42))
      assert.are.equal("100000000000000", json.encode(1e14))
      assert.are.equal("9007199254740991", json.encode(2 ^ 53 - 1))
      assert.are.equal("-9007199254740991", json.encode(-(2 ^ 53 - 1)))
      assert.are.equal("9007199254740992", json.encode(2 ^ 53))
      assert.are.equal("1234567890123", json.encode(1234567890123))
    end)

    it("writes other numbers with %.17g, exactly", function()
      assert.are.equal("1.5", json.encode(1.5))
      assert.are.equal(string.format("%.17g", -12.25e-3), json.encode(-12.25e-3))
      assert.are.equal("0.10000000000000001", json.encode(0.1))
      assert.are.equal("1e+17", json.encode(1e17)) -- beyond 2^53: not written as an integer
      assert.are.equal(string.format("%.17g", 1e300), json.encode(1e300))
      for _, x in ipairs({ 0.1, -12.25e-3, 1 / 3, 1e300, 5e-324, 2 ^ 60, -2 ^ 53 - 2, 1.7976931348623157e308 }) do
        assert.are.equal(x, json.decode(json.encode(x)))
      end
    end)

    it("raises for NaN and infinities", function()
      encode_fails(0 / 0, "flow.json: cannot encode NaN")
      encode_fails(math.huge, "flow.json: cannot encode inf")
      encode_fails(-math.huge, "flow.json: cannot encode -inf")
      encode_fails({ 1, 0 / 0 }, "flow.json: cannot encode NaN")
      encode_fails({ a = { b = math.huge } }, "flow.json: cannot encode inf")
    end)

    it("escapes quotes, backslashes and control characters, passes other bytes", function()
      assert.are.equal([["a\"b\\c/d"]], json.encode('a"b\\c/d'))
      assert.are.equal([["\b\f\n\r\t"]], json.encode("\b\f\n\r\t"))
      assert.are.equal([["\u0000\u0001\u001f"]], json.encode("\0\1\31"))
      assert.are.equal('"\127é\255"', json.encode("\127é\255"))
      for c = 0, 31 do
        local s = string.char(c)
        assert.are.equal(s, json.decode(json.encode(s)))
        assert.is_nil(json.encode(s):find("%c"))
      end
    end)

    it("writes arrays, empty tables as {}, objects with sorted keys", function()
      assert.are.equal("[1,2,3]", json.encode({ 1, 2, 3 }))
      assert.are.equal('[1,"a",[true],null]', json.encode({ 1, "a", { true }, json.null }))
      assert.are.equal("{}", json.encode({}))
      assert.are.equal('{"a":1,"b":2,"c":3}', json.encode({ c = 3, a = 1, b = 2 }))
      assert.are.equal('{"A":1,"B":[1],"a":2,"aa":3,"b":{"x":{},"y":[1]}}',
        json.encode({ b = { y = { 1 }, x = {} }, aa = 3, a = 2, B = { 1 }, A = 1 }))
      assert.are.equal("[]", json.encode(json.decode("[]"))) -- an empty array stays one (json.array)
      assert.are.equal("{}", json.encode(json.decode("{}")))
      assert.are.equal('{"":0,"\\n":1}', json.encode({ ["\n"] = 1, [""] = 0 }))
      assert.are.equal('{"1":"x"}', json.encode({ ["1"] = "x" }))
    end)

    it("gives the same text for equal values, whatever the insertion order", function()
      local a, b = {}, {}
      for i = 1, 100 do a["k" .. i] = i end
      for i = 100, 1, -1 do b["k" .. i] = i end
      assert.are.equal(json.encode(a), json.encode(b))
    end)

    it("raises for keys JSON cannot hold", function()
      encode_fails({ 1, 2, x = 3 }, "object keys must be strings")
      encode_fails({ [1] = "a", [3] = "c" }, "object keys must be strings")  -- sparse
      encode_fails({ [0] = "a" }, "a number key (0)")
      encode_fails({ [1.5] = "a" }, "a number key (1.5)")
      encode_fails({ [true] = 1 }, "cannot encode a table with a boolean key (true)")
      encode_fails({ a = { [{}] = 1 } }, "cannot encode a table with a table key")
    end)

    it("raises for cycles, but writes shared tables", function()
      local t = { a = 1 }
      t.self = t
      encode_fails(t, "flow.json: cannot encode a cycle")
      local u = { 1 }
      u[2] = { { u } }
      encode_fails(u, "flow.json: cannot encode a cycle")
      local shared = { 1 }
      assert.are.equal('{"x":[1],"y":[1]}', json.encode({ x = shared, y = shared }))
      assert.are.equal("[[1],[1]]", json.encode({ shared, shared }))
    end)

    it("raises for nesting deeper than json.max_depth, which decode reads back", function()
      local t = {}
      local inner = t
      for _ = 1, 199 do inner[1] = {}; inner = inner[1] end
      inner[1] = 1 -- 200 arrays
      local text = json.encode(t)
      assert.are.equal(string.rep("[", 200) .. "1" .. string.rep("]", 200), text)
      assert.are.same(t, json.decode(text))
      inner[1] = { 1 } -- 201
      encode_fails(t, "flow.json: cannot encode nesting deeper than 200")
      inner[1] = {} -- 201 too: decode would not read "[[...[{}]...]]" back
      encode_fails(t, "flow.json: cannot encode nesting deeper than 200")
      local deep = {}
      inner = deep
      for _ = 1, 100000 do inner.a = {}; inner = inner.a end
      encode_fails(deep, "flow.json: cannot encode nesting deeper than 200")
    end)

    it("raises for functions, userdata and coroutines, at the caller", function()
      encode_fails(print, "flow.json: cannot encode a function")
      encode_fails({ f = print }, "flow.json: cannot encode a function")
      encode_fails(coroutine.create(print), "flow.json: cannot encode a thread")
      encode_fails(io.stdout, "flow.json: cannot encode a userdata")
      local ok, err = pcall(function()
        local s = json.encode(print) -- not a tail call: the error names this line
        return s
      end)
      assert.is_false(ok)
      assert.matches("^[^:]*json_spec%.lua:%d+: flow%.json:", err)
      -- a failed encode leaves nothing behind for the next one
      assert.are.equal("[1]", json.encode({ 1 }))
    end)
  end)

  describe("round trips", function()
    it("decode(encode(v)) == v for nested values", function()
      local values = {
        {},
        { 1, 2, 3 },
        { a = { b = { c = { d = { "deep", 1.5, -0.25, true, false } } } } },
        { list = { { id = 1, tags = { "x", "y" } }, { id = 2, tags = { "z" } } }, n = -12.25e-3 },
        { s = "quote\" back\\ nl\n tab\t nul\0 é 😀", [""] = "", ["é"] = "key" },
        { 0, -1, 2 ^ 53, 1e3, 1 / 3, 1e-300, json.null, { json.null } },
        { nested = { { { { { 1 } } } } } },
      }
      for _, v in ipairs(values) do
        local text = json.encode(v)
        local back = assert(json.decode(text))
        assert.are.same(v, back)
        assert.are.equal(text, json.encode(back))
      end
    end)

    it("encode(decode(s)) == s for canonical text", function()
      for _, s in ipairs({
        "null", "true", "0", "-0", "-5", "1.5", '"a\\u0001\\n"',
        '[1,[2,[3,{}]],{"a":null}]',
        '{"a":{"b":[true,false,null]},"c":"\\"\\\\"}',
        '"\240\159\152\128"',
      }) do
        assert.are.equal(s, json.encode(assert(json.decode(s))))
      end
      -- escapes decode to their bytes, written back raw (or short-escaped)
      assert.are.equal('"😀/é"', json.encode(json.decode([["\ud83d\ude00\/\u00e9"]])))
    end)

    it("reads a file's worth of event lines", function()
      local lines = {}
      for i = 1, 2000 do
        lines[i] = json.encode({ id = i, user = "u" .. (i % 17), ts = 1700000000000 + i,
          amount = i / 4, tags = { "a", "b\n" }, ok = i % 2 == 0 })
      end
      for i, line in ipairs(lines) do
        local e = assert(json.decode(line))
        assert.are.equal(i, e.id)
        assert.are.equal(1700000000000 + i, e.ts)
        assert.are.equal(i / 4, e.amount)
        assert.are.equal("b\n", e.tags[2])
      end
    end)
  end)
end)
