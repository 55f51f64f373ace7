/* adx model loading: ONNX (protobuf-c, generated from the system onnx.proto) into an adx_graph. */
#ifndef ADX_MODEL_H
#define ADX_MODEL_H

#include "adx/graph.h"

typedef struct adx_model_limits {
  int64_t max_file_bytes;   /* refuse larger model files (default 2 GiB) */
  int64_t max_tensor_elems; /* refuse any single tensor larger than this (default 1<<30) */
} adx_model_limits;

void adx_model_limits_default(adx_model_limits *l);

/* Load an ONNX model: decode, build the graph, resolve initializers (external data files next to
 * the model too), check every operator is supported, infer shapes, fold constants and BatchNorm.
 * Errors name the file, and the node and operator where relevant. */
adx_status adx_model_load(const char *path, const adx_model_limits *limits, adx_graph **out, adx_error *err);
/* Same, from bytes in memory (path is used in messages and for external data lookup; may be NULL). */
adx_status adx_model_load_mem(const void *buf, size_t len, const char *path, const adx_model_limits *limits,
                              adx_graph **out, adx_error *err);

/* Decode an ONNX TensorProto file (the input_N.pb / output_N.pb of ONNX's test data). */
adx_status adx_tensor_load_pb(const char *path, adx_tensor *t, adx_error *err);

#endif
