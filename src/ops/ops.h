/* Internal: the operator definitions, one per ONNX op_type, and shared kernels (not public API). */
#ifndef ADX_OPS_INTERNAL_H
#define ADX_OPS_INTERNAL_H

#include "adx/ir.h"

/* Each operator file defines some of these. registry.c lists them all; a listed operator without a
 * definition is a link error (the declarations are strong on purpose). */
#define ADX_OP_LIST(X)                                                                                       \
  X(Conv, conv)                                                                                              \
  X(MaxPool, maxpool)                                                                                        \
  X(AveragePool, averagepool)                                                                                \
  X(GlobalAveragePool, globalaveragepool)                                                                    \
  X(GlobalMaxPool, globalmaxpool)                                                                            \
  X(BatchNormalization, batchnormalization)                                                                  \
  X(Relu, relu)                                                                                              \
  X(LeakyRelu, leakyrelu)                                                                                    \
  X(Clip, clip)                                                                                              \
  X(Sigmoid, sigmoid)                                                                                        \
  X(HardSigmoid, hardsigmoid)                                                                                \
  X(HardSwish, hardswish)                                                                                    \
  X(Tanh, tanh)                                                                                              \
  X(Elu, elu)                                                                                                \
  X(Softplus, softplus)                                                                                      \
  X(Erf, erf)                                                                                                \
  X(Sqrt, sqrt)                                                                                              \
  X(Exp, exp)                                                                                                \
  X(Neg, neg)                                                                                                \
  X(Abs, abs)                                                                                                \
  X(Add, add)                                                                                                \
  X(Sub, sub)                                                                                                \
  X(Mul, mul)                                                                                                \
  X(Div, div)                                                                                                \
  X(Pow, pow)                                                                                                \
  X(PRelu, prelu)                                                                                            \
  X(Gemm, gemm)                                                                                              \
  X(MatMul, matmul)                                                                                          \
  X(Softmax, softmax)                                                                                        \
  X(ReduceMean, reducemean)                                                                                  \
  X(LayerNormalization, layernormalization)                                                                  \
  X(Flatten, flatten)                                                                                        \
  X(Reshape, reshape)                                                                                        \
  X(Transpose, transpose)                                                                                    \
  X(Concat, concat)                                                                                          \
  X(Split, split)                                                                                            \
  X(Squeeze, squeeze)                                                                                        \
  X(Unsqueeze, unsqueeze)                                                                                    \
  X(Shape, shape)                                                                                            \
  X(Gather, gather)                                                                                          \
  X(Slice, slice)                                                                                            \
  X(Cast, cast)                                                                                              \
  X(Constant, constant)                                                                                      \
  X(ConstantOfShape, constantofshape)                                                                        \
  X(Pad, pad)                                                                                                \
  X(Dropout, dropout)                                                                                        \
  X(Identity, identity)

#define ADX_OP_DECLARE(onnx, sym) extern const adx_op adx_op_##sym;
ADX_OP_LIST(ADX_OP_DECLARE)
#undef ADX_OP_DECLARE

#endif
