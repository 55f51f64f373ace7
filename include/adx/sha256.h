/* adx sha256: SHA-256 (FIPS 180-4) of bytes and of files, for the model_sha256 of a results file. */
#ifndef ADX_SHA256_H
#define ADX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "adx/core.h"

void adx_sha256(const void *data, size_t len, uint8_t digest[32]);
/* Lower-case hex digest of a file's bytes into hex[65]. ADX_ERR_IO naming the file when unreadable. */
adx_status adx_sha256_file(const char *path, char hex[65], adx_error *err);

#endif
