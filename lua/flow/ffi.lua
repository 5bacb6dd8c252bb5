--- flow.ffi — the one door between Lua and the C core.
---
--- Everything Lua reaches through `ffi.C` is declared here, once, copied
--- from the C headers named in the comments: the error codes and record
--- tags (enums in C, since `ffi.cdef` reads no `#define`), the structs Lua
--- reads and writes, and the functions it calls. No other module calls
--- `ffi.cdef` (but for the per-symbol declaration of a user's C operator).
---
--- spec/unit/ffi_spec.lua checks that this file and the headers agree: a C
--- program (spec/c/ffi_layout.c) prints every enum value and the sizeof and
--- offsetof of every struct declared here, compared with LuaJIT's view; and
--- that program includes a file generated at build time from `M.FUNCTIONS`
--- below next to the real headers, so a prototype here that disagrees with
--- its header does not compile.
---
--- Values that cross as int64_t (checkpoint ids, split indices, clocks, byte
--- counts) become Lua numbers at this door: an int64 cdata used as a table
--- key compares by identity, and boxes in the interpreter. Call the
--- wrappers below (`M.now_ms()`, `M.task_checkpoint_request(t)`, ...) rather
--- than the C function when the result is an int64_t.
local ffi = require("ffi")

--- Types: enums and structs (no prototypes: the build-time check includes
--- the real headers, which define these types).
local TYPES = [[
/* util/common.h */
enum flow_error {
  FLOW_OK = 0,
  FLOW_ENOMEM = -1,
  FLOW_EINVAL = -2,
  FLOW_ESTATE = -3,
  FLOW_EGRAPH = -4,
  FLOW_EIO = -5,
  FLOW_ECANCELED = -6,
  FLOW_ELUA = -7,
  FLOW_EFULL = -8,
  FLOW_ETIMEDOUT = -9,
  FLOW_EBLOCKED = -10,
};

/* runtime/record_format.h (docs/record_format.md) */
enum flow_record_tag {
  FLOW_TAG_NIL = 0,
  FLOW_TAG_FALSE = 1,
  FLOW_TAG_TRUE = 2,
  FLOW_TAG_INT32 = 3,
  FLOW_TAG_INT64 = 4,
  FLOW_TAG_DOUBLE = 5,
  FLOW_TAG_SHORT_STRING = 6,
  FLOW_TAG_LONG_STRING = 7,
  FLOW_TAG_ARRAY = 8,
  FLOW_TAG_LUA = 9,
  FLOW_TAG_TS = 10,
  FLOW_TAG_WATERMARK = 11,
  FLOW_TAG_STATUS = 12,
  FLOW_TAG_BARRIER = 13,
};

/* runtime/buffer.h */
enum flow_buffer_kind {
  FLOW_BUF_DATA = 0,
  FLOW_BUF_END_OF_PARTITION = 1,
};
typedef struct flow_buffer {
  struct flow_buffer *next;
  struct flow_buffer *prev;
  uint8_t *data;
  uint32_t size;
  uint32_t capacity;
  uint32_t kind;
  int32_t channel;
} flow_buffer_t;

/* runtime/task_metrics.h: a subtask's counters; Lua writes the doubles */
typedef struct flow_operator_metrics {
  double records_in; double records_out; double late_dropped;
  double input_watermark; double output_watermark;
} flow_operator_metrics_t;
typedef struct flow_task_metrics {
  int64_t records_in; int64_t records_out; int64_t bytes_in; int64_t bytes_out;
  int64_t source_records; int64_t progress_read; int64_t progress_total;
  int64_t idle_ns; int64_t backpressured_ns; int64_t idle_since_ns; int64_t backpressured_since_ns;
  int64_t start_ns;
  double input_watermark; double output_watermark;
  int32_t n_ops; int32_t attempt;
  flow_operator_metrics_t *ops;
} flow_task_metrics_t;

/* runtime/task.h, runtime/line_reader.h: opaque */
typedef struct flow_task flow_task_t;
typedef struct flow_line_reader flow_line_reader_t;

/* include/flowlua.h (the C operator ABI) */
typedef struct flowlua_out {
  uint8_t *data; size_t size; size_t capacity; size_t records;
  int (*grow)(struct flowlua_out *, size_t);
} flowlua_out_t;
typedef struct flowlua_operator {
  int abi_version; const char *name;
  void *(*open)(const char *, size_t, int, int, char *, size_t);
  int (*process)(void *, const uint8_t *, size_t, size_t, flowlua_out_t *, char *, size_t);
  int (*finish)(void *, flowlua_out_t *, char *, size_t);
  void (*close)(void *);
} flowlua_operator_t;

/* stdlib/nexmark.h (the Nexmark generator) */
enum flow_nexmark_type {
  FLOW_NEXMARK_PERSON = 0,
  FLOW_NEXMARK_AUCTION = 1,
  FLOW_NEXMARK_BID = 2,
};
typedef struct flow_nexmark_event {
  double id; double ref; double price; double reserve; double date_time; double expires;
  int32_t type; int32_t category;
  int32_t str_off[5]; int32_t str_len[5];
  int32_t extra_off; int32_t extra_len;
} flow_nexmark_event_t;
typedef struct flow_nexmark flow_nexmark_t;
]]

--- Functions, one prototype per line (types only: the parameters' names and
--- meanings are documented in the headers), verbatim as the build-time check
--- repeats them after the real headers.
local FUNCTIONS = [[
/* runtime/task.h: the task loop's calls into its Task */
int flow_task_next(flow_task_t *, int64_t, flow_buffer_t **);
void flow_task_recycle(flow_task_t *, flow_buffer_t *);
flow_buffer_t *flow_task_buffer(flow_task_t *, uint32_t);
int flow_task_emit(flow_task_t *, int, int, flow_buffer_t *);
int64_t flow_task_collect(flow_task_t *, flow_buffer_t *, int64_t);
void flow_task_cancel_job(flow_task_t *);
void flow_task_running(flow_task_t *);
int flow_task_canceled(flow_task_t *);
void flow_task_count(flow_task_t *, int64_t, int64_t);
void flow_task_input_progress(flow_task_t *, int64_t, int64_t);
flow_task_metrics_t *flow_task_metrics(flow_task_t *);
/* runtime/task_metrics.h: Lua's writes to the counters */
void flow_op_metrics_add(flow_operator_metrics_t *, double, double, double);
void flow_op_metrics_watermarks(flow_operator_metrics_t *, double, double);
void flow_task_metrics_watermarks(flow_task_metrics_t *, double, double);
int64_t flow_task_checkpoint_request(flow_task_t *);
int64_t flow_task_checkpoint_complete(flow_task_t *);
void flow_task_ack_checkpoint(flow_task_t *, int64_t, const char *);
int flow_task_checkpoint_dir(flow_task_t *, int64_t, char *, size_t);
int64_t flow_task_next_split(flow_task_t *);
void flow_task_block_channel(flow_task_t *, int);
void flow_task_unblock_channels(flow_task_t *);
int flow_task_channel_finished(flow_task_t *, int);
/* runtime/buffer.h */
flow_buffer_t *flow_buffer_new(uint32_t);
void flow_buffer_free(flow_buffer_t *);
/* runtime/c_operator.h */
flowlua_out_t *flow_out_new(size_t);
void flow_out_free(flowlua_out_t *);
/* runtime/text_format.h */
size_t flow_format_lines(const uint8_t *, size_t, const char *, size_t, flowlua_out_t *, size_t *);
/* runtime/line_reader.h */
flow_line_reader_t *flow_lines_open(const char *, int64_t, int64_t, int64_t, char *, size_t);
int64_t flow_lines_next(flow_line_reader_t *, uint8_t *, size_t, size_t *, uint8_t **, size_t *);
int64_t flow_lines_position(flow_line_reader_t *);
void flow_lines_close(flow_line_reader_t *);
/* runtime/fd_source.h */
int flow_socket_connect(const char *, int, char *, size_t);
int64_t flow_fd_read(int, uint8_t *, size_t, int, char *, size_t);
void flow_fd_close(int);
/* util/hash.h */
uint32_t flow_crc32(const void *, size_t);
uint32_t flow_hash_bytes(const void *, size_t);
uint32_t flow_hash_number(double);
/* util/clock.h */
int64_t flow_now_ms(void);
int64_t flow_mono_ms(void);
void flow_sleep_ms(int64_t);
/* stdlib/nexmark.h */
flow_nexmark_t *flow_nexmark_new(double, double, double);
void flow_nexmark_free(flow_nexmark_t *);
int flow_nexmark_generate(flow_nexmark_t *, double, double, int, flow_nexmark_event_t *);
const char *flow_nexmark_arena(const flow_nexmark_t *);
const char *flow_nexmark_pool(const flow_nexmark_t *);
/* util/fs.h */
int flow_file_write_atomic(const char *, const void *, size_t, char *, size_t);
int flow_mkdir_p(const char *);
int64_t flow_dir_names(const char *, char *, size_t);
/* libc: free (line reader's oversize lines), kill/getpid (FLOWLUA_FAULT=...,kill) */
void free(void *);
int kill(int, int);
int getpid(void);
]]

ffi.cdef(TYPES)
ffi.cdef(FUNCTIONS)

local C = ffi.C
local tonumber = tonumber

local M = {
  C = C,
  TYPES = TYPES,
  FUNCTIONS = FUNCTIONS,
}

--- Every enum constant as a Lua number without its FLOW_ prefix
--- (M.ECANCELED, M.TAG_WATERMARK, M.BUF_DATA, ...); M.ENUMS lists them in
--- declaration order as { name = "FLOW_...", value = n }.
M.ENUMS = {}
for name in TYPES:gmatch("(FLOW_[%w_]+)%s*=") do
  local value = tonumber(C[name])
  M[name:sub(6)] = value
  M.ENUMS[#M.ENUMS + 1] = { name = name, value = value }
end

--- The structs declared here (their layout is checked against C).
M.STRUCTS = { "flow_buffer_t", "flowlua_out_t", "flowlua_operator_t", "flow_nexmark_event_t" }

-- ---------------------------------------------------------- int64 results

---@return number ms wall clock (processing time)
function M.now_ms() return tonumber(C.flow_now_ms()) end
---@return number ms monotonic clock
function M.mono_ms() return tonumber(C.flow_mono_ms()) end
---@return number id the coordinator's latest checkpoint request (0: none)
function M.task_checkpoint_request(t) return tonumber(C.flow_task_checkpoint_request(t)) end
---@return number id the latest completed checkpoint (0: none)
function M.task_checkpoint_complete(t) return tonumber(C.flow_task_checkpoint_complete(t)) end
---@return number index of the next input split nobody took yet
function M.task_next_split(t) return tonumber(C.flow_task_next_split(t)) end
---@return number total records the job collected so far, or FLOW_EFULL
function M.task_collect(t, b, records) return tonumber(C.flow_task_collect(t, b, records)) end
---@return number bytes written, 0 at the end, or FLOW_ENOMEM
function M.lines_next(r, out, cap, count, big, big_len)
  return tonumber(C.flow_lines_next(r, out, cap, count, big, big_len))
end
---@return number offset of the next line to read
function M.lines_position(r) return tonumber(C.flow_lines_position(r)) end
---@return number n > 0 bytes read, 0 end of stream, FLOW_ETIMEDOUT nothing yet, FLOW_EIO an error
function M.fd_read(fd, buf, cap, timeout_ms, err, errlen)
  return tonumber(C.flow_fd_read(fd, buf, cap, timeout_ms, err, errlen))
end

--- The names in a directory (without "." and ".."), or nil when it cannot
--- be read (missing, not a directory).
---@param path string
---@return string[]|nil names
function M.dir_names(path)
  local cap = 4096
  for _ = 1, 8 do -- the directory may grow between two calls
    local buf = ffi.new("char[?]", cap)
    local need = tonumber(C.flow_dir_names(path, buf, cap))
    if need < 0 then return nil end
    if need <= cap then
      local names, s = {}, ffi.string(buf, need)
      for name in s:gmatch("([^%z]+)%z") do names[#names + 1] = name end
      return names
    end
    cap = need * 2
  end
  return nil
end

return M
