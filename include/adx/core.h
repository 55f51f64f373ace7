/* adx core: status codes, errors, tensors, allocation, thread settings.
 * Everything else in adx stands on this header; it knows nothing above it. */
#ifndef ADX_CORE_H
#define ADX_CORE_H

#include <stddef.h>
#include <stdint.h>

#define ADX_VERSION "0.5.2"
#define ADX_MAX_DIMS 8

/* Status codes. Codes below ADX_ERR_RUNTIME are "bad input" (exit 2), the rest "run failed" (exit 1). */
typedef enum adx_status {
  ADX_OK = 0,
  ADX_ERR_ARG,         /* bad argument or usage */
  ADX_ERR_IO,          /* missing / unreadable / unwritable file */
  ADX_ERR_FORMAT,      /* corrupt or malformed input file */
  ADX_ERR_UNSUPPORTED, /* valid input that adx does not support (operator, attribute, dtype) */
  ADX_ERR_SHAPE,       /* shape mismatch */
  ADX_ERR_LIMIT,       /* input exceeds a configured resource cap */
  ADX_ERR_RUNTIME,     /* -- everything from here on is exit 1 -- */
  ADX_ERR_NOMEM,
  ADX_ERR_INTERNAL
} adx_status;

/* An error carries a code and a one-line message naming the file, node or field at fault. */
typedef struct adx_error {
  adx_status code;
  char msg[1024];
} adx_error;

/* Record an error (printf-style) and return its code. err may be NULL. */
adx_status adx_fail(adx_error *err, adx_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message with context ("model.onnx: " + msg). Returns err->code. */
adx_status adx_error_prefix(adx_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *adx_status_name(adx_status s);
/* Process exit status for a status: 0 ok, 2 bad input, 1 run failed. */
int adx_exit_code(adx_status s);

/* ---- allocation: 64-byte aligned, never returns NULL silently (returns NULL and the caller fails) ---- */
void *adx_alloc(size_t bytes);  /* aligned, uninitialised; NULL on failure or bytes==0 -> valid ptr */
void *adx_calloc(size_t bytes); /* aligned, zeroed */
void adx_free(void *p);
/* Overflow-checked products: return 0 and set *out on success, -1 on overflow. */
int adx_mul_size(size_t a, size_t b, size_t *out);

/* ---- tensors ---- */
typedef enum adx_dtype { ADX_F32 = 1, ADX_I64 = 7 } adx_dtype; /* values follow ONNX TensorProto.DataType */

typedef struct adx_tensor {
  adx_dtype dtype;
  int ndim;
  int64_t dims[ADX_MAX_DIMS];
  void *data;    /* float* for ADX_F32, int64_t* for ADX_I64 */
  int owns_data; /* 1 if adx_tensor_free must release data */
} adx_tensor;

int64_t adx_tensor_numel(const adx_tensor *t);
size_t adx_dtype_size(adx_dtype d);
/* Allocate a tensor with its own zeroed data. */
adx_status adx_tensor_alloc(adx_tensor *t, adx_dtype dtype, int ndim, const int64_t *dims, adx_error *err);
/* Release owned data and reset the struct (safe on zeroed or already-freed tensors). */
void adx_tensor_free(adx_tensor *t);
/* Deep copy. */
adx_status adx_tensor_clone(adx_tensor *dst, const adx_tensor *src, adx_error *err);
static inline float *adx_f32(const adx_tensor *t) { return (float *)t->data; }
static inline int64_t *adx_i64(const adx_tensor *t) { return (int64_t *)t->data; }
/* "[1,3,224,224]" into buf. */
const char *adx_dims_str(const int64_t *dims, int ndim, char *buf, size_t len);
/* A byte count in binary units with one decimal: "512 B", "4.0 KiB", "2.3 MiB", "16.0 GiB". */
const char *adx_bytes_str(uint64_t bytes, char *buf, size_t len);

/* ---- files (core/file.c) ---- */
/* Read a whole regular file, refusing more than max_bytes (< 0: no cap) with ADX_ERR_LIMIT. *buf is
 * malloc'd with a NUL after its *len bytes (text can be used as a string); free() it. */
adx_status adx_file_read(const char *path, int64_t max_bytes, uint8_t **buf, size_t *len, adx_error *err);
/* Directory part of a path ("." when it has none); malloc'd. */
char *adx_path_dir(const char *path);

/* ---- softmax (core/softmax.c) ---- */
/* Numerically stable softmax of n logits computed in double, into outd (double) and/or outf (float, the
 * double rounded once); either may be NULL. Returns -1 when a logit is not finite (the outputs then hold
 * whatever the arithmetic gives), else 0. */
int adx_softmax(const float *logit, int64_t n, double *outd, float *outf);

/* ---- threads ---- */
/* Number of OpenMP threads adx will use (from --threads, else OMP_NUM_THREADS, else cores). */
int adx_threads_get(void);
/* Set OpenMP threads and keep OpenBLAS at 1 thread (adx parallelises around BLAS, not inside it). */
void adx_threads_set(int n);

/* ---- deterministic random numbers (xoshiro256**, seeded by splitmix64): same seed, same stream ---- */
typedef struct adx_rng {
  uint64_t s[4];
} adx_rng;
void adx_rng_seed(adx_rng *r, uint64_t seed);
uint64_t adx_rng_next(adx_rng *r);
/* Uniform in [0, 1). */
double adx_rng_uniform(adx_rng *r);
/* Uniform integer in [0, n). */
uint64_t adx_rng_below(adx_rng *r, uint64_t n);
/* Mix several 64-bit values into one seed (e.g. run seed, image index, purpose). */
uint64_t adx_seed_mix(uint64_t a, uint64_t b);

/* Monotonic wall-clock seconds. */
double adx_now(void);

/* The CPU the binary was built for (src/core/build.c): "x86-64", and with the extensions the compiler
 * was allowed to use (make ARCH=...), e.g. "x86-64 ssse3 sse4.2 popcnt avx avx2 fma bmi2". */
const char *adx_build_cpu(void);
size_t adx_build_cpu_features(char *buf, size_t len);
/* How many of those extensions this CPU lacks (0: the binary can run here); their names go to buf. */
int adx_build_cpu_missing(char *buf, size_t len);

/* ---- settings from the environment (src/core/settings.c; docs/configuration.md) ---- */
/* The convolution path ADX_CONV selects: 1 oneDNN (unset or "dnnl"), 0 the BLAS reference path ("blas"),
 * -1 anything else (adx_engine_create then fails). */
int adx_conv_backend(void);
/* Whether oneDNN may use its Winograd kernels for 3x3 stride-1 layers: yes under ADX_CONV unset or "dnnl",
 * no under "dnnl-direct" (every layer direct). */
int adx_conv_winograd_allowed(void);

/* Incremental queries, fill and AD (ADX_INCREMENTAL): 1 on, 0 off, -1 anything else (adx_engine_create then
 * fails). Unset or empty: ADX_INCREMENTAL_DEFAULT (adx explain turns it on for sliding where it is exact).
 * *frac receives ADX_INCREMENTAL_FRACTION (a number in [0, 1], default ADX_INCREMENTAL_DEFAULT_FRACTION; -1
 * when it is not one). An engine on the BLAS path defaults to ADX_INCREMENTAL_DEFAULT_FRACTION_BLAS (its
 * gather kernel is dearer per position than a whole layer). */
#define ADX_INCREMENTAL_DEFAULT 0
#define ADX_INCREMENTAL_DEFAULT_FRACTION 0.5
#define ADX_INCREMENTAL_DEFAULT_FRACTION_BLAS 0.1
int adx_incremental_setting(double *frac);

/* Activation layouts of plain runs through oneDNN (ADX_LAYOUT): 1 "blocked" (unset or empty: the default)
 * keeps activations in the library's blocked layout between layers that all take it, 0 "nchw" reorders
 * every one to NCHW after each layer, -1 anything else (adx_engine_create then fails). Results are the
 * same bit for bit either way (docs/performance.md). */
int adx_layout_setting(void);
/* AD's deactivated work skipped on the oneDNN path (ADX_AD_BAND): 1 (unset, empty or "1": the default)
 * compute only each Conv output's crop around its active positions, 0 every position; -1 for any other
 * value (adx_engine_create refuses it). The results are the same bits either way. */
int adx_ad_band_setting(void);
/* Micro-batches (ADX_CHUNK): adx_engine_run and adx_engine_query run a batch as consecutive passes of at
 * most this many samples, so that each pass's activations stay in the cache (docs/performance.md,
 * "Micro-batches"). The results are the same bits whatever the split (every sample is computed alone).
 * Unset, empty or "auto": 0, the engine's own choice (adx_engine_chunk); a positive integer: that many;
 * -1 for anything else (adx_engine_create then fails). */
int adx_chunk_setting(void);

#endif
