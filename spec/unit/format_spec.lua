local format = require("flow.format")

describe("flow.format", function()
  describe("value", function()
    it("prints strings as they are, booleans and nil as Java does", function()
      assert.are.equal("hello world", format.value("hello world"))
      assert.are.equal("", format.value(""))
      assert.are.equal("true", format.value(true))
      assert.are.equal("false", format.value(false))
      assert.are.equal("null", format.value(nil))
    end)

    it("prints integral numbers without a decimal point", function()
      assert.are.equal("3", format.value(3))
      assert.are.equal("-7", format.value(-7))
      assert.are.equal("0", format.value(0))
      assert.are.equal("0", format.value(-0.0))
      assert.are.equal("1000000000000000", format.value(1e15))
      assert.are.equal("4611686018427387904", format.value(2 ^ 62))
      assert.are.equal("-9223372036854774784", format.value(-(2 ^ 63 - 1024)))
    end)

    it("prints other numbers as Java's Double.toString", function()
      assert.are.equal("15.277777777777777", format.value(55 / 3.6))
      assert.are.equal("0.5", format.value(0.5))
      assert.are.equal("-2.25", format.value(-2.25))
      assert.are.equal("0.30000000000000004", format.value(0.1 + 0.2))
      assert.are.equal("1.0E-5", format.value(1e-5))
      assert.are.equal("9.223372036854776E18", format.value(2 ^ 63))
      assert.are.equal("-9.223372036854776E18", format.value(-2 ^ 63))
      assert.are.equal("1.0E21", format.value(1e21))
      assert.are.equal("NaN", format.value(0 / 0))
      assert.are.equal("Infinity", format.value(1 / 0))
      assert.are.equal("-Infinity", format.value(-1 / 0))
    end)

    it("prints array tables as tuples, nested", function()
      assert.are.equal("(a,1,3)", format.value({ "a", 1, 3 }))
      assert.are.equal("(a,(b,2))", format.value({ "a", { "b", 2 } }))
      assert.are.equal("()", format.value({}))
      assert.are.equal("((),(()))", format.value({ {}, { {} } }))
      assert.are.equal("(hello,2.5,true,7)", format.value({ "hello", 2.5, true, 7 }))
    end)

    it("prints other tables as {k=v,...} with numbers before strings", function()
      assert.are.equal("{n=1,user=x}", format.value({ user = "x", n = 1 }))
      assert.are.equal("{1=a,2=b,x=3}", format.value({ "a", "b", x = 3 }))
      assert.are.equal("{-1=m,0.5=h,10=t,a=(1,2),b={c=true}}",
        format.value({ b = { c = true }, a = { 1, 2 }, [10] = "t", [0.5] = "h", [-1] = "m" }))
      assert.are.equal("{0=z,1=a}", format.value({ [0] = "z", "a" }))
    end)

    it("does not loop on cycles", function()
      local t = { name = "t" }
      t.self = t
      assert.are.equal("{name=t,self=<cycle>}", format.value(t))
      local shared = { 1 }
      assert.are.equal("((1),(1))", format.value({ shared, shared }))
    end)
  end)

  describe("double", function()
    local cases = {
      { 55, "55.0" }, { 0, "0.0" }, { -0.0, "-0.0" }, { 1, "1.0" }, { -3, "-3.0" },
      { 0.1, "0.1" }, { 0.001, "0.001" }, { 9.99e-4, "9.99E-4" },
      { 1234567, "1234567.0" }, { 9999999.5, "9999999.5" }, { 1e7, "1.0E7" },
      { 12345678, "1.2345678E7" }, { 1.2345e10, "1.2345E10" }, { 123456.789, "123456.789" },
      { 1 / 3, "0.3333333333333333" }, { 2 / 3, "0.6666666666666666" },
      { 1e-5, "1.0E-5" }, { 1.5e-7, "1.5E-7" }, { 2e23, "2.0E23" }, { 1e23, "1.0E23" },
      { 1.7976931348623157e308, "1.7976931348623157E308" },
      { 2.2250738585072014e-308, "2.2250738585072014E-308" },
      { 4.9e-324, "4.9E-324" }, { 1e-310, "1.0E-310" },
      { 0 / 0, "NaN" }, { 1 / 0, "Infinity" }, { -1 / 0, "-Infinity" },
    }
    for _, c in ipairs(cases) do
      it("prints " .. c[2], function()
        assert.are.equal(c[2], format.double(c[1]))
      end)
    end

    it("always reads back to the same double", function()
      local seed = 12345
      for _ = 1, 2000 do
        seed = (seed * 1103515245 + 12345) % 2147483648
        local d = (seed / 2147483648 - 0.5) * 10 ^ ((seed % 60) - 30)
        local s = format.double(d):gsub("E", "e")
        assert.are.equal(d, tonumber(s))
      end
    end)
  end)
end)
