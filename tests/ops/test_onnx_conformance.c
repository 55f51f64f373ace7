/* ONNX node conformance: every case below (ONNX's own test data, /usr/share/libonnx-testdata) is
 * loaded with adx_model_load_mem, run through the engine, and compared with ONNX's expected outputs
 * (rtol 1e-4, atol 1e-5; int64 exactly). One line per case: PASS / FAIL: why / SKIP: why, also
 * written to build/conformance.txt. The test fails on any FAIL, and unless the cases reported SKIP are
 * exactly the "conformance CASE" lines of tests/allowed-skips.txt (each with its reason): a new skip
 * fails, and so does a listed case that now runs (take it off the list).
 *
 * adx models have one data input (the batched image); everything else (weights, shapes, axes, pads,
 * clip bounds) is an initializer. ONNX node tests pass those as extra graph inputs, so the runner
 * moves inputs 1..n-1 of each case into the model's initializers, with the values of the data set,
 * before loading. Input 0 stays the engine's input. Cases declaring a default-domain opset below
 * MIN_OPSET (the oldest adx loads) are declared at MIN_OPSET instead: an opset import means "the latest
 * version of each operator up to it", so for these operators (unchanged since) the model means the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adx/engine.h"
#include "adx/model.h"
#include "common/testutil.h"
#include "onnx.pb-c.h"

#define MIN_OPSET 9
#define DEFAULT_DIR "/usr/share/libonnx-testdata/data/node"

static const char *const CASES[] = {
    /* activations */
    "test_relu",
    "test_leakyrelu",
    "test_leakyrelu_default",
    "test_leakyrelu_example",
    "test_clip",
    "test_clip_default_inbounds",
    "test_clip_default_max",
    "test_clip_default_min",
    "test_clip_example",
    "test_clip_inbounds",
    "test_clip_outbounds",
    "test_clip_splitbounds",
    "test_clip_default_int8_inbounds",
    "test_clip_default_int8_max",
    "test_clip_default_int8_min",
    "test_sigmoid",
    "test_sigmoid_example",
    "test_hardsigmoid",
    "test_hardsigmoid_default",
    "test_hardsigmoid_example",
    "test_hardswish",
    "test_hardswish_expanded",
    "test_tanh",
    "test_tanh_example",
    "test_elu",
    "test_elu_default",
    "test_elu_example",
    "test_softplus",
    "test_softplus_example",
    /* pointwise math (GELU: Erf; a decomposed LayerNorm: Pow, Sqrt) */
    "test_erf",
    "test_sqrt",
    "test_sqrt_example",
    "test_exp",
    "test_exp_example",
    "test_neg",
    "test_neg_example",
    "test_abs",
    "test_dropout_default",
    "test_dropout_default_ratio",
    "test_dropout_default_old",
    "test_dropout_random_old",
    "test_dropout_default_mask",
    "test_dropout_default_mask_ratio",
    "test_identity",
    /* arithmetic */
    "test_add",
    "test_add_bcast",
    "test_add_uint8",
    "test_sub",
    "test_sub_bcast",
    "test_sub_example",
    "test_sub_uint8",
    "test_mul",
    "test_mul_bcast",
    "test_mul_example",
    "test_mul_uint8",
    "test_div",
    "test_div_bcast",
    "test_div_example",
    "test_div_uint8",
    "test_pow",
    "test_pow_bcast_array",
    "test_pow_bcast_scalar",
    "test_pow_example",
    "test_prelu_example",
    "test_prelu_broadcast",
    /* normalisation, products, softmax, reductions */
    "test_batchnorm_epsilon",
    "test_batchnorm_example",
    "test_gemm_all_attributes",
    "test_gemm_alpha",
    "test_gemm_beta",
    "test_gemm_default_matrix_bias",
    "test_gemm_default_no_bias",
    "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias",
    "test_gemm_default_zero_bias",
    "test_gemm_transposeA",
    "test_gemm_transposeB",
    "test_matmul_2d",
    "test_matmul_3d",
    "test_matmul_4d",
    "test_softmax_axis_0",
    "test_softmax_axis_1",
    "test_softmax_axis_2",
    "test_softmax_default_axis",
    "test_softmax_example",
    "test_softmax_large_number",
    "test_softmax_negative_axis",
    "test_layer_normalization_2d_axis0",
    "test_layer_normalization_2d_axis1",
    "test_layer_normalization_2d_axis_negative_1",
    "test_layer_normalization_2d_axis_negative_2",
    "test_layer_normalization_3d_axis0_epsilon",
    "test_layer_normalization_3d_axis1_epsilon",
    "test_layer_normalization_3d_axis2_epsilon",
    "test_layer_normalization_3d_axis_negative_1_epsilon",
    "test_layer_normalization_3d_axis_negative_2_epsilon",
    "test_layer_normalization_3d_axis_negative_3_epsilon",
    "test_layer_normalization_4d_axis0",
    "test_layer_normalization_4d_axis1",
    "test_layer_normalization_4d_axis2",
    "test_layer_normalization_4d_axis3",
    "test_layer_normalization_4d_axis_negative_1",
    "test_layer_normalization_4d_axis_negative_2",
    "test_layer_normalization_4d_axis_negative_3",
    "test_layer_normalization_4d_axis_negative_4",
    "test_layer_normalization_default_axis",
    "test_reduce_mean_default_axes_keepdims_example",
    "test_reduce_mean_default_axes_keepdims_random",
    "test_reduce_mean_do_not_keepdims_example",
    "test_reduce_mean_do_not_keepdims_random",
    "test_reduce_mean_keepdims_example",
    "test_reduce_mean_keepdims_random",
    "test_reduce_mean_negative_axes_keepdims_example",
    "test_reduce_mean_negative_axes_keepdims_random",
    /* shapes */
    "test_flatten_axis0",
    "test_flatten_axis1",
    "test_flatten_axis2",
    "test_flatten_axis3",
    "test_flatten_default_axis",
    "test_flatten_negative_axis1",
    "test_flatten_negative_axis2",
    "test_flatten_negative_axis3",
    "test_flatten_negative_axis4",
    "test_reshape_allowzero_reordered",
    "test_reshape_extended_dims",
    "test_reshape_negative_dim",
    "test_reshape_negative_extended_dims",
    "test_reshape_one_dim",
    "test_reshape_reduced_dims",
    "test_reshape_reordered_all_dims",
    "test_reshape_reordered_last_dims",
    "test_reshape_zero_and_negative_dim",
    "test_reshape_zero_dim",
    "test_transpose_all_permutations_0",
    "test_transpose_all_permutations_1",
    "test_transpose_all_permutations_2",
    "test_transpose_all_permutations_3",
    "test_transpose_all_permutations_4",
    "test_transpose_all_permutations_5",
    "test_transpose_default",
    "test_concat_1d_axis_0",
    "test_concat_1d_axis_negative_1",
    "test_concat_2d_axis_0",
    "test_concat_2d_axis_1",
    "test_concat_2d_axis_negative_1",
    "test_concat_2d_axis_negative_2",
    "test_concat_3d_axis_0",
    "test_concat_3d_axis_1",
    "test_concat_3d_axis_2",
    "test_concat_3d_axis_negative_1",
    "test_concat_3d_axis_negative_2",
    "test_concat_3d_axis_negative_3",
    "test_split_equal_parts_1d",
    "test_split_equal_parts_2d",
    "test_split_equal_parts_default_axis",
    "test_split_variable_parts_1d",
    "test_split_variable_parts_2d",
    "test_split_variable_parts_default_axis",
    "test_split_zero_size_splits",
    "test_squeeze",
    "test_squeeze_negative_axes",
    "test_unsqueeze_axis_0",
    "test_unsqueeze_axis_1",
    "test_unsqueeze_axis_2",
    "test_unsqueeze_axis_3",
    "test_unsqueeze_negative_axes",
    "test_unsqueeze_three_axes",
    "test_unsqueeze_two_axes",
    "test_unsqueeze_unsorted_axes",
    "test_shape",
    "test_shape_clip_end",
    "test_shape_clip_start",
    "test_shape_end_1",
    "test_shape_end_negative_1",
    "test_shape_example",
    "test_shape_start_1",
    "test_shape_start_1_end_2",
    "test_shape_start_1_end_negative_1",
    "test_shape_start_negative_1",
    "test_gather_0",
    "test_gather_1",
    "test_gather_2d_indices",
    "test_gather_negative_indices",
    "test_slice",
    "test_slice_default_axes",
    "test_slice_default_steps",
    "test_slice_end_out_of_bounds",
    "test_slice_neg",
    "test_slice_neg_steps",
    "test_slice_negative_axes",
    "test_slice_start_out_of_bounds",
    "test_cast_DOUBLE_to_FLOAT",
    "test_cast_FLOAT_to_DOUBLE",
    "test_cast_FLOAT16_to_FLOAT",
    "test_cast_FLOAT_to_FLOAT16",
    "test_constant",
    "test_constantofshape_float_ones",
    "test_constantofshape_int_zeros",
    "test_constantofshape_int_shape_zero",
    "test_constant_pad",
    "test_edge_pad",
    "test_reflect_pad",
    /* spatial windows (other engineers' operators, run through the same path) */
    "test_basic_conv_with_padding",
    "test_basic_conv_without_padding",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
    "test_maxpool_1d_default",
    "test_maxpool_2d_ceil",
    "test_maxpool_2d_default",
    "test_maxpool_2d_dilations",
    "test_maxpool_2d_pads",
    "test_maxpool_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_strides",
    "test_maxpool_2d_same_lower",
    "test_maxpool_2d_same_upper",
    "test_maxpool_2d_strides",
    "test_maxpool_2d_uint8",
    "test_maxpool_3d_default",
    "test_averagepool_1d_default",
    "test_averagepool_2d_ceil",
    "test_averagepool_2d_default",
    "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads",
    "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper",
    "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower",
    "test_averagepool_2d_same_upper",
    "test_averagepool_2d_strides",
    "test_averagepool_3d_default",
    "test_globalaveragepool",
    "test_globalaveragepool_precomputed",
    "test_globalmaxpool",
    "test_globalmaxpool_precomputed",
};

enum { R_PASS, R_FAIL, R_SKIP };

typedef struct result {
  int kind;
  char why[1200];
} result;

static int set(result *r, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set(result *r, int kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->why, sizeof r->why, fmt, ap);
  va_end(ap);
  r->kind = kind;
  return kind;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    }
    *len = (size_t)(n > 0 ? n : 0);
  }
  fclose(f);
  return buf;
}

static const char *type_name(int t) {
  static const char *const names[] = {"undefined", "float",  "uint8",     "int8",       "uint16",  "int16",
                                      "int32",     "int64",  "string",    "bool",       "float16", "double",
                                      "uint32",    "uint64", "complex64", "complex128", "bfloat16"};
  return t >= 0 && t <= 16 ? names[t] : "unknown";
}

/* Element type of a tensor value info; -1 when it is not a tensor. */
static int elem_type(const Onnx__ValueInfoProto *vi) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return -1;
  return tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
}

static int is_window_op(const char *op) {
  return !strcmp(op, "Conv") || !strcmp(op, "MaxPool") || !strcmp(op, "AveragePool") ||
         !strcmp(op, "GlobalAveragePool") || !strcmp(op, "GlobalMaxPool");
}

/* Reasons a case is outside adx's scope, decided from the model alone (NULL: in scope). */
static const char *out_of_scope(const Onnx__ModelProto *m, char *buf, size_t len) {
  const Onnx__GraphProto *g = m->graph;
  for (size_t i = 0; i < g->n_input + g->n_output; i++) {
    const Onnx__ValueInfoProto *vi = i < g->n_input ? g->input[i] : g->output[i - g->n_input];
    int t = elem_type(vi);
    if (t < 0) return "a graph input or output is not a tensor";
    if (t != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && t != ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
      snprintf(buf, len, "element type %s ('%s'): adx computes in float32 and int64 only", type_name(t),
               vi->name);
      return buf;
    }
  }
  if (g->n_input == 0) return "the model has no input: adx needs a data input";
  if (g->n_input > 0) {
    if (elem_type(g->input[0]) != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
      return "the first input is not float: adx needs a float data input";
    const Onnx__TensorShapeProto *sh = g->input[0]->type->tensor_type->shape;
    if (sh && sh->n_dim > 0 &&
        sh->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
        sh->dim[0]->dim_value == 0)
      return "the data input has an empty batch (dim 0 is 0)";
    for (size_t k = 0; k < g->n_node; k++)
      if (is_window_op(g->node[k]->op_type) && sh && sh->n_dim != 4) {
        snprintf(buf, len, "%zu-D %s: adx supports 2-D spatial windows only", sh->n_dim - 2,
                 g->node[k]->op_type);
        return buf;
      }
  }
  return NULL;
}

static int count_files(const char *dir, const char *prefix) {
  int n = 0;
  char path[1200];
  for (;;) {
    struct stat st;
    snprintf(path, sizeof path, "%s/%s%d.pb", dir, prefix, n);
    if (stat(path, &st) != 0) return n;
    n++;
  }
}

/* got vs want: dtype, dims, values. Returns 0 when they match, else writes why. */
static int compare(const adx_tensor *got, const adx_tensor *want, int k, char *why, size_t len) {
  char a[128], b[128];
  if (got->dtype != want->dtype) {
    snprintf(why, len, "output %d: element type %d, expected %d", k, (int)got->dtype, (int)want->dtype);
    return 1;
  }
  int same = got->ndim == want->ndim;
  for (int i = 0; same && i < got->ndim; i++) same = got->dims[i] == want->dims[i];
  if (!same) {
    snprintf(why, len, "output %d: shape %s, expected %s", k, adx_dims_str(got->dims, got->ndim, a, sizeof a),
             adx_dims_str(want->dims, want->ndim, b, sizeof b));
    return 1;
  }
  int64_t n = adx_tensor_numel(want);
  for (int64_t i = 0; i < n; i++) {
    if (want->dtype == ADX_I64) {
      if (adx_i64(got)[i] != adx_i64(want)[i]) {
        snprintf(why, len, "output %d element %lld: %lld, expected %lld", k, (long long)i,
                 (long long)adx_i64(got)[i], (long long)adx_i64(want)[i]);
        return 1;
      }
    } else {
      double g = adx_f32(got)[i], w = adx_f32(want)[i];
      int ok = (isnan(g) && isnan(w)) || g == w || fabs(g - w) <= 1e-5 + 1e-4 * fabs(w);
      if (!ok) {
        snprintf(why, len, "output %d element %lld: %.9g, expected %.9g", k, (long long)i, g, w);
        return 1;
      }
    }
  }
  return 0;
}

/* Run one data set of a case. The model is re-packed with inputs 1.. as initializers. */
static int run_set(const char *dir, const char *set_dir, Onnx__ModelProto *m, result *r) {
  Onnx__GraphProto *g = m->graph;
  const size_t nin = g->n_input;
  char path[1200], why[1100];
  Onnx__TensorProto **baked = calloc(nin + 1, sizeof *baked);
  Onnx__TensorProto *copies = calloc(nin + 1, sizeof *copies);
  Onnx__TensorProto **inits = calloc(g->n_initializer + nin + 1, sizeof *inits);
  uint8_t *packed = NULL;
  adx_graph *ag = NULL;
  adx_engine *eng = NULL;
  adx_tensor x = {0};
  adx_error err = {0};
  int kind = R_PASS;
  if (!baked || !copies || !inits) {
    kind = set(r, R_FAIL, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < g->n_initializer; i++) inits[i] = g->initializer[i];
  size_t ninit = g->n_initializer;
  for (size_t i = 1; i < nin; i++) {
    size_t len = 0;
    snprintf(path, sizeof path, "%s/input_%zu.pb", set_dir, i);
    uint8_t *buf = read_file(path, &len);
    if (!buf) {
      kind = set(r, R_FAIL, "cannot read %s", path);
      goto done;
    }
    baked[i] = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!baked[i]) {
      kind = set(r, R_FAIL, "cannot decode %s", path);
      goto done;
    }
    copies[i] = *baked[i];
    copies[i].name = g->input[i]->name;
    inits[ninit++] = &copies[i];
  }
  /* Re-pack with only input 0 left as a graph input. */
  Onnx__TensorProto **old_init = g->initializer;
  size_t old_ninit = g->n_initializer, old_nin = g->n_input;
  g->initializer = inits;
  g->n_initializer = ninit;
  g->n_input = nin > 0 ? 1 : 0;
  size_t plen = onnx__model_proto__get_packed_size(m);
  packed = malloc(plen ? plen : 1);
  if (packed) onnx__model_proto__pack(m, packed);
  g->initializer = old_init;
  g->n_initializer = old_ninit;
  g->n_input = old_nin;
  if (!packed) {
    kind = set(r, R_FAIL, "out of memory");
    goto done;
  }
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  if (adx_model_load_mem(packed, plen, path, NULL, &ag, &err)) {
    kind = set(r, R_FAIL, "load: %s", err.msg);
    goto done;
  }
  const int nout = count_files(set_dir, "output_");
  if (nout != ag->noutputs) {
    kind = set(r, R_FAIL, "model has %d outputs, test data %d", ag->noutputs, nout);
    goto done;
  }
  const adx_tensor *const *outs = NULL;
  const adx_tensor *cout[16];
  if (ag->ninputs == 0) { /* everything was computed at load time (Constant) */
    for (int k = 0; k < nout && k < 16; k++) {
      const adx_value *v = &ag->values[ag->outputs[k]];
      if (!v->is_const) {
        kind = set(r, R_FAIL, "no inputs, but output %d is not a constant", k);
        goto done;
      }
      cout[k] = &v->cval;
    }
    outs = cout;
  } else {
    snprintf(path, sizeof path, "%s/input_0.pb", set_dir);
    if (adx_tensor_load_pb(path, &x, &err)) {
      kind = set(r, R_FAIL, "input: %s", err.msg);
      goto done;
    }
    if (adx_engine_create(ag, 1, &eng, &err)) {
      kind = set(r, R_FAIL, "engine: %s", err.msg);
      goto done;
    }
    const adx_tensor *ins[1] = {&x};
    if (adx_engine_run_all(eng, ins, 1, &outs, &err)) {
      kind = set(r, R_FAIL, "run: %s", err.msg);
      goto done;
    }
  }
  for (int k = 0; k < nout; k++) {
    adx_tensor want = {0};
    snprintf(path, sizeof path, "%s/output_%d.pb", set_dir, k);
    if (adx_tensor_load_pb(path, &want, &err)) {
      kind = set(r, R_FAIL, "expected output: %s", err.msg);
      goto done;
    }
    int bad = compare(outs[k], &want, k, why, sizeof why);
    adx_tensor_free(&want);
    if (bad) {
      kind = set(r, R_FAIL, "%s", why);
      goto done;
    }
  }
done:
  for (size_t i = 0; baked && i < nin; i++)
    if (baked[i]) onnx__tensor_proto__free_unpacked(baked[i], NULL);
  free(baked);
  free(copies);
  free(inits);
  free(packed);
  adx_engine_free(eng);
  adx_graph_free(ag);
  adx_tensor_free(&x);
  return kind;
}

static int run_case(const char *root, const char *name, result *r) {
  char dir[700], path[1000], buf[512];
  snprintf(dir, sizeof dir, "%s/%s", root, name);
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  size_t len = 0;
  uint8_t *bytes = read_file(path, &len);
  if (!bytes) return set(r, R_SKIP, "not in this version of ONNX's test data (%s)", strerror(errno));
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, bytes);
  free(bytes);
  if (!m || !m->graph) {
    if (m) onnx__model_proto__free_unpacked(m, NULL);
    return set(r, R_FAIL, "cannot decode %s", path);
  }
  for (size_t i = 0; i < m->n_opset_import; i++) {
    Onnx__OperatorSetIdProto *op = m->opset_import[i];
    if ((!op->domain || !op->domain[0] || !strcmp(op->domain, "ai.onnx")) && op->version < MIN_OPSET)
      op->version = MIN_OPSET;
  }
  const char *why = out_of_scope(m, buf, sizeof buf);
  int kind = R_PASS, nsets = 0;
  if (why) {
    kind = set(r, R_SKIP, "%s", why);
  } else {
    for (int s = 0;; s++) {
      char sd[800];
      struct stat st;
      snprintf(sd, sizeof sd, "%s/test_data_set_%d", dir, s);
      if (stat(sd, &st) != 0) break;
      nsets++;
      if ((kind = run_set(dir, sd, m, r)) != R_PASS) {
        char tmp[1200];
        snprintf(tmp, sizeof tmp, "%s", r->why);
        set(r, kind, "data set %d: %s", s, tmp);
        break;
      }
    }
    if (kind == R_PASS && nsets == 0) kind = set(r, R_FAIL, "no test_data_set_* directories");
  }
  onnx__model_proto__free_unpacked(m, NULL);
  if (kind == R_PASS) set(r, R_PASS, "%d data set%s", nsets, nsets == 1 ? "" : "s");
  return kind;
}

/* The expected skips: the "conformance CASE REASON" lines of tests/allowed-skips.txt ($ADX_ALLOWED_SKIPS,
 * else beside the test data). Returns how many were read into names (each malloc'd), or -1. */
static int expected_skips(char **names, int max, char *path, size_t plen) {
  const char *env = getenv("ADX_ALLOWED_SKIPS");
  if (env && *env)
    snprintf(path, plen, "%s", env);
  else
    tu_data(path, plen, "../allowed-skips.txt");
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[1024], kind[64], name[256];
  int n = 0, used = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "%63s %255s %n", kind, name, &used) == 2 && !strcmp(kind, "conformance") && n < max) {
      if (line[used] == '\0' || line[used] == '\n') { /* a reason is required */
        fclose(f);
        fail_msg("%s: expected skip %s has no reason", path, name);
      }
      names[n++] = strdup(name);
    }
  fclose(f);
  return n;
}

static void test_conformance(void **state) {
  (void)state;
  const char *root = getenv("ADX_ONNX_TESTDATA");
  if (!root || !*root) root = DEFAULT_DIR;
  struct stat st;
  if (stat(root, &st) != 0) fail_msg("ONNX test data not found at %s (install libonnx-testdata)", root);
  mkdir("build", 0777);
  FILE *rep = fopen("build/conformance.txt", "w");
  int count[3] = {0};
  const size_t ncases = sizeof CASES / sizeof CASES[0];
  char *expect[ncases], lpath[1024];
  int nexp = expected_skips(expect, (int)ncases, lpath, sizeof lpath);
  if (nexp < 0) fail_msg("cannot read the list of expected skips %s", lpath);
  int kinds[ncases], bad = 0;
  for (size_t i = 0; i < ncases; i++) {
    result r = {0};
    int kind = run_case(root, CASES[i], &r);
    count[kind]++;
    kinds[i] = kind;
    char line[1400];
    if (kind == R_PASS)
      snprintf(line, sizeof line, "PASS %s", CASES[i]);
    else
      snprintf(line, sizeof line, "%s %s: %s", kind == R_FAIL ? "FAIL" : "SKIP", CASES[i], r.why);
    printf("%s\n", line);
    if (rep) fprintf(rep, "%s\n", line);
  }
  printf("conformance summary: %d PASS / %d FAIL / %d SKIP of %zu cases\n", count[R_PASS], count[R_FAIL],
         count[R_SKIP], ncases);
  if (rep) {
    fprintf(rep, "conformance summary: %d PASS / %d FAIL / %d SKIP of %zu cases\n", count[R_PASS],
            count[R_FAIL], count[R_SKIP], ncases);
    fclose(rep);
  }
  fflush(stdout);
  for (size_t i = 0; i < ncases; i++) {
    int listed = 0;
    for (int k = 0; k < nexp; k++) listed |= !strcmp(expect[k], CASES[i]);
    if (kinds[i] == R_SKIP && !listed) {
      printf("NEW SKIP %s: not an expected skip of %s (make it run, or list it with its reason)\n", CASES[i],
             lpath);
      bad++;
    } else if (kinds[i] != R_SKIP && listed) {
      printf("RUNS %s: listed as an expected skip in %s but it ran: take it off the list\n", CASES[i], lpath);
      bad++;
    }
  }
  for (int k = 0; k < nexp; k++) {
    int known = 0;
    for (size_t i = 0; i < ncases; i++) known |= !strcmp(expect[k], CASES[i]);
    if (!known) {
      printf("UNKNOWN %s: listed in %s but not a case of this test\n", expect[k], lpath);
      bad++;
    }
    free(expect[k]);
  }
  if (count[R_FAIL] > 0) fail_msg("%d conformance case(s) failed", count[R_FAIL]);
  if (bad) fail_msg("%d case(s) differ from the expected skips of %s", bad, lpath);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_conformance)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
