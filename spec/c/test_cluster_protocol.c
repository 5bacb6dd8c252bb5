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
static int abuse_msg(const flow_wbuf_t *w) {
  int ok = 0;
  uint8_t *copy = malloc(w->len);
  for (size_t n = 0; n <= w->len; n++) {
    flow_rbuf_t r;
    flow_rbuf_init(&r, w->data, n);
    flow_proto_msg_t cm;
    if (flow_proto_read_msg(&r, &cm) == 0) {
      ok++;
      flow_proto_msg_clear(&cm);
    }
  }
  for (size_t i = 0; i < w->len; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(copy, w->data, w->len);
      copy[i] ^= (uint8_t)(1u << bit);
      flow_rbuf_t r;
      flow_rbuf_init(&r, copy, w->len);
      flow_proto_msg_t cm;
      if (flow_proto_read_msg(&r, &cm) == 0) flow_proto_msg_clear(&cm);
    }
  }
  free(copy);
  return ok;
}

static void test_messages(void) {
  CTEST_CASE("endpoint messages");
  flow_stream_graph_t *sg;
  flow_job_graph_t *jg = small_job(&sg);
  /* OFFER_SLOTS with indices, text and blob */
  int idx[3] = {4, 0, 7};
  flow_msg_t m;
  memset(&m, 0, sizeof m);
  m.type = FLOW_MSG_OFFER_SLOTS;
  m.b = 3;
  m.c = 9;
  m.ptr2 = idx;
  m.text = "hello";
  m.blob = flow_buffer_from("acc\0x", 5);
  flow_wbuf_t w;
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, NULL), 0);
  flow_rbuf_t r;
  flow_rbuf_init(&r, w.data, w.len);
  flow_proto_msg_t cm;
  CHECK_EQ_INT(flow_proto_read_msg(&r, &cm), 0);
  CHECK_EQ_INT(cm.m.type, FLOW_MSG_OFFER_SLOTS);
  CHECK_STR(cm.job_id, JOB);
  CHECK_EQ_INT(cm.m.b, 3);
  CHECK_EQ_INT(cm.m.c, 9);
  CHECK_INTS((int *)cm.m.ptr2, 3, 4, 0, 7);
  CHECK_STR(cm.m.text, "hello");
  CHECK(cm.m.blob != NULL && cm.m.blob->size == 5 && memcmp(cm.m.blob->data, "acc\0x", 5) == 0);
  flow_proto_msg_clear(&cm);
  CHECK_EQ_INT(abuse_msg(&w), 1);
  flow_buffer_free(m.blob);
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
  memset(&m, 0, sizeof m);
  m.type = FLOW_MSG_SUBMIT_TASK;
  m.a = 2, m.b = 1, m.c = 4, m.d = 0;
  m.ptr2 = &d;
  flow_wbuf_init(&w);
  CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, addr_of), 0);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, &cm), 0);
  CHECK_EQ_INT(cm.m.a, 2);
  CHECK_EQ_INT(cm.m.c, 4);
  CHECK_EQ_INT((int)cm.buffer_timeout_ms, 25);
  CHECK_EQ_INT(cm.exactly_once, 1);
  CHECK_STR(cm.restore_dir, "/ck/chk-3");
  CHECK_NULL(cm.checkpoint_dir);
  CHECK_EQ_INT(cm.n_addrs, 2);
  CHECK_EQ_INT(cm.n_exec, 5);
  CHECK_STR(cm.addrs[cm.exec_addr[0]], "127.0.0.1:1000");
  CHECK_STR(cm.addrs[cm.exec_addr[4]], "[::1]:2000");
  CHECK(cm.exec_addr[0] == cm.exec_addr[2] && cm.exec_addr[1] == cm.exec_addr[3]);
  flow_proto_msg_clear(&cm);
  CHECK_EQ_INT(abuse_msg(&w), 1);
  flow_wbuf_free(&w);

  /* FREE_SLOTS with and without indices */
  for (int with = 0; with < 2; with++) {
    memset(&m, 0, sizeof m);
    m.type = FLOW_MSG_FREE_SLOTS;
    m.b = with ? 2 : 0;
    m.ptr2 = with ? idx : NULL;
    flow_wbuf_init(&w);
    CHECK_EQ_INT(flow_proto_write_msg(&w, &m, JOB, NULL), 0);
    flow_rbuf_init(&r, w.data, w.len);
    CHECK_EQ_INT(flow_proto_read_msg(&r, &cm), 0);
    CHECK(with ? cm.m.ptr2 != NULL && ((int *)cm.m.ptr2)[1] == 0 : cm.m.ptr2 == NULL);
    flow_proto_msg_clear(&cm);
    flow_wbuf_free(&w);
  }

  /* refused: a bad job id, an unknown type, trailing bytes */
  const char *bad_ids[] = {"short", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcdeg"};
  for (int i = 0; i < 3; i++) {
    memset(&m, 0, sizeof m);
    m.type = FLOW_MSG_CANCEL_TASK;
    flow_wbuf_init(&w);
    flow_proto_write_msg(&w, &m, bad_ids[i], NULL);
    flow_rbuf_init(&r, w.data, w.len);
    CHECK_EQ_INT(flow_proto_read_msg(&r, &cm), FLOW_EINVAL);
    flow_wbuf_free(&w);
  }
  memset(&m, 0, sizeof m);
  m.type = FLOW_MSG_CANCEL_TASK;
  flow_wbuf_init(&w);
  flow_proto_write_msg(&w, &m, JOB, NULL);
  w.data[0] = 200;
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, &cm), FLOW_EINVAL);
  w.data[0] = FLOW_MSG_CANCEL_TASK;
  flow_wr_u8(&w, 0);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, &cm), FLOW_EINVAL);
  flow_wbuf_free(&w);

  /* an offer claiming more indices than there are bytes */
  flow_wbuf_init(&w);
  flow_wr_u8(&w, FLOW_MSG_OFFER_SLOTS);
  flow_wr_str(&w, JOB);
  flow_wr_i32(&w, 0), flow_wr_i32(&w, 1 << 20), flow_wr_i32(&w, 0), flow_wr_i32(&w, 0);
  flow_wr_str(&w, NULL);
  flow_wr_u8(&w, 0);
  flow_rbuf_init(&r, w.data, w.len);
  CHECK_EQ_INT(flow_proto_read_msg(&r, &cm), FLOW_EINVAL);
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
  test_options_and_results();
  test_blob_paths();
  return CTEST_SUMMARY();
}
