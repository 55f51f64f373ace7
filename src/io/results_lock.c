/* The writer's lock of a results file (docs/cluster.md#one-writer-per-results-file): one job at a time may
 * create, resume or merge into PATH. Rank 0 holds a POSIX record lock (fcntl F_SETLK, write lock on the
 * whole file) on the sidecar PATH.lock for as long as the handle is open.
 *
 *  - A sidecar, not PATH itself: PATH is built as PATH.creating and renamed into place (a new inode), HDF5
 *    and MPI-IO open and close PATH many times in one process, and closing any descriptor of a file drops
 *    every fcntl lock the process holds on it. adx opens PATH.lock only here, once per handle.
 *  - fcntl, not flock: POSIX record locks are the ones NFS implements across clients (NLM for v3, part of
 *    the protocol in v4; Linux emulates flock with them there anyway), and the ones Lustre (mounted with
 *    -o flock) and GPFS keep coherent across nodes.
 *  - The kernel drops the lock when the holder dies, SIGKILL included: a PATH.lock left behind is stale and
 *    is taken over by the next job. Nobody but the holder ever removes PATH.lock; the holder removes it
 *    when it lets go, and a job that locked a file just removed by its holder (it opened it before the
 *    removal) notices that the name no longer leads to its file and starts again.
 *  - The holder writes "host H / pid P / since T" into PATH.lock, so that a refused job can name it.
 *  - ADX_NO_LOCK=1 skips the lock, for file systems without locks (Lustre mounted noflock). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "results_internal.h"

struct adx_results_lock_s {
  int fd;
  char *path; /* PATH.lock */
  dev_t dev;
  ino_t ino;
};

adx_status adx_results_check_folder(const char *path, adx_error *err) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path) return ADX_OK;
  size_t n = (size_t)(slash - path);
  char *dir = malloc(n + 1);
  if (!dir) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  memcpy(dir, path, n);
  dir[n] = '\0';
  struct stat st;
  adx_status s = ADX_OK;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    s = adx_fail(err, ADX_ERR_ARG, "%s: cannot create: the folder %s %s", path, dir,
                 stat(dir, &st) != 0 ? "does not exist (create it first)" : "is not a folder");
  free(dir);
  return s;
}

/* The value of "KEY VALUE" in the holder text, printable characters only, or "?". */
static void field(const char *text, const char *key, char *out, size_t len) {
  snprintf(out, len, "?");
  size_t k = strlen(key);
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (strncmp(p, key, k) || p[k] != ' ') continue;
    size_t i = 0;
    for (const char *v = p + k + 1; *v && *v != '\n' && i + 1 < len; v++)
      out[i++] = *v > 32 && *v < 127 ? *v : '?';
    out[i] = '\0';
    return;
  }
}

/* Who holds the lock on fd: from the text it wrote (it may be writing it right now: a short wait). */
static void holder(int fd, char *out, size_t len) {
  char text[512];
  for (int i = 0; i < 50; i++) {
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n > 0 && memchr(text, '\n', (size_t)n) && strstr(text, "since ")) {
      text[n] = '\0';
      char host[128], pid[32], since[40];
      field(text, "host", host, sizeof host);
      field(text, "pid", pid, sizeof pid);
      field(text, "since", since, sizeof since);
      snprintf(out, len, "host %s, pid %s, since %s", host, pid, since);
      return;
    }
    usleep(10000);
  }
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
    snprintf(out, len, "pid %ld, host not recorded", (long)fl.l_pid);
  else
    snprintf(out, len, "holder not recorded");
}

/* Record this process as the holder: "host H\npid P\nsince YYYY-MM-DDTHH:MM:SSZ\n". */
static adx_status write_holder(const adx_results_writer_lock *lk, const char *path, adx_error *err) {
  char host[256] = "?", since[32] = "?", text[400];
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "?");
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm)) strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
  int n = snprintf(text, sizeof text, "host %s\npid %ld\nsince %s\n", host, (long)getpid(), since);
  if (ftruncate(lk->fd, 0) != 0 || pwrite(lk->fd, text, (size_t)n, 0) != (ssize_t)n)
    return adx_fail(err, ADX_ERR_IO, "%s: cannot write the lock file %s: %s", path, lk->path,
                    strerror(errno));
  return ADX_OK;
}

adx_status adx_results_lock(const char *path, adx_results_writer_lock **out, adx_error *err) {
  *out = NULL;
  const char *off = getenv("ADX_NO_LOCK");
  if (off && !strcmp(off, "1")) return ADX_OK;
  adx_results_writer_lock *lk = calloc(1, sizeof *lk);
  size_t len = strlen(path) + 6;
  if (lk) lk->path = malloc(len);
  if (!lk || !lk->path) {
    free(lk);
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  }
  snprintf(lk->path, len, "%s.lock", path);
  lk->fd = -1;
  adx_status s = ADX_OK;
  for (int attempt = 0; attempt < 100; attempt++) {
    int created = 0; /* a file we made and do not get to lock is removed again */
    lk->fd = open(lk->path, O_RDWR | O_CLOEXEC);
    if (lk->fd < 0 && errno == ENOENT) {
      lk->fd = open(lk->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      created = lk->fd >= 0;
      if (lk->fd < 0 && errno == EEXIST) continue; /* another job made it just now */
    }
    if (lk->fd < 0) {
      s = adx_fail(err, ADX_ERR_IO, "%s: cannot open the lock file %s: %s", path, lk->path, strerror(errno));
      break;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(lk->fd, F_SETLK, &fl) != 0) {
      int e = errno;
      if (e == EINTR) {
        close(lk->fd);
        continue;
      }
      if (e == EACCES || e == EAGAIN) {
        char who[300];
        holder(lk->fd, who, sizeof who);
        s = adx_fail(err, ADX_ERR_ARG,
                     "%s is in use by another adx job (%s; lock file %s); wait for it to end or write to "
                     "another file",
                     path, who, lk->path);
      } else {
        if (created) unlink(lk->path);
        s = adx_fail(err, ADX_ERR_IO,
                     "%s: cannot lock %s: %s (a file system without locks? ADX_NO_LOCK=1 writes without the "
                     "lock: docs/cluster.md)",
                     path, lk->path, strerror(e));
      }
      break;
    }
    /* the holder before us may have removed the name after we opened it: then start again */
    struct stat a, b;
    if (fstat(lk->fd, &a) == 0 && stat(lk->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      lk->dev = a.st_dev;
      lk->ino = a.st_ino;
      s = write_holder(lk, path, err);
      if (!s) {
        *out = lk;
        return ADX_OK;
      }
      adx_results_unlock(lk);
      return s;
    }
    close(lk->fd);
    lk->fd = -1;
  }
  if (!s)
    s = adx_fail(err, ADX_ERR_IO, "%s: cannot take the lock %s: it keeps being replaced", path, lk->path);
  if (lk->fd >= 0) close(lk->fd);
  free(lk->path);
  free(lk);
  return s;
}

void adx_results_unlock(adx_results_writer_lock *lk) {
  if (!lk) return;
  /* remove the name while the lock is held, and only if it still names our file */
  struct stat b;
  if (stat(lk->path, &b) == 0 && b.st_dev == lk->dev && b.st_ino == lk->ino) unlink(lk->path);
  close(lk->fd);
  free(lk->path);
  free(lk);
}
