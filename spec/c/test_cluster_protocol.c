/* Cluster protocol payloads (src/cluster/protocol.c): endpoint
 * messages, job options and results round trip; every truncation and byte
 * flip of a valid payload decodes to an error or a valid value, never a
 * crash or a leak (the ASan build runs this too). */
#include <stdlib.h>
#include <string.h>

#include "cluster/protocol.h"
#include "util/common.h"
#include "ctest_assert.h"
#include "graph/job_graph.h"
#include "graph/stream_graph.h"

static const char *JOB = "0123456789abcdef0123456789abcdef";

static flow_job_graph_t *small_job(flow_stream_graph_t **sg_out) {
  char err[256];
  flow_stream_graph_t *sg = flow_sg_new("proto");
  flow_stream_node_desc_t d;
  memset(&d, 0, sizeof d);
  d.name = "src";
  d.kind = "source";
  d.parallelism = 2;
  d.is_source = 1;
  d.chaining = FLOW_CHAIN_HEAD;
  int a = flow_sg_add_node(sg, &d);
  d.name = "sum";
  d.kind = "sink";
  d.parallelism = 3;
  d.is_source = 0;
  d.is_keyed = 1;
  int b = flow_sg_add_node(sg, &d);
  CHECK_EQ_INT(flow_sg_add_edge(sg, a, b, FLOW_PART_HASH, 1, 0), 0);
  CHECK_EQ_INT(flow_sg_finalize(sg, err, sizeof err), 0);
  flow_job_graph_t *jg = flow_jg_build(sg, err, sizeof err);
  CHECK_NOT_NULL(jg);
  *sg_out = sg;
  return jg;
}

static flow_endpoint_t te_a = {.name = "a"}, te_b = {.name = "b"};
static const char *addr_of(flow_endpoint_t *te) { return te == &te_a ? "127.0.0.1:1000" : "[::1]:2000"; }

/* Decodes every prefix and every single-byte corruption of w's bytes:
 * must not crash; returns how many decoded (the full one must). */
static int abuse_msg(const flow_wbuf_t *w, flow_proto_sender_t from) {
  int ok = 0;
  uint8_t *copy = malloc(w->len);
  for (size_t n = 0; n <= w->len; n++) {
    flow_rbuf_t r;
    flow_rbuf_init(&r, w->data, n);
    flow_proto_msg_t cm;
    if (flow_proto_read_msg(&r, from, &cm) == 0) {
      ok++;
      flow_proto_msg_clear(&cm);
    }
  }
  for (size_t i = 0; i < w->len; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(copy, w->data, w->len);
      copy[i] ^= (uint8_t)(1u << bit);
      for (int f = 0; f < 2; f++) { /* a byte flip may turn it into any type, from either side */
        flow_rbuf_t r;
        flow_rbuf_init(&r, copy, w->len);
        flow_proto_msg_t cm;
        if (flow_proto_read_msg(&r, (flow_proto_sender_t)f, &cm) == 0) flow_proto_msg_clear(&cm);
      }
    }
  }
  free(copy);
  return ok;
}

static void test_messages(void) {
  CTEST_CASE("endpoint messages");
  flow_stream_graph_t *sg;
  flow_job_graph_t *jg = small_job(&sg);
  /* OFFER_SLOTS with indices */
  int idx[3] = {4, 0, 7};
  flow_msg_t m = {.type = FLOW_MSG_OFFER_SLOTS};
  m.offer_slots.task_executor = &te_a;
  m.offer_slots.n_slots = 3;
  m.offer_slots.generation = 9;
  m.offer_slots.slots = idx;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, NULL), 0);
  flow_rbuf_t r;
  flow_rbuf_init(&r, w.data, w.len);
  flow_proto_msg_t cm;
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_TASKMANAGER, &cm), 0);
  CHECK_EQ_INT(cm.m.type, FLOW_MSG_OFFER_SLOTS);
  CHECK_STR(cm.job_id, JOB);
  CHECK_EQ_INT(cm.m.offer_slots.n_slots, 3);
  CHECK_EQ_INT(cm.m.offer_slots.generation, 9);
  CHECK_NULL(cm.m.offer_slots.task_executor); /* the receiver knows the connection */
  CHECK_INTS(cm.m.offer_slots.slots, 3, 4, 0, 7);
  flow_proto_msg_clear(&cm);
  CHECK_EQ_INT(abuse_msg(&w, FLOW_PROTO_FROM_TASKMANAGER), 1);
  flow_wbuf_free(&w);

  /* TASK_STATE with an error and accumulators */
  m = (flow_msg_t){.type = FLOW_MSG_TASK_STATE};
  m.task_state.task = (flow_task_id_t){2, 1, 3};
  m.task_state.state = FLOW_EXEC_FAILED;
  m.task_state.error = "hello";
  m.task_state.accumulators = flow_buffer_from("acc\0x", 5);
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, NULL), 0);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_TASKMANAGER, &cm), 0);
  CHECK_EQ_INT(cm.m.type, FLOW_MSG_TASK_STATE);
  CHECK(cm.m.task_state.task.vertex == 2 && cm.m.task_state.task.subtask == 1 && cm.m.task_state.task.attempt == 3);
  CHECK_EQ_INT(cm.m.task_state.state, FLOW_EXEC_FAILED);
  CHECK_NULL(cm.m.task_state.reporter);
  CHECK_STR(cm.m.task_state.error, "hello");
  const flow_buffer_t *acc = cm.m.task_state.accumulators;
  CHECK(acc != NULL && acc->size == 5 && memcmp(acc->data, "acc\0x", 5) == 0);
  flow_proto_msg_clear(&cm);
  CHECK_EQ_INT(abuse_msg(&w, FLOW_PROTO_FROM_TASKMANAGER), 1);
  flow_buffer_free(m.task_state.accumulators);
  flow_wbuf_free(&w);

  /* SUBMIT_TASK: the deployment and the location map */
  flow_endpoint_t *locs[5] = {&te_a, &te_b, &te_a, &te_b, &te_b};
  flow_task_deployment_t d;
  memset(&d, 0, sizeof d);
  d.jg = jg;
  d.buffer_timeout_ms = 25;
  d.exactly_once = 1;
  d.restore_dir = "/ck/chk-3";
  d.locations = locs;
  m = (flow_msg_t){.type = FLOW_MSG_SUBMIT_TASK};
  m.submit_task.task = (flow_task_id_t){2, 1, 4};
  m.submit_task.slot = 0;
  m.submit_task.deployment = &d;
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, addr_of), 0);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_JOBMANAGER, &cm), 0);
  CHECK_EQ_INT(cm.m.submit_task.task.vertex, 2);
  CHECK_EQ_INT(cm.m.submit_task.task.attempt, 4);
  const flow_task_deployment_t *got = cm.m.submit_task.deployment;
  CHECK_NOT_NULL(got);
  CHECK_EQ_INT((int)got->buffer_timeout_ms, 25);
  CHECK_EQ_INT(got->exactly_once, 1);
  CHECK_STR(got->restore_dir, "/ck/chk-3");
  CHECK_NULL(got->checkpoint_dir);
  CHECK(got->jg == NULL && got->job == NULL && got->net == NULL); /* the receiver's to set */
  CHECK_EQ_INT(cm.n_addrs, 2);
  CHECK_EQ_INT(cm.n_exec, 5);
  CHECK_STR(cm.addrs[cm.exec_addr[0]], "127.0.0.1:1000");
  CHECK_STR(cm.addrs[cm.exec_addr[4]], "[::1]:2000");
  CHECK(cm.exec_addr[0] == cm.exec_addr[2] && cm.exec_addr[1] == cm.exec_addr[3]);
  flow_proto_msg_clear(&cm);
  CHECK_EQ_INT(abuse_msg(&w, FLOW_PROTO_FROM_JOBMANAGER), 1);
  /* from a taskmanager a SUBMIT_TASK parses, but carries nothing: refused by the receiver */
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_TASKMANAGER, &cm), 0);
  CHECK_EQ_INT(cm.m.type, FLOW_MSG_SUBMIT_TASK);
  CHECK_NULL(cm.m.submit_task.deployment);
  flow_proto_msg_clear(&cm);
  flow_wbuf_free(&w);

  /* FREE_SLOTS with and without indices; from a taskmanager it is SLOTS_FREED */
  for (int with = 0; with < 2; with++) {
    m = (flow_msg_t){.type = FLOW_MSG_FREE_SLOTS};
    m.free_slots.job_master = &te_b;
    m.free_slots.n_slots = with ? 2 : 0;
    m.free_slots.slots = with ? idx : NULL;
    flow_wbuf_init(&w);
    CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, NULL), 0);
    flow_rbuf_init(&r, w.data, w.len);
    CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_JOBMANAGER, &cm), 0);
    CHECK_EQ_INT(cm.m.type, FLOW_MSG_FREE_SLOTS);
    CHECK(with ? cm.m.free_slots.slots != NULL && cm.m.free_slots.slots[1] == 0 : cm.m.free_slots.slots == NULL);
    flow_proto_msg_clear(&cm);
    flow_wbuf_free(&w);
  }
  m = (flow_msg_t){.type = FLOW_MSG_SLOTS_FREED};
  m.slots_freed.task_executor = &te_a;
  m.slots_freed.n_slots = 3;
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_proto_write_msg(&w, &m, NULL, NULL), 0);
  CHECK_EQ_INT(w.data[0], FLOW_MSG_FREE_SLOTS);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_TASKMANAGER, &cm), 0);
  CHECK_EQ_INT(cm.m.type, FLOW_MSG_SLOTS_FREED);
  CHECK_EQ_INT(cm.m.slots_freed.n_slots, 3);
  CHECK_STR(cm.job_id, "");
  flow_proto_msg_clear(&cm);
  flow_wbuf_free(&w);

  /* checkpoint ids: int64 in the messages, i32 on the wire; never narrowed */
  int64_t ids[] = {0, 1, INT32_MAX, (int64_t)INT32_MAX + 1, -1, INT64_MAX};
  for (int i = 0; i < 6; i++) {
    m = (flow_msg_t){.type = FLOW_MSG_ACK_CHECKPOINT};
    m.ack_checkpoint.task = (flow_task_id_t){1, 0, 0};
    m.ack_checkpoint.checkpoint_id = ids[i];
    flow_wbuf_init(&w);
    int fits = ids[i] >= 0 && ids[i] <= INT32_MAX;
    CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, NULL), fits ? 0 : FLOW_EINVAL);
    if (fits) {
      flow_rbuf_init(&r, w.data, w.len);
      CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_TASKMANAGER, &cm), 0);
      CHECK(cm.m.ack_checkpoint.checkpoint_id == ids[i]);
      flow_proto_msg_clear(&cm);
    } else {
      CHECK_EQ_INT(w.len, 0); /* nothing written */
    }
    flow_wbuf_free(&w);
  }

  /* messages that name local objects do not cross the wire */
  flow_msg_type_t local[] = {FLOW_MSG_SUBMIT_JOB, FLOW_MSG_JOB_RESULT, FLOW_MSG_REGISTER_TE,
                             FLOW_MSG_REQUEST_SLOTS, FLOW_MSG_TRIGGER_SAVEPOINT, FLOW_MSG_SAVEPOINT_DONE,
                             FLOW_MSG_CANCEL_SLOT_REQUEST, FLOW_MSG_TE_LOST, FLOW_MSG_FREE_JOB_MASTER};
  for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
    m = (flow_msg_t){.type = local[i]};
    flow_wbuf_init(&w);
    CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, NULL), FLOW_EINVAL);
    CHECK_EQ_INT(w.len, 0);
    flow_wbuf_free(&w);
  }

  /* refused: a bad job id, an unknown type, trailing bytes */
  const char *bad_ids[] = {"short", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcdeg"};
  for (int i = 0; i < 3; i++) {
    m = (flow_msg_t){.type = FLOW_MSG_CANCEL_TASK};
    flow_wbuf_init(&w);
    flow_proto_write_msg(&w, &m, bad_ids[i], NULL);
    flow_rbuf_init(&r, w.data, w.len);
    CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_JOBMANAGER, &cm), FLOW_EINVAL);
    flow_wbuf_free(&w);
  }
  m = (flow_msg_t){.type = FLOW_MSG_CANCEL_TASK};
  flow_wbuf_init(&w);
  flow_proto_write_msg(&w, &m, JOB, NULL);
  w.data[0] = 200;
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_JOBMANAGER, &cm), FLOW_EINVAL);
  w.data[0] = FLOW_MSG_FREE_JOB_MASTER; /* never on the wire */
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_JOBMANAGER, &cm), FLOW_EINVAL);
  w.data[0] = FLOW_MSG_CANCEL_TASK;
  flow_wr_u8(&w, 0);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_JOBMANAGER, &cm), FLOW_EINVAL);
  flow_wbuf_free(&w);

  /* an offer claiming more indices than there are bytes */
  flow_wbuf_init(&w);
  flow_wr_u8(&w, FLOW_MSG_OFFER_SLOTS);
  flow_wr_str(&w, JOB);
  flow_wr_i32(&w, 0), flow_wr_i32(&w, 1 << 20), flow_wr_i32(&w, 0), flow_wr_i32(&w, 0);
  flow_wr_str(&w, NULL);
  flow_wr_u8(&w, 0);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, FLOW_PROTO_FROM_TASKMANAGER, &cm), FLOW_EINVAL);
  flow_wbuf_free(&w);

  flow_jg_free(jg);
  flow_sg_free(sg);
}

/* ---- golden bytes -------------------------------------------------------
 * The exact bytes of every endpoint message that crosses the wire between a
 * jobmanager and a taskmanager (docs/wire.md), and of a channel address,
 * recorded from the encoder before the endpoint messages became typed. The
 * hex strings are the wire format: they never change. Only the code that
 * builds and inspects the messages follows the message API.
 * FLOW_PRINT_GOLDEN=1 prints what the encoder produces. */

static char *hex_of(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char *s = malloc(n * 2 + 1);
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  s[n * 2] = '\0';
  return s;
}

static uint8_t *bytes_of(const char *hex, size_t *n) {
  *n = strlen(hex) / 2;
  uint8_t *b = malloc(*n ? *n : 1);
  for (size_t i = 0; i < *n; i++) {
    unsigned v = 0;
    sscanf(hex + 2 * i, "%2x", &v);
    b[i] = (uint8_t)v;
  }
  return b;
}

/* the job id as a wire string: u32 32 + "0123456789abcdef" twice */
#define HJOB "20000000" "30313233343536373839616263646566" "30313233343536373839616263646566"
#define HNULL "ffffffff" /* a NULL optional string */

enum {
  G_ALLOCATE_SLOTS,
  G_SUBMIT_TASK,
  G_CANCEL_TASK,
  G_TRIGGER_CHECKPOINT_DIR,
  G_TRIGGER_CHECKPOINT,
  G_NOTIFY_CHECKPOINT,
  G_FREE_SLOTS_ALL,
  G_FREE_SLOTS_SOME,
  G_OFFER_SLOTS,
  G_SLOTS_UNAVAILABLE,
  G_TASK_STATE_RUNNING,
  G_TASK_STATE_FINISHED,
  G_TASK_STATE_FAILED,
  G_ACK_CHECKPOINT,
  G_ACK_CHECKPOINT_DECLINED,
  G_CANCEL_JOB,
  G_SLOTS_FREED,
  G_COUNT
};

/* Each: u8 type, str job id (nullable), i32 a b c d, str text (nullable),
 * u8 has blob [bytes blob], then what the type adds. */
static const struct {
  const char *name;
  const char *hex;
} GOLDEN[G_COUNT] = {
  [G_ALLOCATE_SLOTS] = {"ALLOCATE_SLOTS",
                        "04" HJOB "02000000" "00000000" "03000000" "00000000" HNULL "00"},
  [G_SUBMIT_TASK] = {"SUBMIT_TASK",
                     "07" HJOB "02000000" "01000000" "04000000" "01000000" HNULL "00"
                     "1900000000000000" "01" "09000000" "2f636b2f63686b2d33" "07000000" "2f636b2f6a6f62"
                     "02000000" "0e000000" "3132372e302e302e313a31303030" "0a000000" "5b3a3a315d3a32303030"
                     "05000000" "00000000" "01000000" "00000000" "01000000" "01000000"},
  [G_CANCEL_TASK] = {"CANCEL_TASK",
                     "08" HJOB "01000000" "00000000" "02000000" "00000000" HNULL "00"},
  [G_TRIGGER_CHECKPOINT_DIR] = {"TRIGGER_CHECKPOINT (the directory)",
                                "0c" HJOB "00000000" "00000000" "00000000" "07000000" "09000000" "2f636b2f63686b2d37" "00"},
  [G_TRIGGER_CHECKPOINT] = {"TRIGGER_CHECKPOINT (a source task)",
                            "0c" HJOB "01000000" "01000000" "00000000" "07000000" "09000000" "2f636b2f63686b2d37" "00"},
  [G_NOTIFY_CHECKPOINT] = {"NOTIFY_CHECKPOINT",
                           "0e" HJOB "00000000" "00000000" "00000000" "07000000" HNULL "00"},
  [G_FREE_SLOTS_ALL] = {"FREE_SLOTS (every slot of the job)",
                        "0a" HJOB "00000000" "00000000" "00000000" "00000000" HNULL "00" "00"},
  [G_FREE_SLOTS_SOME] = {"FREE_SLOTS (a stale offer)",
                         "0a" HJOB "00000000" "02000000" "00000000" "00000000" HNULL "00" "01" "04000000" "00000000"},
  [G_OFFER_SLOTS] = {"OFFER_SLOTS",
                     "05" HJOB "00000000" "03000000" "09000000" "00000000" HNULL "00" "04000000" "00000000" "07000000"},
  [G_SLOTS_UNAVAILABLE] = {"SLOTS_UNAVAILABLE",
                           "06" HJOB "00000000" "00000000" "05000000" "00000000" "10000000"
                           "6e6f7420656e6f75676820736c6f7473" "00"},
  [G_TASK_STATE_RUNNING] = {"TASK_STATE (running)",
                            "09" HJOB "02000000" "01000000" "04000000" "04000000" HNULL "00"},
  [G_TASK_STATE_FINISHED] = {"TASK_STATE (finished, accumulators)",
                             "09" HJOB "01000000" "00000000" "00000000" "05000000" HNULL "01" "05000000" "6163630078"},
  [G_TASK_STATE_FAILED] = {"TASK_STATE (failed)",
                           "09" HJOB "02000000" "02000000" "01000000" "08000000" "04000000" "626f6f6d" "00"},
  [G_ACK_CHECKPOINT] = {"ACK_CHECKPOINT",
                        "0d" HJOB "01000000" "01000000" "00000000" "07000000" "18000000"
                        "2f636b2f63686b2d372f7461736b2d312d312e7374617465" "00"},
  [G_ACK_CHECKPOINT_DECLINED] = {"ACK_CHECKPOINT (declined)",
                                 "0d" HJOB "02000000" "00000000" "03000000" "08000000" HNULL "00"},
  [G_CANCEL_JOB] = {"CANCEL_JOB",
                    "0b" HJOB "00000000" "00000000" "00000000" "00000000" HNULL "00"},
  [G_SLOTS_FREED] = {"FREE_SLOTS (taskmanager -> ResourceManager)",
                     "0a" HNULL "02000000" "00000000" "00000000" "00000000" HNULL "00" "00"},
};

static const char *GOLDEN_CHANNEL = HJOB "02000000" "03000000" "01000000" "04000000";

static flow_endpoint_t job_ep = {.name = "JobMaster", .id = "0123456789abcdef0123456789abcdef"};

/* Who sends golden case g: the jobmanager (a JobMaster, or the
 * ResourceManager's ALLOCATE_SLOTS) or a taskmanager. */
static flow_proto_sender_t golden_sender(int g) {
  return g <= G_FREE_SLOTS_SOME ? FLOW_PROTO_FROM_JOBMANAGER : FLOW_PROTO_FROM_TASKMANAGER;
}

/* Encodes golden case g as its sender does (the job id of the jobmanager's
 * proxy comes from the JobMaster the message acts for; the taskmanager's
 * from the job's proxy, none for the ResourceManager's). */
static int encode_golden(int g, const flow_job_graph_t *jg, flow_wbuf_t *w) {
  static int idx3[3] = {4, 0, 7}, idx2[2] = {4, 0};
  static flow_endpoint_t *locs[5] = {&te_a, &te_b, &te_a, &te_b, &te_b};
  flow_msg_t m;
  memset(&m, 0, sizeof m);
  flow_task_deployment_t d;
  memset(&d, 0, sizeof d);
  const char *job = JOB;
  int rc;
  switch (g) {
  case G_ALLOCATE_SLOTS:
    m.type = FLOW_MSG_ALLOCATE_SLOTS;
    m.allocate_slots = (flow_msg_slot_request_t){.job_master = &job_ep, .n_slots = 2, .generation = 3};
    break;
  case G_SUBMIT_TASK:
    d.jg = jg;
    d.buffer_timeout_ms = 25;
    d.exactly_once = 1;
    d.restore_dir = "/ck/chk-3";
    d.checkpoint_dir = "/ck/job";
    d.locations = locs;
    m.type = FLOW_MSG_SUBMIT_TASK;
    m.submit_task = (flow_msg_submit_task_t){.job_master = &job_ep, .task = {2, 1, 4}, .slot = 1, .deployment = &d};
    break;
  case G_CANCEL_TASK:
    m.type = FLOW_MSG_CANCEL_TASK;
    m.cancel_task = (flow_msg_cancel_task_t){.job_master = &job_ep, .task = {1, 0, 2}};
    break;
  case G_TRIGGER_CHECKPOINT_DIR:
    m.type = FLOW_MSG_TRIGGER_CHECKPOINT;
    m.trigger_checkpoint = (flow_msg_trigger_checkpoint_t){.job_master = &job_ep, .checkpoint_id = 7, .dir = "/ck/chk-7"};
    break;
  case G_TRIGGER_CHECKPOINT:
    m.type = FLOW_MSG_TRIGGER_CHECKPOINT;
    m.trigger_checkpoint =
        (flow_msg_trigger_checkpoint_t){.job_master = &job_ep, .task = {1, 1, 0}, .checkpoint_id = 7, .dir = "/ck/chk-7"};
    break;
  case G_NOTIFY_CHECKPOINT:
    m.type = FLOW_MSG_NOTIFY_CHECKPOINT;
    m.notify_checkpoint = (flow_msg_notify_checkpoint_t){.job_master = &job_ep, .checkpoint_id = 7};
    break;
  case G_FREE_SLOTS_ALL:
    m.type = FLOW_MSG_FREE_SLOTS;
    m.free_slots = (flow_msg_free_slots_t){.job_master = &job_ep};
    break;
  case G_FREE_SLOTS_SOME:
    m.type = FLOW_MSG_FREE_SLOTS;
    m.free_slots = (flow_msg_free_slots_t){.job_master = &job_ep, .n_slots = 2, .slots = idx2};
    break;
  case G_OFFER_SLOTS:
    m.type = FLOW_MSG_OFFER_SLOTS;
    m.offer_slots = (flow_msg_offer_slots_t){.task_executor = &te_a, .generation = 9, .n_slots = 3, .slots = idx3};
    break;
  case G_SLOTS_UNAVAILABLE:
    m.type = FLOW_MSG_SLOTS_UNAVAILABLE;
    m.slots_unavailable = (flow_msg_slots_unavailable_t){.generation = 5, .reason = "not enough slots"};
    break;
  case G_TASK_STATE_RUNNING:
    m.type = FLOW_MSG_TASK_STATE;
    m.task_state = (flow_msg_task_state_t){.task = {2, 1, 4}, .state = FLOW_EXEC_RUNNING};
    break;
  case G_TASK_STATE_FINISHED:
    m.type = FLOW_MSG_TASK_STATE;
    m.task_state = (flow_msg_task_state_t){.task = {1, 0, 0}, .state = FLOW_EXEC_FINISHED};
    m.task_state.accumulators = flow_buffer_from("acc\0x", 5);
    break;
  case G_TASK_STATE_FAILED:
    m.type = FLOW_MSG_TASK_STATE;
    m.task_state = (flow_msg_task_state_t){.task = {2, 2, 1}, .state = FLOW_EXEC_FAILED, .error = "boom"};
    break;
  case G_ACK_CHECKPOINT:
    m.type = FLOW_MSG_ACK_CHECKPOINT;
    m.ack_checkpoint =
        (flow_msg_ack_checkpoint_t){.task = {1, 1, 0}, .checkpoint_id = 7, .state_file = "/ck/chk-7/task-1-1.state"};
    break;
  case G_ACK_CHECKPOINT_DECLINED:
    m.type = FLOW_MSG_ACK_CHECKPOINT;
    m.ack_checkpoint = (flow_msg_ack_checkpoint_t){.task = {2, 0, 3}, .checkpoint_id = 8};
    break;
  case G_CANCEL_JOB: m.type = FLOW_MSG_CANCEL_JOB; break;
  case G_SLOTS_FREED:
    m.type = FLOW_MSG_SLOTS_FREED;
    m.slots_freed = (flow_msg_slots_freed_t){.task_executor = &te_a, .n_slots = 2};
    job = NULL;
    break;
  default: return FLOW_EINVAL;
  }
  rc = flow_proto_write_msg(w, &m, job, addr_of);
  if (m.type == FLOW_MSG_TASK_STATE) flow_buffer_free(m.task_state.accumulators);
  return rc;
}

static int task_is(const flow_task_id_t *t, int vertex, int subtask, int attempt) {
  return t->vertex == vertex && t->subtask == subtask && t->attempt == attempt;
}

/* What the receiver reads from golden case g. */
static void check_golden_decoded(int g, const flow_proto_msg_t *cm) {
  const flow_msg_t *m = &cm->m;
  CHECK_STR(cm->job_id, g == G_SLOTS_FREED ? "" : JOB);
  switch (g) {
  case G_ALLOCATE_SLOTS:
    CHECK_EQ_INT(m->type, FLOW_MSG_ALLOCATE_SLOTS);
    CHECK(m->allocate_slots.n_slots == 2 && m->allocate_slots.generation == 3);
    break;
  case G_SUBMIT_TASK: {
    CHECK_EQ_INT(m->type, FLOW_MSG_SUBMIT_TASK);
    CHECK(task_is(&m->submit_task.task, 2, 1, 4) && m->submit_task.slot == 1);
    const flow_task_deployment_t *d = m->submit_task.deployment;
    CHECK_NOT_NULL(d);
    if (d == NULL) break;
    CHECK_EQ_INT(d->buffer_timeout_ms, 25);
    CHECK_EQ_INT(d->exactly_once, 1);
    CHECK_STR(d->restore_dir, "/ck/chk-3");
    CHECK_STR(d->checkpoint_dir, "/ck/job");
    CHECK(cm->n_addrs == 2 && cm->n_exec == 5);
    CHECK_STR(cm->addrs[0], "127.0.0.1:1000");
    CHECK_STR(cm->addrs[1], "[::1]:2000");
    CHECK_INTS(cm->exec_addr, 5, 0, 1, 0, 1, 1);
    break;
  }
  case G_CANCEL_TASK:
    CHECK_EQ_INT(m->type, FLOW_MSG_CANCEL_TASK);
    CHECK(task_is(&m->cancel_task.task, 1, 0, 2));
    break;
  case G_TRIGGER_CHECKPOINT_DIR:
  case G_TRIGGER_CHECKPOINT:
    CHECK_EQ_INT(m->type, FLOW_MSG_TRIGGER_CHECKPOINT);
    CHECK_EQ_INT(m->trigger_checkpoint.task.vertex, g == G_TRIGGER_CHECKPOINT ? 1 : 0);
    CHECK(m->trigger_checkpoint.checkpoint_id == 7);
    CHECK_STR(m->trigger_checkpoint.dir, "/ck/chk-7");
    break;
  case G_NOTIFY_CHECKPOINT:
    CHECK_EQ_INT(m->type, FLOW_MSG_NOTIFY_CHECKPOINT);
    CHECK(m->notify_checkpoint.checkpoint_id == 7);
    break;
  case G_FREE_SLOTS_ALL:
    CHECK_EQ_INT(m->type, FLOW_MSG_FREE_SLOTS);
    CHECK_NULL(m->free_slots.slots);
    break;
  case G_FREE_SLOTS_SOME:
    CHECK_EQ_INT(m->type, FLOW_MSG_FREE_SLOTS);
    CHECK_EQ_INT(m->free_slots.n_slots, 2);
    CHECK_INTS(m->free_slots.slots, 2, 4, 0);
    break;
  case G_OFFER_SLOTS:
    CHECK_EQ_INT(m->type, FLOW_MSG_OFFER_SLOTS);
    CHECK(m->offer_slots.n_slots == 3 && m->offer_slots.generation == 9);
    CHECK_INTS(m->offer_slots.slots, 3, 4, 0, 7);
    break;
  case G_SLOTS_UNAVAILABLE:
    CHECK_EQ_INT(m->type, FLOW_MSG_SLOTS_UNAVAILABLE);
    CHECK_EQ_INT(m->slots_unavailable.generation, 5);
    CHECK_STR(m->slots_unavailable.reason, "not enough slots");
    break;
  case G_TASK_STATE_RUNNING:
    CHECK_EQ_INT(m->type, FLOW_MSG_TASK_STATE);
    CHECK(task_is(&m->task_state.task, 2, 1, 4) && m->task_state.state == FLOW_EXEC_RUNNING);
    break;
  case G_TASK_STATE_FINISHED: {
    CHECK_EQ_INT(m->task_state.state, FLOW_EXEC_FINISHED);
    const flow_buffer_t *b = m->task_state.accumulators;
    CHECK(b != NULL && b->size == 5 && memcmp(b->data, "acc\0x", 5) == 0);
    break;
  }
  case G_TASK_STATE_FAILED:
    CHECK(task_is(&m->task_state.task, 2, 2, 1) && m->task_state.state == FLOW_EXEC_FAILED);
    CHECK_STR(m->task_state.error, "boom");
    break;
  case G_ACK_CHECKPOINT:
    CHECK_EQ_INT(m->type, FLOW_MSG_ACK_CHECKPOINT);
    CHECK(task_is(&m->ack_checkpoint.task, 1, 1, 0) && m->ack_checkpoint.checkpoint_id == 7);
    CHECK_STR(m->ack_checkpoint.state_file, "/ck/chk-7/task-1-1.state");
    break;
  case G_ACK_CHECKPOINT_DECLINED:
    CHECK(task_is(&m->ack_checkpoint.task, 2, 0, 3) && m->ack_checkpoint.checkpoint_id == 8);
    CHECK_NULL(m->ack_checkpoint.state_file);
    break;
  case G_CANCEL_JOB: CHECK_EQ_INT(m->type, FLOW_MSG_CANCEL_JOB); break;
  case G_SLOTS_FREED:
    CHECK_EQ_INT(m->type, FLOW_MSG_SLOTS_FREED);
    CHECK_EQ_INT(m->slots_freed.n_slots, 2);
    break;
  default: break;
  }
}

static void test_golden_bytes(void) {
  CTEST_CASE("golden bytes");
  flow_stream_graph_t *sg;
  flow_job_graph_t *jg = small_job(&sg);
  int print = getenv("FLOW_PRINT_GOLDEN") != NULL;
  for (int g = 0; g < G_COUNT; g++) {
    CTEST_CASE(GOLDEN[g].name);
    flow_wbuf_t w;
    flow_wbuf_init(&w);
    CHECK_EQ_INT(encode_golden(g, jg, &w), 0);
    char *got = hex_of(w.data, w.len);
    CHECK_STR(got, GOLDEN[g].hex);
    if (print) printf("%s\n  \"%s\"\n", GOLDEN[g].name, got);
    free(got);
    flow_wbuf_free(&w);
    size_t n;
    uint8_t *b = bytes_of(GOLDEN[g].hex, &n);
    flow_rbuf_t r;
    flow_rbuf_init(&r, b, n);
    flow_proto_msg_t cm;
    CHECK_EQ_INT(flow_proto_read_msg(&r, golden_sender(g), &cm), 0);
    if (r.err == 0) {
      check_golden_decoded(g, &cm);
      flow_proto_msg_clear(&cm);
    }
    free(b);
  }
  CTEST_CASE("golden bytes: channel address");
  flow_proto_channel_t ch = {.attempt = 2, .vertex = 3, .subtask = 1, .channel = 4};
  memcpy(ch.job_id, JOB, 33);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_proto_write_channel(&w, &ch);
  char *got = hex_of(w.data, w.len);
  CHECK_STR(got, GOLDEN_CHANNEL);
  if (print) printf("channel\n  \"%s\"\n", got);
  free(got);
  flow_proto_channel_t back;
  flow_rbuf_t r;
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_channel(&r, &back), 0);
  CHECK_STR(back.job_id, JOB);
  CHECK(back.attempt == 2 && back.vertex == 3 && back.subtask == 1 && back.channel == 4);
  flow_wbuf_free(&w);
  flow_jg_free(jg);
  flow_sg_free(sg);
}

static void test_options_and_results(void) {
  CTEST_CASE("options and results");
  flow_gateway_options_t o;
  memset(&o, 0, sizeof o);
  o.buffer_timeout_ms = 7;
  flow_restart_init(&o.restart, FLOW_RESTART_EXPONENTIAL_DELAY);
  o.restart.multiplier = 2.5;
  o.checkpoint.interval_ms = 100;
  o.checkpoint.exactly_once = 1;
  o.checkpoint.dir = "/tmp/ck";
  o.checkpoint.retained = 3;
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  flow_gateway_write_options(&w, &o);
  flow_rbuf_t r;
  flow_rbuf_init(&r, w.data, w.len);
  flow_gateway_options_t back;
  CHECK_EQ_INT(flow_gateway_read_options(&r, &back), 0);
  CHECK_EQ_INT((int)back.buffer_timeout_ms, 7);
  CHECK_EQ_INT(back.restart.kind, FLOW_RESTART_EXPONENTIAL_DELAY);
  CHECK(back.restart.multiplier == 2.5);
  CHECK_STR(back.checkpoint.dir, "/tmp/ck");
  CHECK_NULL(back.checkpoint.restore_dir);
  CHECK_EQ_INT(back.checkpoint.retained, 3);
  flow_gateway_options_clear(&back);
  for (size_t n = 0; n < w.len; n++) { /* every truncation fails cleanly */
    flow_rbuf_init(&r, w.data, n);
    CHECK(flow_gateway_read_options(&r, &back) != 0);
  }
  flow_wbuf_free(&w);
  o.restart.multiplier = -1; /* invalid parameters are refused */
  flow_wbuf_init(&w);
  flow_gateway_write_options(&w, &o);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_gateway_read_options(&r, &back), FLOW_EINVAL);
  flow_wbuf_free(&w);

  flow_job_result_t res;
  memset(&res, 0, sizeof res);
  memcpy(res.job_id, JOB, 33);
  res.status = FLOW_JOB_CANCELED;
  res.failure = "why";
  res.net_runtime_ms = 1234;
  res.restarts = 2;
  res.accumulators = flow_buffer_from("a", 1);
  res.accumulators->next = flow_buffer_from("bc", 2);
  flow_wbuf_init(&w);
  flow_gateway_write_result(&w, &res);
  flow_rbuf_init(&r, w.data, w.len);
  flow_job_result_t got;
  CHECK_EQ_INT(flow_gateway_read_result(&r, &got), 0);
  CHECK_STR(got.job_id, JOB);
  CHECK_EQ_INT(got.status, FLOW_JOB_CANCELED);
  CHECK_STR(got.failure, "why");
  CHECK_EQ_INT((int)got.net_runtime_ms, 1234);
  CHECK_EQ_INT(got.restarts, 2);
  CHECK(got.accumulators != NULL && got.accumulators->next != NULL && got.accumulators->next->size == 2);
  flow_job_result_clear(&got);
  for (size_t n = 0; n < w.len; n++) {
    flow_rbuf_init(&r, w.data, n);
    CHECK(flow_gateway_read_result(&r, &got) != 0);
  }
  flow_wbuf_free(&w);
  res.failure = NULL;
  flow_job_result_clear(&res);
}

static void test_blob_paths(void) {
  CTEST_CASE("blob paths");
  CHECK(flow_gateway_blob_path_ok("helper.lua"));
  CHECK(flow_gateway_blob_path_ok("lib/util/init.lua"));
  CHECK(!flow_gateway_blob_path_ok(""));
  CHECK(!flow_gateway_blob_path_ok("/etc/passwd"));
  CHECK(!flow_gateway_blob_path_ok("../x.lua"));
  CHECK(!flow_gateway_blob_path_ok("a/../../x.lua"));
  CHECK(!flow_gateway_blob_path_ok(".hidden.lua"));
  CHECK(!flow_gateway_blob_path_ok("a//b.lua"));
  CHECK(!flow_gateway_blob_path_ok("a b.lua"));
  CHECK(!flow_gateway_blob_path_ok("dir/"));
}

int main(void) {
  test_messages();
  test_golden_bytes();
  test_options_and_results();
  test_blob_paths();
  return CTEST_SUMMARY();
}
