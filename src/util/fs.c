#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"

int flow_file_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (tmp == NULL) return FLOW_ENOMEM;
  snprintf(tmp, n + 16, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    free(tmp);
    return FLOW_EIO;
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
      close(fd);
      unlink(tmp);
      free(tmp);
      return FLOW_EIO;
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
    unlink(tmp);
    free(tmp);
    return FLOW_EIO;
  }
  if (rename(tmp, path) != 0) {
    snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
    unlink(tmp);
    free(tmp);
    return FLOW_EIO;
  }
  free(tmp);
  /* the rename is durable once the directory is synced */
  char *dir = flow_strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash != NULL) {
    *slash = '\0';
    int dfd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  free(dir);
  return 0;
}

int flow_mkdir_p(const char *path) {
  char *p = flow_strdup(path);
  if (p == NULL) return FLOW_EIO;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      free(p);
      return FLOW_EIO;
    }
    *s = '/';
  }
  int rc = mkdir(p, 0777);
  free(p);
  return rc == 0 || errno == EEXIST ? 0 : FLOW_EIO;
}

int64_t flow_dir_names(const char *path, char *buf, size_t cap) {
  DIR *d = opendir(path);
  if (d == NULL) return FLOW_EIO;
  size_t need = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    size_t n = strlen(e->d_name) + 1;
    if (need + n <= cap) memcpy(buf + need, e->d_name, n);
    need += n;
  }
  closedir(d);
  return (int64_t)need;
}
