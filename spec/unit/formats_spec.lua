-- flow.formats: JSON and CSV records, as connectors decode and encode them
-- (issue 17): null, [] against {}, integers beyond 2^53, typed CSV fields,
-- quoting, and the messages of what does not decode.
local formats = require("flow.formats")
local json = require("flow.json")

describe("flow.formats.json", function()
  local fmt = formats.json()

  it("keeps null, [] against {}, and integers beyond 2^53 through a round trip", function()
    local text = '{"a":[],"b":{},"c":null,"big":9007199254740993,"neg":-9223372036854775807,"n":[1,2.5,true]}'
    local v = assert(fmt:decode(text))
    assert.are.equal(json.null, v.c)
    assert.are.equal("cdata", type(v.big))
    assert.are.equal(9007199254740993LL, v.big)
    assert.are.equal(-9223372036854775807LL, v.neg)
    assert.are.equal(2.5, v.n[2])
    assert.are.equal('{"a":[],"b":{},"big":9007199254740993,"c":null,"n":[1,2.5,true],"neg":-9223372036854775807}',
      fmt:encode(v))
    -- below 2^53 integers stay numbers; beyond int64 a double
    assert.are.equal("number", type(fmt:decode("9007199254740991")))
    assert.are.equal("number", type(fmt:decode("123456789012345678901234")))
  end)

  it("says what does not decode, with the byte", function()
    local v, err = fmt:decode('{"a":1,}')
    assert.is_nil(v)
    assert.truthy(err:find("at byte", 1, true), err)
  end)
end)

describe("flow.formats.csv", function()
  it("decodes typed fields, quoted fields and empty ones", function()
    local fmt = formats.csv { fields = { "name", "age:integer", "score:number", "ok:boolean", "note" } }
    local r = assert(fmt:decode('"Smith, ""J""",42,3.5,true,'))
    assert.are.same({ name = 'Smith, "J"', age = 42, score = 3.5, ok = true }, r)
    assert.are.equal(9007199254740993LL, fmt:decode("x,9007199254740993,1,false,y").age)
    assert.are.same({ name = "a", age = -1, score = 1e3, ok = false, note = "b c" }, fmt:decode("a,-1,1e3,false,b c\r"))
  end)

  it("refuses a bad field with its name and value, and a wrong number of fields", function()
    local fmt = formats.csv { fields = { "name", "age:integer" } }
    local v, err = fmt:decode("ann,4.5")
    assert.is_nil(v)
    assert.are.equal("field age: not an integer: '4.5'", err)
    v, err = fmt:decode("ann,4,extra")
    assert.is_nil(v)
    assert.are.equal("expected 2 fields, got 3", err)
    v, err = fmt:decode('"unterminated,4')
    assert.is_nil(v)
    assert.truthy(err:find("unterminated", 1, true))
    assert.has_error(function() formats.csv { fields = { "a:date" } } end)
    assert.has_error(function() formats.csv { delimiter = '"' } end)
  end)

  it("encodes records back, quoting what needs it; without fields, arrays of strings", function()
    local fmt = formats.csv { fields = { "name", "n:integer" }, delimiter = ";" }
    assert.are.equal('"a;b";3', fmt:encode({ name = "a;b", n = 3 }))
    assert.are.equal('" x";', fmt:encode({ name = " x" }))
    assert.are.equal("name;n", formats.header_line(fmt))
    local plain = formats.csv()
    assert.are.same({ "1", "two", "" }, plain:decode("1,two,"))
    assert.are.equal('1,"say ""hi""",', plain:encode({ "1", 'say "hi"', "" }))
    local back = formats.csv { fields = { "name", "n:integer" }, delimiter = ";" }
    assert.are.same({ name = "a;b", n = 3 }, back:decode(fmt:encode({ name = "a;b", n = 3 })))
  end)

  it("is plain data that ships with a job (its functions are built where they run)", function()
    local fmt = formats.csv { fields = { "a:integer" } }
    local shipped = require("flow.ship").decode(require("flow.ship").encode({ fmt = fmt })).fmt
    assert.are.equal(7, formats.decoder(shipped)("7").a)
  end)
end)
