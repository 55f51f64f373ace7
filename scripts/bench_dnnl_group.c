/* Feasibility harness (docs/performance.md, "Grouping samples per oneDNN call"): the Fashion ResNet's
 * convolution shapes through oneDNN as adx runs them (format_tag_any, NCHW user memory, a reorder on each
 * side, bias + optional Relu post-op, Winograd where the library has it) made for one sample and for G
 * samples per call: is a G-sample call bit-identical per sample, and faster? With a second argument the
 * reorders are left out (the convolution alone). Not part of adx.
 *   gcc -O2 -o build/bench_dnnl_group scripts/bench_dnnl_group.c -ldnnl
 *   OMP_NUM_THREADS=1 build/bench_dnnl_group 8        # mb 1 against mb 8, reorders included
 *   OMP_NUM_THREADS=1 build/bench_dnnl_group 1 x      # mb 1, the convolution alone */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CK(x)                                                                                                \
  do {                                                                                                       \
    dnnl_status_t s_ = (x);                                                                                  \
    if (s_) {                                                                                                \
      printf("fail %s: %d\n", #x, s_);                                                                       \
      exit(1);                                                                                               \
    }                                                                                                        \
  } while (0)
typedef struct {
  dnnl_primitive_t conv, rs, rd;
  dnnl_memory_t us, ud, s, d, w, b, scr;
  dnnl_stream_t st;
} L;
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static void build(L *l, dnnl_engine_t e, int mb, int ic, int oc, int ih, int k, int st, int relu, int wino,
                  float *wts, float *bias) {
  int p = k / 2, oh = (ih + 2 * p - k) / st + 1;
  dnnl_dims_t sd = {mb, ic, ih, ih}, dd = {mb, oc, oh, oh}, wd = {oc, ic, k, k}, bd = {oc};
  dnnl_dims_t strides = {st, st}, dil = {0, 0}, pl = {p, p}, pr = {p, p};
  dnnl_memory_desc_t us, ud, as, ad, aw, uw, bm;
  CK(dnnl_memory_desc_init_by_tag(&us, 4, sd, dnnl_f32, dnnl_nchw));
  CK(dnnl_memory_desc_init_by_tag(&ud, 4, dd, dnnl_f32, dnnl_nchw));
  CK(dnnl_memory_desc_init_by_tag(&as, 4, sd, dnnl_f32, dnnl_format_tag_any));
  CK(dnnl_memory_desc_init_by_tag(&ad, 4, dd, dnnl_f32, dnnl_format_tag_any));
  CK(dnnl_memory_desc_init_by_tag(&aw, 4, wd, dnnl_f32, dnnl_format_tag_any));
  CK(dnnl_memory_desc_init_by_tag(&uw, 4, wd, dnnl_f32, dnnl_oihw));
  CK(dnnl_memory_desc_init_by_tag(&bm, 1, bd, dnnl_f32, dnnl_x));
  dnnl_primitive_attr_t attr;
  dnnl_post_ops_t po;
  CK(dnnl_primitive_attr_create(&attr));
  CK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
  CK(dnnl_post_ops_create(&po));
  if (relu) CK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0, 0));
  CK(dnnl_primitive_attr_set_post_ops(attr, po));
  dnnl_convolution_desc_t cd;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t cs = dnnl_unimplemented;
  for (int a = wino ? 0 : 1; a < 2 && cs; a++) {
    cs = dnnl_dilated_convolution_forward_desc_init(
        &cd, dnnl_forward_inference, a == 0 ? dnnl_convolution_winograd : dnnl_convolution_direct, &as, &aw,
        &bm, &ad, strides, dil, pl, pr);
    if (!cs) cs = dnnl_primitive_desc_create(&pd, &cd, attr, e, NULL);
  }
  CK(cs);
  const char *impl;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  printf("  mb%-2d %s\n", mb, impl);
  CK(dnnl_primitive_create(&l->conv, pd));
  const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                           *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                           *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                           *scmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  CK(dnnl_stream_create(&l->st, e, dnnl_stream_default_flags));
  CK(dnnl_memory_create(&l->us, &us, e, DNNL_MEMORY_NONE));
  CK(dnnl_memory_create(&l->ud, &ud, e, DNNL_MEMORY_NONE));
  CK(dnnl_memory_create(&l->s, smd, e, DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&l->d, dmd, e, DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&l->scr, scmd, e, DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&l->w, wmd, e, DNNL_MEMORY_ALLOCATE));
  CK(dnnl_memory_create(&l->b, &bm, e, bias));
  dnnl_memory_t uwm;
  CK(dnnl_memory_create(&uwm, &uw, e, wts));
  dnnl_primitive_desc_t rpd;
  dnnl_primitive_t wr;
  CK(dnnl_reorder_primitive_desc_create(&rpd, &uw, e, wmd, e, NULL));
  CK(dnnl_primitive_create(&wr, rpd));
  dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, uwm}, {DNNL_ARG_TO, l->w}};
  CK(dnnl_primitive_execute(wr, l->st, 2, a));
  dnnl_stream_wait(l->st);
  CK(dnnl_reorder_primitive_desc_create(&rpd, &us, e, smd, e, NULL));
  CK(dnnl_primitive_create(&l->rs, rpd));
  CK(dnnl_reorder_primitive_desc_create(&rpd, dmd, e, &ud, e, NULL));
  CK(dnnl_primitive_create(&l->rd, rpd));
}
static int NOREORDER;
static void run(L *l, float *x, float *y) {
  if (NOREORDER) {
    dnnl_exec_arg_t c[5] = {{DNNL_ARG_SRC, l->s},
                            {DNNL_ARG_WEIGHTS, l->w},
                            {DNNL_ARG_DST, l->d},
                            {DNNL_ARG_SCRATCHPAD, l->scr},
                            {DNNL_ARG_BIAS, l->b}};
    dnnl_primitive_execute(l->conv, l->st, 5, c);
    dnnl_stream_wait(l->st);
    return;
  }
  dnnl_memory_set_data_handle(l->us, x);
  dnnl_memory_set_data_handle(l->ud, y);
  dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, l->us}, {DNNL_ARG_TO, l->s}};
  dnnl_primitive_execute(l->rs, l->st, 2, a);
  dnnl_exec_arg_t c[5] = {{DNNL_ARG_SRC, l->s},
                          {DNNL_ARG_WEIGHTS, l->w},
                          {DNNL_ARG_DST, l->d},
                          {DNNL_ARG_SCRATCHPAD, l->scr},
                          {DNNL_ARG_BIAS, l->b}};
  dnnl_primitive_execute(l->conv, l->st, 5, c);
  dnnl_exec_arg_t b[2] = {{DNNL_ARG_FROM, l->d}, {DNNL_ARG_TO, l->ud}};
  dnnl_primitive_execute(l->rd, l->st, 2, b);
  dnnl_stream_wait(l->st);
}
int main(int argc, char **argv) {
  int G = argc > 1 ? atoi(argv[1]) : 8;
  NOREORDER = argc > 2;
  int shapes[][6] = {{1, 16, 28, 3, 1, 1},  {16, 16, 28, 3, 1, 1}, {16, 16, 28, 3, 1, 0},
                     {16, 32, 28, 3, 2, 1}, {16, 32, 28, 1, 2, 0}, {32, 32, 14, 3, 1, 1},
                     {32, 32, 14, 3, 1, 0}, {32, 64, 14, 3, 2, 1}, {32, 64, 14, 1, 2, 0},
                     {64, 64, 7, 3, 1, 1},  {64, 64, 7, 3, 1, 0}};
  dnnl_engine_t e;
  CK(dnnl_engine_create(&e, dnnl_cpu, 0));
  double t1tot = 0, tgtot = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    int ic = shapes[i][0], oc = shapes[i][1], ih = shapes[i][2], k = shapes[i][3], st = shapes[i][4],
        relu = shapes[i][5];
    int oh = (ih + 2 * (k / 2) - k) / st + 1;
    size_t xs = (size_t)ic * ih * ih, ys = (size_t)oc * oh * oh;
    float *w = malloc(sizeof(float) * oc * ic * k * k), *b = malloc(sizeof(float) * oc);
    float *x = malloc(sizeof(float) * xs * G), *y1 = malloc(sizeof(float) * ys * G),
          *yg = malloc(sizeof(float) * ys * G);
    srand(i + 1);
    for (int j = 0; j < oc * ic * k * k; j++) w[j] = rand() / (float)RAND_MAX - 0.5f;
    for (int j = 0; j < oc; j++) b[j] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t j = 0; j < xs * G; j++) x[j] = rand() / (float)RAND_MAX - 0.3f;
    printf("ic%d oc%d ih%d k%d s%d relu%d\n", ic, oc, ih, k, st, relu);
    L l1, lg;
    build(&l1, e, 1, ic, oc, ih, k, st, relu, ic >= 16 && k == 3 && st == 1, w, b);
    build(&lg, e, G, ic, oc, ih, k, st, relu, ic >= 16 && k == 3 && st == 1, w, b);
    for (int s = 0; s < G; s++) run(&l1, x + s * xs, y1 + s * ys);
    run(&lg, x, yg);
    int same = !memcmp(y1, yg, sizeof(float) * ys * G);
    int reps = 2000 / G;
    double t0 = now();
    for (int r = 0; r < reps; r++)
      for (int s = 0; s < G; s++) run(&l1, x + s * xs, y1 + s * ys);
    double t1 = (now() - t0) / (reps * G);
    t0 = now();
    for (int r = 0; r < reps; r++) run(&lg, x, yg);
    double tg = (now() - t0) / (reps * G);
    t1tot += t1;
    tgtot += tg;
    printf("  bit-identical %d   per sample: mb1 %.2f us  mb%d %.2f us  (%.2fx)\n", same, 1e6 * t1, G,
           1e6 * tg, t1 / tg);
  }
  printf("total per sample: mb1 %.1f us, mb%d %.1f us (%.2fx)\n", 1e6 * t1tot, G, 1e6 * tgtot, t1tot / tgtot);
  return 0;
}
