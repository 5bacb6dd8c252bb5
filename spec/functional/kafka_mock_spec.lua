-- The Kafka mock cluster helper (spec/kafka_mock.c, scripts/kafka-mock.sh):
-- it starts librdkafka's mock brokers, creates the topics asked for, prints
-- the bootstrap servers, and a real librdkafka client (through LuaJIT's FFI)
-- produces to a partition of a created topic and reads the message back.
local h = require("helpers.flowlua")
local hc = require("helpers.cluster")
local ffi = require("ffi")

local bin = (os.getenv("FLOWLUA") or "build/flowlua"):gsub("[^/]+$", "") .. "kafka_mock"
local have_mock = os.execute("test -x " .. h.quote(bin)) == 0
local ok_lib, rdkafka = pcall(ffi.load, "rdkafka")

ffi.cdef [[
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_message_s {
  int err; rd_kafka_topic_t *rkt; int32_t partition; void *payload; size_t len; void *key; size_t key_len;
  int64_t offset; void *_private;
} rd_kafka_message_t;
rd_kafka_conf_t *rd_kafka_conf_new(void);
int rd_kafka_conf_set(rd_kafka_conf_t *, const char *, const char *, char *, size_t);
rd_kafka_t *rd_kafka_new(int, rd_kafka_conf_t *, char *, size_t);
void rd_kafka_destroy(rd_kafka_t *);
rd_kafka_topic_t *rd_kafka_topic_new(rd_kafka_t *, const char *, void *);
void rd_kafka_topic_destroy(rd_kafka_topic_t *);
int rd_kafka_produce(rd_kafka_topic_t *, int32_t, int, void *, size_t, const void *, size_t, void *);
int rd_kafka_flush(rd_kafka_t *, int);
int rd_kafka_consume_start(rd_kafka_topic_t *, int32_t, int64_t);
int rd_kafka_consume_stop(rd_kafka_topic_t *, int32_t);
rd_kafka_message_t *rd_kafka_consume(rd_kafka_topic_t *, int32_t, int);
void rd_kafka_message_destroy(rd_kafka_message_t *);
]]

local function client(kind, bootstrap)
  local err = ffi.new("char[512]")
  local conf = rdkafka.rd_kafka_conf_new()
  assert(rdkafka.rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, 512) == 0, ffi.string(err))
  local rk = rdkafka.rd_kafka_new(kind, conf, err, 512)
  assert(rk ~= nil, ffi.string(err))
  return rk
end

describe("the Kafka mock cluster helper", function()
  it("serves the topics it was asked for: a real client produces and consumes", function()
    if not have_mock then return pending("kafka_mock is not built (librdkafka-dev is not installed)") end
    if not ok_lib then return pending("librdkafka is not installed") end
    local out = h.tmpname(".out")
    local pid = tonumber(h.sh(("%s --brokers 3 --topic words:4 --topic other >%s 2>&1 & echo $!"):format(
      h.quote(bin), h.quote(out))):match("%d+"))
    local ok, e = pcall(function()
      local bootstrap = hc.wait_for(function() return (h.read(out) or ""):match("bootstrap.servers=(%S+)") end, 20,
        "the bootstrap servers")
      local _, n = bootstrap:gsub("[^,]+", "")
      assert.are.equal(3, n, bootstrap) -- three brokers
      local producer = client(0, bootstrap) -- RD_KAFKA_PRODUCER
      local topic = rdkafka.rd_kafka_topic_new(producer, "words", nil)
      local msg = "hello from flowlua"
      -- partition 3 exists only if the topic has the 4 partitions asked for
      assert.are.equal(0, rdkafka.rd_kafka_produce(topic, 3, 2, ffi.cast("void *", msg), #msg, nil, 0, nil))
      assert.are.equal(0, rdkafka.rd_kafka_flush(producer, 10000))
      rdkafka.rd_kafka_topic_destroy(topic)
      rdkafka.rd_kafka_destroy(producer)
      local consumer = client(1, bootstrap) -- RD_KAFKA_CONSUMER
      topic = rdkafka.rd_kafka_topic_new(consumer, "words", nil)
      assert.are.equal(0, rdkafka.rd_kafka_consume_start(topic, 3, -2)) -- RD_KAFKA_OFFSET_BEGINNING
      local got
      hc.wait_for(function()
        local m = rdkafka.rd_kafka_consume(topic, 3, 500)
        if m == nil then return false end
        if m.err == 0 then got = ffi.string(m.payload, m.len) end
        rdkafka.rd_kafka_message_destroy(m)
        return got ~= nil
      end, 20, "the message back")
      assert.are.equal(msg, got)
      rdkafka.rd_kafka_consume_stop(topic, 3)
      rdkafka.rd_kafka_topic_destroy(topic)
      rdkafka.rd_kafka_destroy(consumer)
    end)
    os.execute("kill " .. pid .. " 2>/dev/null")
    hc.wait_for(function() return os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= 0 end, 10, "kafka_mock to exit")
    os.remove(out)
    assert(ok, e)
  end)

  it("refuses what it cannot do with a clear message", function()
    if not have_mock then return pending("kafka_mock is not built (librdkafka-dev is not installed)") end
    local out = h.sh(h.quote(bin) .. " --brokers 0 2>&1; echo exit=$?")
    assert.truthy(out:find("--brokers must be 1..16", 1, true), out)
    assert.truthy(out:find("exit=1", 1, true), out)
    out = h.sh(h.quote(bin) .. " --bogus 2>&1; echo exit=$?")
    assert.truthy(out:find("usage: kafka_mock", 1, true), out)
  end)
end)
