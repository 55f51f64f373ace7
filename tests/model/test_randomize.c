/* Cascading model randomisation (adx_model_randomize): exactly the chosen layers change, from the top
 * down, within PyTorch's default bound 1/sqrt(fan_in), seeded, and the same values for a layer at every
 * level that includes it. Checked on the ResNet fixture (9 Conv + 1 Gemm after BatchNorm folding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/model.h"
#include "common/testutil.h"

/* Copies of every constant's bytes, by value index. */
typedef struct snap {
  int n;
  void **data;
  size_t *bytes;
} snap;

static adx_graph *load(void) {
  char p[1024];
  adx_model_limits lim;
  adx_model_limits_default(&lim);
  adx_graph *g = NULL;
  TU_OK(adx_model_load(tu_data(p, sizeof p, "fashion_resnet.onnx"), &lim, &g, err));
  return g;
}

static void take(const adx_graph *g, snap *s) {
  s->n = g->nvalues;
  s->data = calloc((size_t)s->n, sizeof *s->data);
  s->bytes = calloc((size_t)s->n, sizeof *s->bytes);
  for (int i = 0; i < g->nvalues; i++) {
    const adx_value *v = &g->values[i];
    if (!v->is_const || !v->cval.data) continue;
    s->bytes[i] = (size_t)adx_tensor_numel(&v->cval) * adx_dtype_size(v->cval.dtype);
    s->data[i] = malloc(s->bytes[i] ? s->bytes[i] : 1);
    memcpy(s->data[i], v->cval.data, s->bytes[i]);
  }
}

static void drop(snap *s) {
  for (int i = 0; i < s->n; i++) free(s->data[i]);
  free(s->data), free(s->bytes);
}

static int same(const adx_graph *g, const snap *s, int v) {
  return !memcmp(g->values[v].cval.data, s->data[v], s->bytes[v]);
}

/* The weight and bias value indices of layer node k. */
static void wb(const adx_graph *g, int node, int *w, int *b) {
  const adx_node *n = &g->nodes[node];
  *w = n->in[1];
  *b = n->nin > 2 ? n->in[2] : -1;
}

static void test_layers(void **state) {
  (void)state;
  adx_graph *g = load();
  int nodes[16];
  assert_int_equal(adx_model_param_layers(g, nodes, 16), 10); /* adx info: 9 Conv + 1 Gemm */
  assert_string_equal(g->nodes[nodes[0]].op_type, "Gemm");    /* the classifier head is level 1 */
  for (int j = 1; j < 10; j++) {
    assert_string_equal(g->nodes[nodes[j]].op_type, "Conv");
    assert_true(nodes[j] < nodes[j - 1]); /* from the output backwards */
  }
  /* fan-in from the weight shapes: Gemm [10, K] with transB=1 -> K; Conv [M, C, kh, kw] -> C*kh*kw */
  const adx_tensor *gw = &g->values[g->nodes[nodes[0]].in[1]].cval;
  assert_int_equal(adx_model_fan_in(g, nodes[0]), gw->dims[1]);
  const adx_tensor *cw = &g->values[g->nodes[nodes[9]].in[1]].cval; /* the first conv: 1 input channel */
  assert_int_equal(cw->dims[1], 1);
  assert_int_equal(adx_model_fan_in(g, nodes[9]), cw->dims[2] * cw->dims[3]);
  adx_graph_free(g);
}

static void test_exact_layers_changed(void **state) {
  (void)state;
  adx_graph *g = load();
  snap s;
  take(g, &s);
  int nodes[16];
  adx_model_param_layers(g, nodes, 16);
  TU_OK(adx_model_randomize(g, 3, 7, err));
  int changed[4096] = {0};
  assert_true(g->nvalues < 4096);
  for (int j = 0; j < 3; j++) {
    int w, b;
    wb(g, nodes[j], &w, &b);
    changed[w] = 1;
    assert_false(same(g, &s, w));
    if (b >= 0 && g->values[b].is_const) {
      changed[b] = 1;
      assert_false(same(g, &s, b));
    }
    /* uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)): inside the bound, and filling it */
    double bound = 1.0 / sqrt((double)adx_model_fan_in(g, nodes[j])), mx = 0, sum = 0;
    const float *v = adx_f32(&g->values[w].cval);
    int64_t n = adx_tensor_numel(&g->values[w].cval);
    for (int64_t i = 0; i < n; i++) {
      assert_true(fabs(v[i]) <= bound);
      mx = fmax(mx, fabs(v[i]));
      sum += v[i];
    }
    assert_true(mx > 0.9 * bound);
    assert_true(fabs(sum / (double)n) < 0.2 * bound); /* mean 0, std bound/sqrt(3) over >= 640 draws */
  }
  for (int i = 0; i < g->nvalues; i++) /* everything else bit for bit as loaded */
    if (g->values[i].is_const && !changed[i]) assert_true(same(g, &s, i));
  drop(&s);
  /* levels 0 changes nothing; more levels than layers is refused */
  adx_graph *h = load();
  take(h, &s);
  TU_OK(adx_model_randomize(h, 0, 7, err));
  for (int i = 0; i < h->nvalues; i++)
    if (h->values[i].is_const) assert_true(same(h, &s, i));
  adx_error e = {0};
  assert_int_equal(adx_model_randomize(h, 11, 7, &e), ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "fashion_resnet.onnx"));
  drop(&s);
  adx_graph_free(h);
  adx_graph_free(g);
}

static void test_seeded_cumulative(void **state) {
  (void)state;
  adx_graph *a = load(), *b = load(), *c = load(), *d = load();
  snap s;
  take(d, &s);
  TU_OK(adx_model_randomize(a, 2, 7, err));
  TU_OK(adx_model_randomize(b, 2, 7, err));
  TU_OK(adx_model_randomize(c, 2, 8, err));
  TU_OK(adx_model_randomize(d, 1, 7, err));
  int nodes[16];
  adx_model_param_layers(a, nodes, 16);
  for (int j = 0; j < 2; j++) {
    int w, bi;
    wb(a, nodes[j], &w, &bi);
    size_t bytes = (size_t)adx_tensor_numel(&a->values[w].cval) * sizeof(float);
    assert_memory_equal(a->values[w].cval.data, b->values[w].cval.data, bytes);     /* same seed */
    assert_memory_not_equal(a->values[w].cval.data, c->values[w].cval.data, bytes); /* another seed */
    if (j == 0) /* level 1 gives the top layer the values level 2 gives it */
      assert_memory_equal(a->values[w].cval.data, d->values[w].cval.data, bytes);
    else /* and leaves the second layer alone */
      assert_true(same(d, &s, w));
  }
  drop(&s);
  adx_graph_free(a), adx_graph_free(b), adx_graph_free(c), adx_graph_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layers),
      cmocka_unit_test(test_exact_layers_changed),
      cmocka_unit_test(test_seeded_cumulative),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
