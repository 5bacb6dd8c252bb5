-- The dashboard (web/, served by `flowlua --set rest.port=0 --web`): a running
-- job's pages loaded in a real headless Chromium (--dump-dom once the page's
-- fetches are answered) and checked against REST; a screenshot of the job
-- page is kept in the build directory (dashboard.png) for a person to look at.
local h = require("helpers.flowlua")
local mon = require("helpers.monitor")

-- a keyed map that spins 50 µs per record: its upstream is backpressured.
-- Many records: it runs until the spec stops it.
local SLOW = [[
local flow = require("flow")
local env = flow.env{ parallelism = 2 }
env:set_runtime_mode("streaming")
env:enable_checkpointing(500)
env:from_sequence(1, tonumber(arg[1])):map(function(x) return x * 3 end)
  :filter(function(x) return x % 2 == 0 end)
  :key_by(function(x) return x % 10 end)
  :map(function(x) local t = os.clock() + 0.00005 while os.clock() < t do end return x end):name("slow")
  :add_sink(function() end)
env:execute("slow job")
]]

local function executable(p) return p and p ~= "" and os.execute("test -x " .. h.quote(p)) == 0 end

local CHROMIUM = os.getenv("CHROMIUM")
if not executable(CHROMIUM) then CHROMIUM = "/usr/bin/chromium" end
if not executable(CHROMIUM) then CHROMIUM = (h.sh("command -v chromium chromium-browser | head -1"):gsub("%s+$", "")) end
local have_chromium = executable(CHROMIUM)

-- where the screenshot goes: the build directory (that of $FLOWLUA under ctest)
local function build_dir()
  local d = os.getenv("FLOWLUA_BUILD_DIR")
  if d and d ~= "" then return d end
  local bin = os.getenv("FLOWLUA")
  return bin and bin:match("^(.*)/[^/]+$") or "build"
end

--- Loads url in headless Chromium with a fresh profile (removed after); its
--- DOM once the page has settled (virtual time: the REST fetches are
--- answered first), or, with shot = PATH, a 1400x900 screenshot there.
local function browse(url, shot)
  local profile = h.tmpname(".chromium")
  local args = { "timeout", "60", h.quote(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
    "--no-proxy-server", "--no-first-run", "--user-data-dir=" .. h.quote(profile), "--virtual-time-budget=8000" }
  if shot then
    args[#args + 1] = "--window-size=1400,900"
    args[#args + 1] = "--screenshot=" .. h.quote(shot)
  else
    args[#args + 1] = "--dump-dom"
  end
  args[#args + 1] = h.quote(url)
  local p = io.popen(table.concat(args, " ") .. " 2>/dev/null </dev/null")
  local dom = p:read("*a")
  p:close()
  os.execute("rm -rf " .. h.quote(profile))
  return dom
end

-- text as the page shows it (the serializer escapes <, >, &, quotes)
local function unescape(s)
  return (s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&#39;", "'"):gsub("&nbsp;", " ")
    :gsub("&amp;", "&"))
end

local function literal(s) return (s:gsub("%W", "%%%0")) end

-- The SVG group of each vertex box: { [id] = { tag = "<g ...>", body = the
-- markup up to the next box } }
local function vertex_boxes(dom)
  local svg = dom:match("<svg.-</svg>") or ""
  local starts = {}
  for at, tag in svg:gmatch('()(<g [^>]-data%-vertex%-id="%x+"[^>]*>)') do starts[#starts + 1] = { at, tag } end
  local boxes = {}
  for i, x in ipairs(starts) do
    local stop = starts[i + 1] and starts[i + 1][1] - 1 or #svg
    boxes[x[2]:match('data%-vertex%-id="(%x+)"')] = { tag = x[2], body = svg:sub(x[1] + #x[2], stop) }
  end
  return boxes
end

-- a rendered rate: its data-value and its shown number ("73,637" -> 73637)
local function rate(body, class)
  local value, shown = body:match('class="' .. class .. '" data%-value="([^"]*)">([^<]*)<')
  return tonumber(value), tonumber(shown and (shown:gsub(",", "")) or nil)
end

describe("the dashboard", function()
  if not have_chromium then
    it("loads in headless Chromium", function() pending("chromium is not installed") end)
    return
  end

  local job, jid, details, source, base
  local function start()
    job = mon.start(SLOW, { "100000000" }, { flags = { "--web" } })
    base = ("http://127.0.0.1:%d/"):format(job.port)
    jid = job:job_id()
    mon.wait_for(function() return job:json("/jobs/" .. jid).state == "RUNNING" end, 30, "the job to run")
    details = job:json("/jobs/" .. jid)
    for _, v in ipairs(details.vertices) do
      if v.name:find("^Source") then source = v end
    end
    assert(source, "no source vertex")
    -- live over REST before any page is loaded: the source sends records
    mon.wait_for(function()
      local m = job:json(("/jobs/%s/vertices/%s/subtasks/metrics?get=numRecordsOutPerSecond"):format(jid, source.id))
      return m[1] and m[1].sum > 0
    end, 30, "the source's rate to be non-zero")
  end
  setup(function()
    local ok, err = pcall(start)
    if not ok then
      if job then job:stop() end
      job = nil
      error(err, 0)
    end
  end)
  teardown(function()
    if job then job:stop() end
  end)

  it("draws the job graph with live rates, busy time and backpressure per vertex", function()
    assert.truthy(job:alive(), job:stderr())
    -- rates are per second over the last second: on a loaded machine the
    -- browser starting up can starve one; try again then
    local dom, boxes, out, shown
    for _ = 1, 4 do
      dom = browse(base .. "#/jobs/" .. jid)
      boxes = vertex_boxes(dom)
      if boxes[source.id] then
        out, shown = rate(boxes[source.id].body, "vertex%-rate%-out")
        if out and out > 0 then break end
      end
    end
    assert.truthy(dom:find('<div id="banner"[^>]*hidden'), "an error banner is shown:\n" .. dom)
    local text = unescape(dom)
    for _, v in ipairs(details.vertices) do
      assert.truthy(text:find(v.name, 1, true), "vertex name missing: " .. v.name)
      local box = boxes[v.id]
      assert.truthy(box, "no box for vertex " .. v.id .. " in\n" .. dom)
      local level = box.tag:match('data%-backpressure="(%a+)"')
      assert.truthy(level == "ok" or level == "low" or level == "high", box.tag)
      assert.truthy(box.tag:find("bp%-" .. level), box.tag)
      assert.truthy(box.body:find('class="vertex%-backpressure bp%-' .. level .. '"'), box.body)
      assert.truthy(unescape(box.body):find(v.name:sub(1, 20), 1, true), box.body)
      for _, class in ipairs({ "vertex-rate-in", "vertex-rate-out", "vertex-busy", "vertex-watermark" }) do
        assert.truthy(box.body:find('class="' .. literal(class) .. '"'), class .. " missing in " .. box.body)
      end
      assert.truthy(box.body:find('class="vertex%-parallelism">' .. v.parallelism .. "<"), box.body)
    end
    -- the source sends records: a live, non-zero rate, shown as a number
    assert.truthy(out and out > 0, "source rate: " .. tostring(out) .. "\n" .. boxes[source.id].body)
    assert.truthy(shown and shown > 0, "shown source rate: " .. tostring(shown))
    -- no watermark in this job: the sources' shown as a dash
    assert.truthy(boxes[source.id].body:find('class="vertex%-watermark">—<'), boxes[source.id].body)
    -- the edge of the plan, with its ship strategy
    for _, n in ipairs(details.plan.nodes) do
      for _, i in ipairs(n.inputs or {}) do
        local edge = dom:match('<g class="edge" data%-from="' .. i.id .. '" data%-to="' .. n.id .. '">.-</g>')
        assert.truthy(edge, "no edge " .. i.id .. " -> " .. n.id)
        assert.truthy(edge:find(">" .. i.ship_strategy .. "<", 1, true), edge)
      end
    end
    -- the vertex table: the same vertices with their read/write metrics
    for _, v in ipairs(details.vertices) do
      assert.truthy(dom:find('<tr data%-vertex%-id="' .. v.id .. '">'), "no table row for " .. v.name)
    end
  end)

  it("lists the running job on the overview with its state", function()
    local dom = browse(base .. "#/overview")
    local row = dom:match('<tr class="job%-row[^"]*" data%-jid="' .. jid .. '".-</tr>')
    assert.truthy(row, "no row for the job in\n" .. dom)
    assert.truthy(unescape(row):find(">slow job<", 1, true), row)
    assert.truthy(row:find(">RUNNING<", 1, true), row)
    local cards = dom:match('<section class="cards">.-</section>')
    assert.truthy(cards and cards:find("task managers", 1, true), dom)
  end)

  it("keeps a screenshot of the job page in the build directory", function()
    local path = build_dir() .. "/dashboard.png"
    os.remove(path)
    browse(base .. "#/jobs/" .. jid, path)
    local png = h.read(path)
    assert.truthy(png, "no screenshot at " .. path)
    assert.are.equal("\137PNG", png:sub(1, 4))
    assert.truthy(#png > 10 * 1024, "a suspiciously small screenshot: " .. #png .. " bytes")
  end)

  it("shows the local taskmanager with its cores", function()
    local tm = job:json("/taskmanagers").taskmanagers[1]
    assert.truthy(tm.hardware.cpuCores > 0)
    local dom = browse(base .. "#/taskmanagers")
    local row = dom:match('<tr class="taskmanager" data%-tm%-id="' .. literal(tm.id) .. '">.-</tr>')
    assert.truthy(row, "no row for taskmanager " .. tm.id .. " in\n" .. dom)
    assert.truthy(row:find('<td class="tm%-cores">' .. tm.hardware.cpuCores .. "</td>"), row)
  end)

  it("offers to cancel a running job with PATCH ?mode=cancel", function()
    assert.is_true(job:json("/config").features["web-cancel"])
    local js, code = job:curl("/web/app.js")
    assert.are.equal(200, code)
    assert.truthy(js:find("'PATCH'", 1, true), "app.js does not send PATCH")
    assert.truthy(js:find("?mode=cancel", 1, true), "app.js does not cancel with mode=cancel")
    local dom = browse(base .. "#/jobs/" .. jid)
    assert.truthy(dom:find('<button class="danger cancel%-job" data%-action="cancel" data%-jid="' .. jid .. '"'),
      "no cancel button in\n" .. dom)
  end)

  it("refers to nothing outside the server", function()
    for _, file in ipairs({ "/", "/web/app.js", "/web/style.css" }) do
      local body, code = job:curl(file)
      assert.are.equal(200, code, file)
      assert.falsy(body:find("https?://"), file .. " refers to an external URL")
    end
    local index = job:curl("/")
    assert.truthy(index:find('src="web/app.js"', 1, true))
    assert.truthy(index:find('href="web/style.css"', 1, true))
  end)

  it("says so when REST answers an error", function()
    local dom = browse(base .. "#/jobs/" .. string.rep("0", 32))
    local banner = dom:match('<div id="banner"[^>]*>(.-)</div>')
    assert.truthy(banner and banner:find("no such job", 1, true), dom)
  end)
end)
