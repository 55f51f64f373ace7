/* Internal to model/: helpers shared by the ONNX loader, the TensorProto reader and the graph passes. */
#ifndef ADX_MODEL_INTERNAL_H
#define ADX_MODEL_INTERNAL_H

#include <stdint.h>

#include "adx/model.h"
#include "onnx.pb-c.h"

/* Decode one TensorProto into an owned F32 or I64 tensor (FLOAT, DOUBLE -> F32; INT64, INT32 -> I64).
 * base_dir resolves external data (NULL: external data is refused). Errors name the tensor, not the file. */
adx_status adx_model_tensor_decode(const Onnx__TensorProto *tp, const char *base_dir, int64_t max_elems,
                                   adx_tensor *t, adx_error *err);

#endif
