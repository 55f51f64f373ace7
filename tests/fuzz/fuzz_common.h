/* Shared helpers of the fuzz targets (tests/fuzz/fuzz_*.c). Each target defines LLVMFuzzerTestOneInput;
 * it is linked either with libFuzzer (make fuzz) or with replay.c (make check replays the regression
 * corpus). Parsers that only read files get the input through a temporary file with a per-process name. */
#ifndef ADX_FUZZ_COMMON_H
#define ADX_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "/tmp/adx-fuzz-<pid>-<suffix>" (TMPDIR respected) into buf. */
static inline void fuzz_temp_path(char *buf, size_t len, const char *suffix) {
  const char *dir = getenv("TMPDIR");
  snprintf(buf, len, "%s/adx-fuzz-%ld-%s", dir && dir[0] ? dir : "/tmp", (long)getpid(), suffix);
}

/* Write the input to path; aborts on failure (an environment problem, not a finding). */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror(path);
    abort();
  }
}

#endif
