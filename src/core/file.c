/* Files: whole-file reading with a size cap, the directory of a path. The one place adx reads a file
 * into memory (models, external tensor data, configs, list files, images, the config text of a run). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adx/core.h"

adx_status adx_file_read(const char *path, int64_t max_bytes, uint8_t **buf, size_t *len, adx_error *err) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return adx_fail(err, ADX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    return adx_fail(err, ADX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    return adx_fail(err, ADX_ERR_IO, "%s: cannot read: %s", path,
                    S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  if (max_bytes >= 0 && (int64_t)st.st_size > max_bytes) {
    fclose(f);
    return adx_fail(err, ADX_ERR_LIMIT, "%s: file is %lld bytes, over the limit of %lld bytes", path,
                    (long long)st.st_size, (long long)max_bytes);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *b = malloc(n + 1);
  if (!b) {
    fclose(f);
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
  }
  size_t got = n ? fread(b, 1, n, f) : 0;
  int rerr = ferror(f);
  fclose(f);
  if (got != n || rerr) {
    free(b);
    return adx_fail(err, ADX_ERR_IO, "%s: read error (%zu of %zu bytes)", path, got, n);
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  return ADX_OK;
}

char *adx_path_dir(const char *path) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}
