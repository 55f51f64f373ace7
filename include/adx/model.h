/* adx model loading: ONNX (protobuf-c, generated from the system onnx.proto) into an adx_graph. */
#ifndef ADX_MODEL_H
#define ADX_MODEL_H

#include "adx/ir.h"

/* Resource caps, checked before anything is allocated; a model over a cap -> ADX_ERR_LIMIT naming the file
 * and the initializer, graph input or node output (and its shape) at fault. */
typedef struct adx_model_limits {
  int64_t max_file_bytes;       /* refuse larger model files (default 2 GiB) */
  int64_t max_tensor_elems;     /* any single tensor: initializer, attribute, graph input or inferred value
                                   (per image for batched values) (default 1<<30) */
  int64_t max_activation_bytes; /* the engine's activation buffers + operator scratch for one batch
                                   (checked when the engine plans a batch; default 16 GiB; <= 0: no cap) */
} adx_model_limits;

#define ADX_MODEL_MAX_TENSOR_ELEMS_DEFAULT ((int64_t)1 << 30)
#define ADX_MODEL_MAX_ACTIVATION_BYTES_DEFAULT ((int64_t)16 << 30)

void adx_model_limits_default(adx_model_limits *l);

/* Load an ONNX model: decode, build the graph, resolve initializers (external data files next to
 * the model too), check every operator is supported, infer shapes, fold constants and BatchNorm.
 * Errors name the file, and the node and operator where relevant. */
adx_status adx_model_load(const char *path, const adx_model_limits *limits, adx_graph **out, adx_error *err);
/* Same, from bytes in memory (path is used in messages and for external data lookup; may be NULL). */
adx_status adx_model_load_mem(const void *buf, size_t len, const char *path, const adx_model_limits *limits,
                              adx_graph **out, adx_error *err);

/* Run the load-time passes (model/passes.c) on a graph built by hand or by the loader: shape inference,
 * constant folding, BatchNorm folding, Identity/Dropout removal, dead-node removal, operator fusion (asked
 * of each operator through its adx_op.fuse hook). */
adx_status adx_graph_prepare(adx_graph *g, adx_error *err);

/* Decode an ONNX TensorProto file (the input_N.pb / output_N.pb of ONNX's test data). */
adx_status adx_tensor_load_pb(const char *path, adx_tensor *t, adx_error *err);

#endif
