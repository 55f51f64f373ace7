/* Internal to model/: helpers shared by the ONNX loader, the TensorProto reader and the graph passes. */
#ifndef ADX_MODEL_INTERNAL_H
#define ADX_MODEL_INTERNAL_H

#include <stdint.h>

#include "adx/model.h"
#include "onnx.pb-c.h"

/* Read a whole file (refusing more than max_bytes: ADX_ERR_LIMIT). *buf is malloc'd; free() it. */
adx_status adx_file_read(const char *path, int64_t max_bytes, uint8_t **buf, size_t *len, adx_error *err);

/* Decode one TensorProto into an owned F32 or I64 tensor (FLOAT, DOUBLE -> F32; INT64, INT32 -> I64).
 * base_dir resolves external data (NULL: external data is refused). Errors name the tensor, not the file. */
adx_status adx_pb_tensor_decode(const Onnx__TensorProto *tp, const char *base_dir, int64_t max_elems,
                                adx_tensor *t, adx_error *err);

/* Directory part of a path ("." when it has none); malloc'd. */
char *adx_path_dir(const char *path);

#endif
