#include "cluster/minicluster.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct minicluster {
  uv_loop_t loop;
  flow_rpc_t rpc;
  flow_dispatcher_t dispatcher;
  flow_resource_manager_t rm;
  flow_task_executor_t te;
} minicluster_t;

static void on_done(flow_dispatcher_t *d) {
  minicluster_t *mc = d->data;
  flow_rpc_close(&mc->rpc); /* the loop has nothing left and returns */
}

int flow_minicluster_execute(const flow_job_graph_t *jg, const flow_minicluster_options_t *opt,
                             flow_job_result_t *out) {
  memset(out, 0, sizeof(*out));
  minicluster_t *mc = flow_xcalloc(1, sizeof(*mc));
  if (uv_loop_init(&mc->loop) != 0) {
    free(mc);
    return FLOW_EIO;
  }
  if (flow_rpc_init(&mc->rpc, &mc->loop) != 0) {
    uv_loop_close(&mc->loop);
    free(mc);
    return FLOW_EIO;
  }
  flow_resource_manager_init(&mc->rm, &mc->rpc);
  flow_dispatcher_init(&mc->dispatcher, &mc->rpc, &mc->rm);
  mc->dispatcher.result = out;
  mc->dispatcher.on_done = on_done;
  mc->dispatcher.data = mc;
  mc->dispatcher.buffer_timeout_ms = opt->buffer_timeout_ms;
  int slots = opt->slots > 0 ? opt->slots : jg->slots_required;
  int rc = flow_task_executor_init(&mc->te, &mc->rpc, &mc->rm, slots);
  if (rc == 0) {
    flow_msg_t *m = flow_msg_new(FLOW_MSG_SUBMIT_JOB, NULL, &mc->dispatcher.ep);
    m->ptr = (void *)jg;
    flow_rpc_send(&mc->rpc, m);
    uv_run(&mc->loop, UV_RUN_DEFAULT);
  }
  flow_task_executor_destroy(&mc->te);
  if (mc->dispatcher.jm != NULL) { /* the loop ended without a result */
    flow_job_master_free(mc->dispatcher.jm);
    out->status = FLOW_JOB_FAILED;
  }
  uv_loop_close(&mc->loop);
  uv_mutex_destroy(&mc->rpc.mu);
  free(mc);
  return rc;
}
