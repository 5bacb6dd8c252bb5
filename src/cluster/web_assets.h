/* The dashboard's static files (web/), embedded at build time by
 * scripts/embed_files.lua: no files are read at run time. */
#ifndef FLOW_CLUSTER_WEB_ASSETS_H
#define FLOW_CLUSTER_WEB_ASSETS_H

#include <stddef.h>

typedef struct flow_web_asset {
  const char *path;          /* relative to web/, e.g. "index.html" */
  const char *content_type;
  const unsigned char *data;
  size_t size;
} flow_web_asset_t;

/* Ends with an entry whose path is NULL. */
extern const flow_web_asset_t flow_web_assets[];

#endif
