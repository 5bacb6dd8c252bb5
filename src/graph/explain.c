/* Plan rendering: JSON (a contract, see explain.h), text, Graphviz dot. */
#include "graph/explain.h"

#include "util/common.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

static const char *mode_name(flow_runtime_mode_t m) {
  return m == FLOW_MODE_BATCH ? "batch" : "streaming";
}

/* ---------------------------------------------------------------- JSON --- */

static void json_str(flow_strbuf_t *b, const char *s) {
  if (s == NULL) {
    sb_puts(b, "null");
    return;
  }
  sb_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': sb_puts(b, "\\\""); break;
    case '\\': sb_puts(b, "\\\\"); break;
    default:
      if (*p < 0x20) sb_printf(b, "\\u%04x", *p);
      else sb_putc(b, (char)*p);
    }
  }
  sb_putc(b, '"');
}

char *flow_explain_json(const flow_job_graph_t *jg) {
  if (jg == NULL || jg->sg == NULL) return NULL;
  const flow_stream_graph_t *sg = jg->sg;
  flow_strbuf_t b = {0};
  sb_puts(&b, "{\n  \"job_name\":");
  json_str(&b, sg->job_name);
  sb_printf(&b, ",\n  \"runtime_mode\":\"%s\",\n  \"chaining\":%s,\n  \"max_parallelism\":%d,\n",
            mode_name(sg->mode), sg->chaining_enabled ? "true" : "false", sg->max_parallelism);

  sb_puts(&b, "  \"stream_graph\":{\n    \"nodes\":[");
  for (int i = 0; i < sg->n_nodes; i++) {
    const flow_stream_node_t *n = &sg->nodes[i];
    sb_printf(&b, "%s\n      {\"id\":%d,\"name\":", i ? "," : "", n->id);
    json_str(&b, n->name);
    sb_printf(&b, ",\"parallelism\":%d,\"max_parallelism\":%d,\"slot_sharing_group\":",
              n->parallelism, n->max_parallelism);
    json_str(&b, n->slot_sharing_group);
    sb_puts(&b, ",\"kind\":");
    json_str(&b, n->kind);
    sb_printf(&b, ",\"chaining\":\"%s\",\"is_source\":%s,\"is_keyed\":%s,\"uid\":",
              flow_chaining_name(n->chaining), n->is_source ? "true" : "false",
              n->is_keyed ? "true" : "false");
    json_str(&b, n->uid);
    sb_puts(&b, ",\"origin\":");
    json_str(&b, n->origin);
    sb_printf(&b, ",\"vertex\":%d}", jg->vertex_of_node ? jg->vertex_of_node[n->id] : 0);
  }
  sb_puts(&b, sg->n_nodes ? "\n    ],\n" : "],\n");
  sb_puts(&b, "    \"edges\":[");
  for (int i = 0; i < sg->n_edges; i++) {
    const flow_stream_edge_t *e = &sg->edges[i];
    int chained = jg->vertex_of_node && jg->vertex_of_node[e->source] == jg->vertex_of_node[e->target];
    sb_printf(&b,
              "%s\n      {\"source\":%d,\"target\":%d,\"partitioner\":\"%s\",\"type_number\":%d,"
              "\"chained\":%s}",
              i ? "," : "", e->source, e->target, flow_partitioner_name(e->part), e->type_number,
              chained ? "true" : "false");
  }
  sb_puts(&b, sg->n_edges ? "\n    ]\n  },\n" : "]\n  },\n");

  sb_puts(&b, "  \"job_graph\":{\n    \"vertices\":[");
  for (int i = 0; i < jg->n_vertices; i++) {
    const flow_job_vertex_t *v = &jg->vertices[i];
    sb_printf(&b, "%s\n      {\"id\":%d,\"name\":", i ? "," : "", v->id);
    json_str(&b, v->name);
    sb_printf(&b, ",\"parallelism\":%d,\"operators\":[", v->parallelism);
    for (int k = 0; k < v->n_ops; k++) sb_printf(&b, "%s%d", k ? "," : "", v->ops[k]);
    sb_printf(&b, "],\"max_parallelism\":%d,\"slot_sharing_group\":", v->max_parallelism);
    json_str(&b, v->slot_sharing_group);
    sb_putc(&b, '}');
  }
  sb_puts(&b, jg->n_vertices ? "\n    ],\n" : "],\n");
  sb_puts(&b, "    \"edges\":[");
  for (int i = 0; i < jg->n_edges; i++) {
    const flow_job_edge_t *e = &jg->edges[i];
    sb_printf(&b,
              "%s\n      {\"source\":%d,\"target\":%d,\"partitioner\":\"%s\",\"source_node\":%d,"
              "\"target_node\":%d,\"type_number\":%d}",
              i ? "," : "", e->source, e->target, flow_partitioner_name(e->part), e->source_node,
              e->target_node, e->type_number);
  }
  sb_puts(&b, jg->n_edges ? "\n    ]\n  },\n" : "]\n  },\n");
  sb_printf(&b, "  \"slots_required\":%d\n}\n", jg->slots_required);
  return sb_take(&b);
}

/* ---------------------------------------------------------------- text --- */

/* Names may hold anything: control characters become '?' so that the
 * terminal shows one line per vertex. */
static void text_str(flow_strbuf_t *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
    sb_putc(b, (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p);
}

char *flow_explain_text(const flow_job_graph_t *jg) {
  if (jg == NULL || jg->sg == NULL) return NULL;
  const flow_stream_graph_t *sg = jg->sg;
  flow_strbuf_t b = {0};
  sb_puts(&b, "Job \"");
  text_str(&b, sg->job_name);
  sb_printf(&b, "\" (%s%s), %d slot%s\n", mode_name(sg->mode),
            sg->chaining_enabled ? "" : ", chaining disabled", jg->slots_required,
            jg->slots_required == 1 ? "" : "s");
  for (int i = 0; i < jg->n_vertices; i++) {
    const flow_job_vertex_t *v = &jg->vertices[i];
    sb_printf(&b, "  [%d] ", v->id);
    text_str(&b, v->name);
    sb_printf(&b, "   parallelism %d", v->parallelism);
    if (v->max_parallelism != sg->max_parallelism)
      sb_printf(&b, ", max parallelism %d", v->max_parallelism);
    if (strcmp(v->slot_sharing_group, "default") != 0) {
      sb_puts(&b, ", slot sharing group \"");
      text_str(&b, v->slot_sharing_group);
      sb_putc(&b, '"');
    }
    sb_putc(&b, '\n');
    for (int k = 0; k < jg->n_edges; k++) {
      const flow_job_edge_t *e = &jg->edges[k];
      if (e->source != v->id) continue;
      sb_printf(&b, "        --%s--> [%d]", flow_partitioner_name(e->part), e->target);
      if (e->type_number) sb_printf(&b, " (input %d)", e->type_number);
      sb_putc(&b, '\n');
    }
  }
  return sb_take(&b);
}

/* ----------------------------------------------------------------- dot --- */

/* Inside a double-quoted dot string: quote and backslash escaped, control
 * characters replaced by a space (a raw newline would end the label line). */
static void dot_str(flow_strbuf_t *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\') {
      sb_putc(b, '\\');
      sb_putc(b, (char)*p);
    } else if (*p < 0x20 || *p == 0x7f) {
      sb_putc(b, ' ');
    } else {
      sb_putc(b, (char)*p);
    }
  }
}

char *flow_explain_dot(const flow_job_graph_t *jg) {
  if (jg == NULL || jg->sg == NULL) return NULL;
  const flow_stream_graph_t *sg = jg->sg;
  flow_strbuf_t b = {0};
  sb_puts(&b, "digraph \"");
  dot_str(&b, sg->job_name);
  sb_puts(&b, "\" {\n  labelloc=t;\n  label=\"");
  dot_str(&b, sg->job_name);
  sb_printf(&b, " (%s), %d slot%s\";\n", mode_name(sg->mode), jg->slots_required,
            jg->slots_required == 1 ? "" : "s");
  sb_puts(&b, "  node [shape=box, fontname=\"Helvetica\"];\n"
              "  edge [fontname=\"Helvetica\"];\n");
  for (int i = 0; i < jg->n_vertices; i++) {
    const flow_job_vertex_t *v = &jg->vertices[i];
    sb_printf(&b, "  v%d [label=\"[%d] parallelism %d", v->id, v->id, v->parallelism);
    if (strcmp(v->slot_sharing_group, "default") != 0) {
      sb_puts(&b, ", group ");
      dot_str(&b, v->slot_sharing_group);
    }
    sb_puts(&b, "\\l");
    for (int k = 0; k < v->n_ops; k++) {
      const flow_stream_node_t *n = flow_sg_node(sg, v->ops[k]);
      sb_puts(&b, k ? "-> " : "");
      dot_str(&b, n ? n->name : "?");
      sb_puts(&b, "\\l");
    }
    sb_puts(&b, "\"];\n");
  }
  for (int k = 0; k < jg->n_edges; k++) {
    const flow_job_edge_t *e = &jg->edges[k];
    sb_printf(&b, "  v%d -> v%d [label=\"%s", e->source, e->target, flow_partitioner_name(e->part));
    if (e->type_number) sb_printf(&b, " (input %d)", e->type_number);
    sb_puts(&b, "\"];\n");
  }
  sb_puts(&b, "}\n");
  return sb_take(&b);
}
