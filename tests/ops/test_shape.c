/* Shape and layout operators: Flatten, Reshape (0 / -1 / allowzero / batch rule), Transpose, Concat,
 * Split (attribute, input, equal and uneven parts), Squeeze/Unsqueeze (attribute and input axes),
 * Shape (start/end, constant output), Gather, Slice (clamping, negative steps), Cast, Constant,
 * ConstantOfShape, and the "operates across the batch dimension" refusals. Expected values are
 * numpy's, worked out by hand for these small arange inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ops/optest.h"

static float AR[64];

static int setup(void **state) {
  (void)state;
  for (int i = 0; i < 64; i++) AR[i] = (float)i;
  return 0;
}

/* Run node ni with x (f32 arange) as input 0 and check output 0 against want. */
static void run_f(adx_graph *g, int ni, int nd, const int64_t *dims, int ond, const int64_t *odims,
                  const float *want) {
  adx_tensor X = ot_tensor(ADX_F32, nd, dims, AR), Y[4];
  adx_error e = {0};
  const adx_tensor *args[8] = {&X};
  if (ot_run(g, ni, args, Y, 1, &e) != ADX_OK) fail_msg("run failed: %s", e.msg);
  ot_dims_eq(&g->values[g->nodes[ni].out[0]], ond, odims);
  ot_near(adx_f32(&Y[0]), want, adx_tensor_numel(&Y[0]), 0);
  adx_tensor_free(&X);
  ot_free(Y, g->nodes[ni].nout);
}

static void test_flatten(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 4, DIMS(2, 3, 2, 2), 1);
  const int64_t axes[] = {0, 1, 2, 4, -1};
  const int64_t want[][2] = {{1, 24}, {2, 12}, {6, 4}, {24, 1}, {12, 2}};
  for (int k = 0; k < 5; k++) {
    char out[32];
    snprintf(out, sizeof out, "y%d", k);
    int n = ot_node(g, "Flatten", "x", out, 1, ot_attrs(1, ot_int("axis", axes[k])));
    run_f(g, n, 4, DIMS(2, 3, 2, 2), 2, want[k], AR);
    assert_int_equal(g->values[g->nodes[n].out[0]].batched, axes[k] == 1);
  }
  adx_error e = {0};
  int n = ot_node(g, "Flatten", "x", "bad", 1, ot_attrs(1, ot_int("axis", 5)));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_ARG);
  ot_msg_has(&e, "Flatten_node");
  adx_graph_free(g);
}

static void test_reshape(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 3, DIMS(2, 3, 4), 1);
  ot_const(g, "s1", ADX_I64, 1, DIMS(3), IVALS(0, -1, 2));
  ot_const(g, "s2", ADX_I64, 1, DIMS(4), IVALS(2, 0, 1, 4));
  ot_const(g, "s3", ADX_I64, 1, DIMS(1), IVALS(-1));
  ot_const(g, "s4", ADX_I64, 1, DIMS(2), IVALS(-1, 5));
  ot_const(g, "s5", ADX_I64, 1, DIMS(2), IVALS(-1, -1));
  int n = ot_node(g, "Reshape", "x,s1", "y1", 0, NULL);
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(2, 6, 2), AR);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  n = ot_node(g, "Reshape", "x,s2", "y2", 0, NULL);
  run_f(g, n, 3, DIMS(2, 3, 4), 4, DIMS(2, 3, 1, 4), AR);
  n = ot_node(g, "Reshape", "x,s3", "y3", 0, NULL);
  run_f(g, n, 3, DIMS(2, 3, 4), 1, DIMS(24), AR);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  adx_error e = {0};
  n = ot_node(g, "Reshape", "x,s4", "y4", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "Reshape_node");
  n = ot_node(g, "Reshape", "x,s5", "y5", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  /* The target shape must be constant. */
  ot_in(g, "dyn", ADX_I64, 1, DIMS(2), 0);
  n = ot_node(g, "Reshape", "x,dyn", "y6", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "'dyn'");
  /* allowzero: a 0 is a real zero-size dim. */
  ot_in(g, "z", ADX_F32, 3, DIMS(0, 3, 4), 0);
  ot_const(g, "s7", ADX_I64, 1, DIMS(3), IVALS(3, 4, 0));
  n = ot_node(g, "Reshape", "z,s7", "y7", 1, ot_attrs(1, ot_int("allowzero", 1)));
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 3, DIMS(3, 4, 0));
  n = ot_node(g, "Reshape", "z,s7", "y8", 0, NULL); /* without allowzero, 0 copies dim 2 (= 4) */
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  adx_graph_free(g);
}

/* A target folded at the model's batch (1) follows the batch being run; other batch moves are refused. */
static void test_reshape_batch_rule(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->declared_batch = 1;
  g->batch = 4;
  ot_in(g, "x", ADX_F32, 4, DIMS(4, 8, 2, 2), 1);
  ot_const(g, "s", ADX_I64, 1, DIMS(2), IVALS(1, -1));
  ot_const(g, "t", ADX_I64, 1, DIMS(2), IVALS(-1, 4));
  ot_const(g, "u", ADX_I64, 1, DIMS(2), IVALS(4, -1));
  adx_error e = {0};
  int n = ot_node(g, "Reshape", "x,s", "y", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 2, DIMS(4, 32));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  n = ot_node(g, "Reshape", "x,t", "y2", 0, NULL); /* [32, 4]: the batch is merged away */
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "batch dimension");
  n = ot_node(g, "Reshape", "x,u", "y3", 0, NULL); /* an explicit 4 is this batch */
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  /* At the declared batch nothing changes. */
  g->batch = 1;
  g->values[adx_graph_find_value(g, "x")].dims[0] = 1;
  n = ot_node(g, "Reshape", "x,s", "y4", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 2, DIMS(1, 32));
  adx_graph_free(g);
}

static void test_transpose(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 3, DIMS(2, 3, 4), 1);
  int n = ot_node(g, "Transpose", "x", "y", 1, ot_attrs(1, ot_ints("perm", 3, IVALS(2, 0, 1))));
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(4, 2, 3),
        FVALS(0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  n = ot_node(g, "Transpose", "x", "y2", 0, NULL); /* default: reversed */
  float want[24];
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 3; b++)
      for (int c = 0; c < 2; c++) want[(a * 3 + b) * 2 + c] = (float)(c * 12 + b * 4 + a);
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(4, 3, 2), want);
  n = ot_node(g, "Transpose", "x", "y3", 1, ot_attrs(1, ot_ints("perm", 3, IVALS(0, 2, 1))));
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 3; c++) want[(a * 4 + b) * 3 + c] = (float)(a * 12 + c * 4 + b);
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(2, 4, 3), want);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  n = ot_node(g, "Transpose", "x", "y4", 1, ot_attrs(1, ot_ints("perm", 3, IVALS(0, 1, 2))));
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(2, 3, 4), AR);
  adx_error e = {0};
  n = ot_node(g, "Transpose", "x", "bad", 1, ot_attrs(1, ot_ints("perm", 3, IVALS(0, 0, 1))));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_ARG);
  /* Large int64 transpose across threads (NCHW -> NHWC). */
  const int64_t d[4] = {2, 64, 30, 20};
  ot_in(g, "big", ADX_I64, 4, d, 0);
  n = ot_node(g, "Transpose", "big", "bt", 1, ot_attrs(1, ot_ints("perm", 4, IVALS(0, 2, 3, 1))));
  adx_tensor B = ot_tensor(ADX_I64, 4, d, NULL), Y[1];
  for (int64_t i = 0; i < adx_tensor_numel(&B); i++) adx_i64(&B)[i] = i * 3 - 7;
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&B}, Y, 2, &e), ADX_OK);
  for (int64_t b = 0, k = 0; b < 2; b++)
    for (int64_t h = 0; h < 30; h++)
      for (int64_t w = 0; w < 20; w++)
        for (int64_t c = 0; c < 64; c++, k++)
          if (adx_i64(&Y[0])[k] != (((b * 64 + c) * 30 + h) * 20 + w) * 3 - 7)
            fail_msg("NHWC element %lld wrong", (long long)k);
  adx_tensor_free(&B);
  ot_free(Y, 1);
  /* Channel shuffle [N, g, C/g, H, W] -> perm (0,2,1,3,4): H,W travel together. */
  const int64_t cs[5] = {2, 3, 4, 5, 6};
  ot_in(g, "shuf", ADX_F32, 5, cs, 1);
  n = ot_node(g, "Transpose", "shuf", "so", 1, ot_attrs(1, ot_ints("perm", 5, IVALS(0, 2, 1, 3, 4))));
  adx_tensor S = ot_tensor(ADX_F32, 5, cs, NULL);
  for (int64_t i = 0; i < 720; i++) adx_f32(&S)[i] = (float)i;
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&S}, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 5, DIMS(2, 4, 3, 5, 6));
  for (int64_t a = 0, k = 0; a < 2; a++)
    for (int64_t b = 0; b < 4; b++)
      for (int64_t c = 0; c < 3; c++)
        for (int64_t hw = 0; hw < 30; hw++, k++)
          if (adx_f32(&Y[0])[k] != (float)(((a * 3 + c) * 4 + b) * 30 + hw))
            fail_msg("shuffle element %lld", (long long)k);
  adx_tensor_free(&S);
  ot_free(Y, 1);
  adx_graph_free(g);
}

static void test_concat_split(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "a", ADX_F32, 2, DIMS(2, 2), 1);
  ot_const(g, "b", ADX_F32, 2, DIMS(2, 3), FVALS(10, 11, 12, 13, 14, 15));
  ot_const(g, "c", ADX_F32, 2, DIMS(1, 2), FVALS(20, 21));
  int n = ot_node(g, "Concat", "a,b", "y", 1, ot_attrs(1, ot_int("axis", -1)));
  run_f(g, n, 2, DIMS(2, 2), 2, DIMS(2, 5), FVALS(0, 1, 10, 11, 12, 2, 3, 13, 14, 15));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  n = ot_node(g, "Concat", "a,c", "y2", 1, ot_attrs(1, ot_int("axis", 0)));
  run_f(g, n, 2, DIMS(2, 2), 2, DIMS(3, 2), FVALS(0, 1, 2, 3, 20, 21));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  adx_error e = {0};
  n = ot_node(g, "Concat", "a,c", "y3", 1, ot_attrs(1, ot_int("axis", 1)));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "'c'");
  /* int64 shape pieces, as exporters build Reshape targets */
  ot_const(g, "i1", ADX_I64, 1, DIMS(1), IVALS(4));
  ot_const(g, "i2", ADX_I64, 1, DIMS(2), IVALS(-1, 7));
  n = ot_node(g, "Concat", "i1,i2", "iy", 1, ot_attrs(1, ot_int("axis", 0)));
  adx_tensor Y[4];
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  ot_ieq(adx_i64(&Y[0]), IVALS(4, -1, 7), 3);
  ot_free(Y, 1);

  /* Split: equal parts, 'split' attribute (opset < 13), split input (opset 13), uneven tail (18). */
  ot_in(g, "x", ADX_F32, 2, DIMS(2, 6), 1);
  n = ot_node(g, "Split", "x", "p,q", 1, ot_attrs(1, ot_int("axis", 1)));
  adx_tensor X = ot_tensor(ADX_F32, 2, DIMS(2, 6), AR);
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_near(adx_f32(&Y[0]), FVALS(0, 1, 2, 6, 7, 8), 6, 0);
  ot_near(adx_f32(&Y[1]), FVALS(3, 4, 5, 9, 10, 11), 6, 0);
  assert_int_equal(g->values[g->nodes[n].out[1]].batched, 1);
  ot_free(Y, 2);
  n = ot_node(g, "Split", "x", "p2,q2,r2", 2,
              ot_attrs(2, ot_int("axis", 1), ot_ints("split", 3, IVALS(1, 2, 3))));
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_near(adx_f32(&Y[0]), FVALS(0, 6), 2, 0);
  ot_near(adx_f32(&Y[1]), FVALS(1, 2, 7, 8), 4, 0);
  ot_near(adx_f32(&Y[2]), FVALS(3, 4, 5, 9, 10, 11), 6, 0);
  ot_free(Y, 3);
  ot_const(g, "sp", ADX_I64, 1, DIMS(2), IVALS(4, 2));
  n = ot_node(g, "Split", "x,sp", "p3,q3", 1, ot_attrs(1, ot_int("axis", -1)));
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X, NULL}, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 2, DIMS(2, 4));
  ot_near(adx_f32(&Y[1]), FVALS(4, 5, 10, 11), 4, 0);
  ot_free(Y, 2);
  n = ot_node(g, "Split", "x", "p4,q4,r4,s4", 2, ot_attrs(2, ot_int("axis", 1), ot_int("num_outputs", 4)));
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[3]], 2, DIMS(2, 0));
  ot_near(adx_f32(&Y[2]), FVALS(4, 5, 10, 11), 4, 0);
  ot_free(Y, 4);
  ot_const(g, "spbad", ADX_I64, 1, DIMS(2), IVALS(4, 3));
  n = ot_node(g, "Split", "x,spbad", "p5,q5", 1, ot_attrs(1, ot_int("axis", 1)));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "Split_node");
  adx_tensor_free(&X);
  adx_graph_free(g);
}

static void test_squeeze_unsqueeze(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 4, DIMS(1, 3, 1, 2), 1);
  adx_error e = {0};
  int n = ot_node(g, "Squeeze", "x", "y", 1, ot_attrs(1, ot_ints("axes", 1, IVALS(-2))));
  run_f(g, n, 4, DIMS(1, 3, 1, 2), 3, DIMS(1, 3, 2), AR);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  n = ot_node(g, "Squeeze", "x", "y2", 0, NULL);
  run_f(g, n, 4, DIMS(1, 3, 1, 2), 2, DIMS(3, 2), AR);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  ot_const(g, "ax", ADX_I64, 1, DIMS(2), IVALS(0, 2));
  n = ot_node(g, "Squeeze", "x,ax", "y3", 0, NULL);
  run_f(g, n, 4, DIMS(1, 3, 1, 2), 2, DIMS(3, 2), AR);
  n = ot_node(g, "Squeeze", "x", "y4", 1, ot_attrs(1, ot_ints("axes", 1, IVALS(1))));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_SHAPE);
  ot_msg_has(&e, "Squeeze_node");

  ot_in(g, "v", ADX_F32, 2, DIMS(3, 2), 1);
  n = ot_node(g, "Unsqueeze", "v", "u", 1, ot_attrs(1, ot_ints("axes", 2, IVALS(3, 1))));
  run_f(g, n, 2, DIMS(3, 2), 4, DIMS(3, 1, 2, 1), AR);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  ot_const(g, "uax", ADX_I64, 1, DIMS(3), IVALS(0, -1, 2));
  n = ot_node(g, "Unsqueeze", "v,uax", "u2", 0, NULL);
  run_f(g, n, 2, DIMS(3, 2), 5, DIMS(1, 3, 1, 2, 1), AR);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  n = ot_node(g, "Unsqueeze", "v", "u3", 1, ot_attrs(1, ot_ints("axes", 2, IVALS(1, 1))));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_ARG);
  /* int64 scalar -> [1], as in Shape->Gather->Unsqueeze chains */
  ot_const(g, "s", ADX_I64, 0, NULL, IVALS(42));
  ot_const(g, "z", ADX_I64, 1, DIMS(1), IVALS(0));
  n = ot_node(g, "Unsqueeze", "s,z", "su", 0, NULL);
  adx_tensor Y[1];
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 1, DIMS(1));
  ot_ieq(adx_i64(&Y[0]), IVALS(42), 1);
  ot_free(Y, 1);
  adx_graph_free(g);
}

static void test_shape_gather(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 3, DIMS(5, 4, 3), 1);
  adx_error e = {0};
  int n = ot_node(g, "Shape", "x", "s", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  adx_value *sv = &g->values[g->nodes[n].out[0]];
  assert_true(sv->is_const);
  assert_int_equal(sv->dtype, ADX_I64);
  ot_dims_eq(sv, 1, DIMS(3));
  ot_ieq(adx_i64(&sv->cval), IVALS(5, 4, 3), 3);
  void *keep = sv->cval.data;
  assert_int_equal(ot_infer(g, n, &e), ADX_OK); /* idempotent, storage kept */
  assert_ptr_equal(keep, sv->cval.data);
  n = ot_node(g, "Shape", "x", "s2", 2, ot_attrs(2, ot_int("start", 1), ot_int("end", -1)));
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 1, DIMS(1));
  ot_ieq(adx_i64(&g->values[g->nodes[n].out[0]].cval), IVALS(4), 1);
  n = ot_node(g, "Shape", "x", "s3", 2, ot_attrs(2, ot_int("start", -10), ot_int("end", 10)));
  adx_tensor Y[1];
  adx_tensor X = ot_tensor(ADX_F32, 3, DIMS(5, 4, 3), NULL);
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_ieq(adx_i64(&Y[0]), IVALS(5, 4, 3), 3);
  ot_free(Y, 1);
  adx_tensor_free(&X);

  /* Gather: axis 1 with negative and 2-D indices; axis 0 on int64 (Shape -> Gather). */
  ot_in(g, "d", ADX_F32, 3, DIMS(2, 3, 2), 1);
  ot_const(g, "idx", ADX_I64, 2, DIMS(2, 2), IVALS(2, 0, -1, 1));
  n = ot_node(g, "Gather", "d,idx", "gy", 1, ot_attrs(1, ot_int("axis", 1)));
  run_f(g, n, 3, DIMS(2, 3, 2), 4, DIMS(2, 2, 2, 2),
        FVALS(4, 5, 0, 1, 4, 5, 2, 3, 10, 11, 6, 7, 10, 11, 8, 9));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  ot_const(g, "shp", ADX_I64, 1, DIMS(4), IVALS(8, 3, 32, 32));
  ot_const(g, "zero", ADX_I64, 0, NULL, IVALS(0));
  n = ot_node(g, "Gather", "shp,zero", "g0", 1, ot_attrs(1, ot_int("axis", 0)));
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 0, NULL);
  ot_ieq(adx_i64(&Y[0]), IVALS(8), 1);
  ot_free(Y, 1);
  ot_const(g, "oob", ADX_I64, 1, DIMS(1), IVALS(3));
  n = ot_node(g, "Gather", "d,oob", "gbad", 1, ot_attrs(1, ot_int("axis", 1)));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_ARG);
  ot_msg_has(&e, "Gather_node");
  /* A non-constant index out of range is caught at run time. */
  ot_in(g, "di", ADX_I64, 1, DIMS(1), 0);
  n = ot_node(g, "Gather", "d,di", "gdyn", 1, ot_attrs(1, ot_int("axis", 2)));
  adx_tensor D = ot_tensor(ADX_F32, 3, DIMS(2, 3, 2), AR), I = ot_tensor(ADX_I64, 1, DIMS(1), IVALS(-3));
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&D, &I}, Y, 1, &e), ADX_ERR_ARG);
  ot_free(Y, 1);
  adx_tensor_free(&D);
  adx_tensor_free(&I);
  adx_graph_free(g);
}

static void test_slice(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->opset = 13;
  ot_in(g, "x", ADX_F32, 3, DIMS(2, 3, 4), 1);
  /* x[1:2, ::-2, -3:100] */
  ot_const(g, "st", ADX_I64, 1, DIMS(3), IVALS(1, -1, -3));
  ot_const(g, "en", ADX_I64, 1, DIMS(3), IVALS(2, INT64_MIN, 100));
  ot_const(g, "ax", ADX_I64, 1, DIMS(3), IVALS(0, 1, 2));
  ot_const(g, "sp", ADX_I64, 1, DIMS(3), IVALS(1, -2, 1));
  int n = ot_node(g, "Slice", "x,st,en,ax,sp", "y", 0, NULL);
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(1, 2, 3), FVALS(21, 22, 23, 13, 14, 15));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 0);
  /* x[:, 2:0:-1, ::3] with negative axes */
  ot_const(g, "st2", ADX_I64, 1, DIMS(2), IVALS(2, 0));
  ot_const(g, "en2", ADX_I64, 1, DIMS(2), IVALS(0, INT64_MAX));
  ot_const(g, "ax2", ADX_I64, 1, DIMS(2), IVALS(-2, -1));
  ot_const(g, "sp2", ADX_I64, 1, DIMS(2), IVALS(-1, 3));
  n = ot_node(g, "Slice", "x,st2,en2,ax2,sp2", "y2", 0, NULL);
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(2, 2, 2), FVALS(8, 11, 4, 7, 20, 23, 16, 19));
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  /* opset < 10: attributes; default axes; start past the end gives an empty dim */
  n = ot_node(g, "Slice", "x", "y3", 2,
              ot_attrs(2, ot_ints("starts", 2, IVALS(0, 5)), ot_ints("ends", 2, IVALS(1, 9))));
  run_f(g, n, 3, DIMS(2, 3, 4), 3, DIMS(1, 0, 4), AR);
  /* step 0 is refused; non-constant starts are refused */
  adx_error e = {0};
  ot_const(g, "sp0", ADX_I64, 1, DIMS(3), IVALS(1, 0, 1));
  n = ot_node(g, "Slice", "x,st,en,ax,sp0", "y4", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_ARG);
  ot_msg_has(&e, "Slice_node");
  ot_in(g, "dyn", ADX_I64, 1, DIMS(3), 0);
  n = ot_node(g, "Slice", "x,dyn,en", "y5", 0, NULL);
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  adx_graph_free(g);
}

static void test_cast_constants(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  ot_in(g, "x", ADX_F32, 1, DIMS(6), 1);
  adx_error e = {0};
  int n = ot_node(g, "Cast", "x", "i", 1, ot_attrs(1, ot_int("to", 7)));
  adx_tensor X = ot_tensor(ADX_F32, 1, DIMS(6), FVALS(1.9f, -1.9f, 0.f, 3e20f, -3e20f, NAN)), Y[1];
  assert_int_equal(ot_run(g, n, (const adx_tensor *[]){&X}, Y, 1, &e), ADX_OK);
  ot_ieq(adx_i64(&Y[0]), IVALS(1, -1, 0, INT64_MAX, INT64_MIN, 0), 6);
  assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
  assert_int_equal(g->nodes[n].op->ad, ADX_AD_POINTWISE);
  ot_free(Y, 1);
  ot_const(g, "iv", ADX_I64, 1, DIMS(3), IVALS(-5, 0, 16777217));
  n = ot_node(g, "Cast", "iv", "f", 1, ot_attrs(1, ot_int("to", 1)));
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  ot_near(adx_f32(&Y[0]), FVALS(-5.f, 0.f, 16777216.f), 3, 0);
  ot_free(Y, 1);
  n = ot_node(g, "Cast", "x", "d", 1, ot_attrs(1, ot_int("to", 11)));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);
  ot_msg_has(&e, "Cast_node");

  /* Constant: its output becomes a constant value at infer time. */
  n = ot_node(g, "Constant", "", "c1", 1,
              ot_attrs(1, ot_tensor_attr("value", ADX_F32, 2, DIMS(2, 2), FVALS(1.5f, 2.5f, -1.f, 0.f))));
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  adx_value *cv = &g->values[g->nodes[n].out[0]];
  assert_true(cv->is_const);
  ot_dims_eq(cv, 2, DIMS(2, 2));
  ot_near(adx_f32(&cv->cval), FVALS(1.5f, 2.5f, -1.f, 0.f), 4, 0);
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  ot_near(adx_f32(&Y[0]), FVALS(1.5f, 2.5f, -1.f, 0.f), 4, 0);
  ot_free(Y, 1);
  n = ot_node(g, "Constant", "", "c2", 1, ot_attrs(1, ot_ints("value_ints", 3, IVALS(1, -1, 9))));
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  ot_ieq(adx_i64(&g->values[g->nodes[n].out[0]].cval), IVALS(1, -1, 9), 3);
  ot_ieq(adx_i64(&Y[0]), IVALS(1, -1, 9), 3);
  ot_free(Y, 1);
  n = ot_node(g, "Constant", "", "c3", 1, ot_attrs(1, ot_float("value_float", 0.25f)));
  assert_int_equal(ot_infer(g, n, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 0, NULL);
  ot_near(adx_f32(&g->values[g->nodes[n].out[0]].cval), FVALS(0.25f), 1, 0);
  n = ot_node(g, "Constant", "", "c4", 1, ot_attrs(1, ot_str("value_string", "no")));
  assert_int_equal(ot_infer(g, n, &e), ADX_ERR_UNSUPPORTED);

  /* ConstantOfShape */
  ot_const(g, "shape", ADX_I64, 1, DIMS(2), IVALS(2, 3));
  n = ot_node(g, "ConstantOfShape", "shape", "k", 1,
              ot_attrs(1, ot_tensor_attr("value", ADX_I64, 1, DIMS(1), IVALS(7))));
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  ot_dims_eq(&g->values[g->nodes[n].out[0]], 2, DIMS(2, 3));
  ot_ieq(adx_i64(&Y[0]), IVALS(7, 7, 7, 7, 7, 7), 6);
  ot_free(Y, 1);
  n = ot_node(g, "ConstantOfShape", "shape", "k2", 0, NULL);
  assert_int_equal(ot_run(g, n, NULL, Y, 1, &e), ADX_OK);
  assert_int_equal(Y[0].dtype, ADX_F32);
  ot_near(adx_f32(&Y[0]), FVALS(0, 0, 0, 0, 0, 0), 6, 0);
  ot_free(Y, 1);
  adx_tensor_free(&X);
  adx_graph_free(g);
}

/* At a batch other than the model's, operators that move, cut or mix dim 0 of a batched value refuse. */
static void test_batch_refusals(void **state) {
  (void)state;
  adx_graph *g = adx_graph_new();
  g->declared_batch = 1;
  g->batch = 3;
  ot_in(g, "x", ADX_F32, 4, DIMS(3, 2, 4, 4), 1);
  ot_in(g, "y", ADX_F32, 4, DIMS(3, 2, 4, 4), 1);
  ot_const(g, "i0", ADX_I64, 1, DIMS(1), IVALS(0));
  ot_const(g, "one", ADX_I64, 1, DIMS(1), IVALS(1));
  ot_const(g, "ax0", ADX_I64, 1, DIMS(1), IVALS(0));
  ot_const(g, "ax1", ADX_I64, 1, DIMS(1), IVALS(1));
  struct {
    const char *op, *ins;
    adx_attr *attrs;
    int nattrs;
    adx_status want;
  } cases[] = {
      {"Transpose", "x", ot_attrs(1, ot_ints("perm", 4, IVALS(1, 0, 2, 3))), 1, ADX_ERR_UNSUPPORTED},
      {"Transpose", "x", ot_attrs(1, ot_ints("perm", 4, IVALS(0, 2, 3, 1))), 1, ADX_OK},
      {"Concat", "x,y", ot_attrs(1, ot_int("axis", 0)), 1, ADX_ERR_UNSUPPORTED},
      {"Concat", "x,y", ot_attrs(1, ot_int("axis", 1)), 1, ADX_OK},
      {"Flatten", "x", ot_attrs(1, ot_int("axis", 0)), 1, ADX_ERR_UNSUPPORTED},
      {"Flatten", "x", ot_attrs(1, ot_int("axis", 2)), 1, ADX_ERR_UNSUPPORTED},
      {"Flatten", "x", NULL, 0, ADX_OK},
      {"Gather", "x,i0", ot_attrs(1, ot_int("axis", 0)), 1, ADX_ERR_UNSUPPORTED},
      {"Gather", "x,i0", ot_attrs(1, ot_int("axis", 1)), 1, ADX_OK},
      {"Slice", "x,i0,one,ax0", NULL, 0, ADX_ERR_UNSUPPORTED},
      {"Slice", "x,i0,one,ax1", NULL, 0, ADX_OK},
      {"Split", "x", ot_attrs(1, ot_int("axis", 0)), 1, ADX_ERR_UNSUPPORTED},
      {"Squeeze", "x", NULL, 0, ADX_ERR_UNSUPPORTED},
      {"Squeeze", "x,ax0", NULL, 0, ADX_ERR_UNSUPPORTED},
      {"Unsqueeze", "x,ax0", NULL, 0, ADX_ERR_UNSUPPORTED},
      {"Unsqueeze", "x,ax1", NULL, 0, ADX_OK},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char out[32];
    snprintf(out, sizeof out, "o%zu", k);
    int n = ot_node(g, cases[k].op, cases[k].ins, out, cases[k].nattrs, cases[k].attrs);
    adx_error e = {0};
    adx_status s = ot_infer(g, n, &e);
    if (s != cases[k].want)
      fail_msg("case %zu (%s): status %d, want %d: %s", k, cases[k].op, s, cases[k].want, e.msg);
    if (s) {
      ot_msg_has(&e, "batch dimension");
      ot_msg_has(&e, g->nodes[n].name);
    } else {
      assert_int_equal(g->values[g->nodes[n].out[0]].batched, 1);
    }
  }
  adx_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flatten),
      cmocka_unit_test(test_reshape),
      cmocka_unit_test(test_reshape_batch_rule),
      cmocka_unit_test(test_transpose),
      cmocka_unit_test(test_concat_split),
      cmocka_unit_test(test_squeeze_unsqueeze),
      cmocka_unit_test(test_shape_gather),
      cmocka_unit_test(test_slice),
      cmocka_unit_test(test_cast_constants),
      cmocka_unit_test(test_batch_refusals),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
