/* Replay driver for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once on every file
 * given, or on every regular file of every directory given (not recursive). Built with the normal
 * compiler into each build (release, ASan), so `make check` replays tests/fuzz/regress/<target>/ and the
 * seed corpus. Exit 0 when every input ran; a crash is the failure signal (ASan/UBSan abort). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += k;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap *= 2);
      if (!nb) {
        free(buf);
        buf = NULL;
      } else
        buf = nb;
    }
  }
  fclose(f);
  if (!buf) {
    fprintf(stderr, "%s: out of memory\n", path);
    return -1;
  }
  /* a private copy of exactly n bytes, so ASan sees reads past the end of the input */
  uint8_t *in = malloc(n ? n : 1);
  if (n) memcpy(in, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(in, n);
  free(in);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  int ran = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      perror(argv[i]);
      bad++;
      continue;
    }
    if (!S_ISDIR(sb.st_mode)) {
      bad += run_file(argv[i]) != 0;
      ran++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) {
      perror(argv[i]);
      bad++;
      continue;
    }
    char **names = NULL;
    size_t nn = 0;
    for (struct dirent *de; (de = readdir(d));) {
      if (de->d_name[0] == '.') continue;
      char **nb = realloc(names, sizeof *names * (nn + 1));
      if (!nb) break;
      names = nb;
      size_t len = strlen(argv[i]) + strlen(de->d_name) + 2;
      if (!(names[nn] = malloc(len))) break;
      snprintf(names[nn], len, "%s/%s", argv[i], de->d_name);
      nn++;
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t k = 0; k < nn; k++) {
      if (stat(names[k], &sb) == 0 && S_ISREG(sb.st_mode)) {
        bad += run_file(names[k]) != 0;
        ran++;
      }
      free(names[k]);
    }
    free(names);
  }
  printf("replayed %d inputs%s\n", ran, bad ? " (some could not be read)" : "");
  return bad ? 1 : 0;
}
