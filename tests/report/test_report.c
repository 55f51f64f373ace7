/* The report layer: the colour map against the published viridis, PNG pictures read back with libpng, the
 * statistics and the HTML page of small synthetic results files whose numbers are worked out by hand,
 * and the errors of bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adx/io.h"
#include "adx/report.h"
#include "adx/results_mpi.h"
#include "common/testutil.h"

static char g_dir[512];

static const char *tpath(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", g_dir, name);
  return buf;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  b[n] = 0;
  fclose(f);
  return b;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* ------------------------------------------------------------------ colour map */

/* Anchors of the published viridis (matplotlib's _viridis_data, van der Walt & Smith): entry 0 is
 * (0.267004, 0.004874, 0.329415) = #440154, entry 255 is (0.993248, 0.906157, 0.143936) = #fde725,
 * entry 128 is (0.127568, 0.566949, 0.550556) = #21918c. */
static void test_viridis_anchors(void **state) {
  (void)state;
  uint8_t c[3];
  adx_viridis(0, c);
  assert_true(c[0] == 0x44 && c[1] == 0x01 && c[2] == 0x54);
  adx_viridis(1, c);
  assert_true(c[0] == 0xfd && c[1] == 0xe7 && c[2] == 0x25);
  adx_viridis(128 / 255.0, c);
  assert_true(c[0] == 0x21 && c[1] == 0x91 && c[2] == 0x8c);
  /* clamping: below 0, NaN and above 1 */
  adx_viridis(-3, c);
  assert_true(c[0] == 0x44 && c[1] == 0x01 && c[2] == 0x54);
  adx_viridis(NAN, c);
  assert_true(c[0] == 0x44 && c[1] == 0x01 && c[2] == 0x54);
  adx_viridis(7, c);
  assert_true(c[0] == 0xfd && c[1] == 0xe7 && c[2] == 0x25);
  /* perceptually ordered: lightness (Rec. 709 luma as a proxy) rises along the whole map */
  double prev = -1;
  for (int i = 0; i < 256; i++) {
    const uint8_t *t = adx_viridis_table[i];
    double y = 0.2126 * t[0] + 0.7152 * t[1] + 0.0722 * t[2];
    assert_true(y >= prev - 0.6); /* 8-bit rounding may wobble by a fraction of a level */
    prev = y;
  }
}

/* ------------------------------------------------------------------ pictures and PNG */

static void test_scale(void **state) {
  (void)state;
  assert_int_equal(adx_report_scale(28, 28), 4); /* 112 px */
  assert_int_equal(adx_report_scale(32, 32), 4); /* 128 px */
  assert_int_equal(adx_report_scale(4, 5), 23);  /* ceil(112 / 5) */
  assert_int_equal(adx_report_scale(224, 224), 1);
  assert_int_equal(adx_report_scale(112, 50), 1);
}

static void test_png_roundtrip(void **state) {
  (void)state;
  /* a 2x3 map upscaled x2: its minimum gives viridis(0), its maximum viridis(1), NaN the minimum */
  const float map[6] = {2, 4, 6, NAN, 3, 4};
  uint8_t heat[4 * 6 * 3];
  adx_report_render_heatmap(map, 2, 3, 2, heat);
  char p[600];
  TU_OK(adx_image_save_png(tpath(p, sizeof p, "heat.png"), heat, 6, 4, 3, err));
  adx_image img;
  TU_OK(adx_image_load(p, NULL, &img, err));
  assert_int_equal(img.width, 6);
  assert_int_equal(img.height, 4);
  assert_int_equal(img.channels, 3);
  const int hw = 24;
  /* (x, y) -> expected colour: map pixel (0,0) = 2 (min), (0,2) = 6 (max), (1,0) NaN -> min,
   * (1,1) = 3 -> (3-2)/4 = 0.25 -> entry round(63.75) = 64 */
  const struct {
    int x, y;
    uint8_t r, g, b;
  } want[] = {{0, 0, 68, 1, 84},    {1, 1, 68, 1, 84}, {4, 0, 253, 231, 37},
              {5, 1, 253, 231, 37}, {0, 2, 68, 1, 84}, {2, 3, 59, 82, 139}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    int o = want[i].y * 6 + want[i].x;
    assert_int_equal((int)img.data[o], want[i].r);
    assert_int_equal((int)img.data[hw + o], want[i].g);
    assert_int_equal((int)img.data[2 * hw + o], want[i].b);
  }
  adx_image_free(&img);
  /* entry 64 of the table, checked against the published value (0.229739, 0.322361, 0.545706) */
  assert_true(adx_viridis_table[64][0] == 59 && adx_viridis_table[64][1] == 82 &&
              adx_viridis_table[64][2] == 139);

  /* overlay of a 3x3 grey image (100) with a 2x2 explanation at the top left, upscaled x2 (6x6) */
  uint8_t rgb[27], expl[9] = {1, 1, 0, 1, 1, 0, 0, 0, 0}, ov[36 * 3];
  memset(rgb, 100, sizeof rgb);
  adx_report_render_overlay(rgb, expl, 3, 3, 2, ov);
  TU_OK(adx_image_save_png(tpath(p, sizeof p, "overlay.png"), ov, 6, 6, 3, err));
  TU_OK(adx_image_load(p, NULL, &img, err));
  const int n2 = 36;
  /* hidden: 0.35 * 100 + 0.65 * (30, 40, 110) = (54.5, 61, 106.5) -> (55, 61, 107) (ties away from 0) */
  int o = 5 * 6 + 5;
  assert_true(img.data[o] == 55 && img.data[n2 + o] == 61 && img.data[2 * n2 + o] == 107);
  /* inside, away from the edge: the image itself */
  o = 0 * 6 + 0;
  assert_true(img.data[o] == 100 && img.data[n2 + o] == 100 && img.data[2 * n2 + o] == 100);
  /* inside, next to a hidden pixel (x = 3 borders x = 4): the yellow outline (255, 214, 0) */
  o = 1 * 6 + 3;
  assert_true(img.data[o] == 255 && img.data[n2 + o] == 214 && img.data[2 * n2 + o] == 0);
  adx_image_free(&img);
}

static void test_mkdirs(void **state) {
  (void)state;
  char p[600], q[700];
  tpath(p, sizeof p, "a/b/c");
  TU_OK(adx_report_mkdirs(p, err));
  struct stat st;
  assert_true(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
  TU_OK(adx_report_mkdirs(p, err)); /* again: fine */
  /* a component that is a file */
  FILE *f = fopen(tpath(p, sizeof p, "plain"), "w");
  fclose(f);
  snprintf(q, sizeof q, "%s/sub", p);
  adx_error e = {0};
  assert_int_equal(adx_report_mkdirs(q, &e), ADX_ERR_IO);
  assert_non_null(strstr(e.msg, "plain"));
}

/* ------------------------------------------------------------------ synthetic results files */

static const char *modes3[] = {"ad", "fill:zero", "fill:<&>/x"};
enum { N = 5, H = 4, W = 4, NM = 3 };

/* Hand-chosen values: robustness_colour of ad over images 0..4 = 0.1 .. 0.5, of fill:zero 0.2 for every
 * image, of the third mode 0.4; robustness_context NaN in ad for image 4; size 0.25 everywhere. */
static void image_result(int64_t slot, adx_image_result *ir, adx_metrics *mt, float *resp, uint8_t *expl,
                         const float **rp, const uint8_t **ep) {
  memset(ir, 0, sizeof *ir);
  for (int k = 0; k < NM; k++) {
    memset(&mt[k], 0, sizeof mt[k]);
    mt[k].size = 0.25f;
    mt[k].confidence = 0.5f;
    mt[k].drop_off = 0.1f * (float)k;
    mt[k].robustness_colour = k == 0 ? 0.1f * (float)(slot + 1) : k == 1 ? 0.2f : 0.4f;
    mt[k].robustness_context = k == 0 && slot == 4 ? NAN : 0.5f;
    mt[k].insertion_auc = 0.6f;
    mt[k].deletion_auc = 0.3f;
    for (int j = 0; j < ADX_ROB_K; j++) mt[k].robustness_at_k[j] = 0.1f * (float)(j + 1);
    mt[k].seconds = 2;
    mt[k].queries = 100 * (k + 1);
    for (int i = 0; i < H * W; i++) {
      /* rankings: ad tops at pixels 15, 14; fill 1 at 15, 13 (14 is its lowest); fill 2 at 12, 11 */
      resp[k * H * W + i] = (k == 1 && i == 14) || (k == 2 && i > 12) ? -(float)i : (float)(i + k);
      /* ad: the top half; the fills: the left half -> IoU 4/12 */
      expl[k * H * W + i] = k == 0 ? i < 8 : (i % W) < 2;
    }
    rp[k] = resp + k * H * W;
    ep[k] = expl + k * H * W;
  }
  ir->slot = slot;
  ir->index = slot;
  ir->label = (int32_t)(slot % 3);
  ir->pred = (int32_t)(slot % 3);
  ir->conf = 0.9f;
  ir->responsibility = rp;
  ir->explanation = ep;
  ir->metrics = mt;
}

/* Writes images 0..ndone-1 and finishes if asked. */
static void make_file(const char *path, const char *data, int ndone, int finish) {
  adx_run_info run = {0};
  run.model_path = "m.onnx";
  run.model_sha256 = "ab";
  run.data_path = data;
  run.config_text = "# adx explain: effective settings\n# command line: --limit 5\n";
  run.explainer = "rex";
  run.nmodes = NM;
  run.modes = modes3;
  run.seed = 3;
  run.ranks = 1;
  run.threads_per_rank = 1;
  run.n = N;
  run.h = H;
  run.w = W;
  run.nclasses = 3;
  adx_results *r;
  TU_OK(adx_results_create(path, &run, MPI_COMM_NULL, 1, &r, err));
  for (int s = 0; s < ndone; s++) {
    adx_image_result ir;
    adx_metrics mt[NM];
    float resp[NM * H * W];
    uint8_t expl[NM * H * W];
    const float *rp[NM];
    const uint8_t *ep[NM];
    image_result(s, &ir, mt, resp, expl, rp, ep);
    TU_OK(adx_results_write_image(r, &ir, err));
  }
  if (finish) TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
}

/* The td text of the headline row of `mode`, column `col` (0 = n, 1.. = the metric columns). */
static void row_cell(const char *html, const char *mode_attr, int col, char *out, size_t len) {
  char key[200];
  snprintf(key, sizeof key, "<tr data-mode=\"%s\">", mode_attr);
  const char *p = strstr(html, key);
  assert_non_null(p);
  const char *end = strstr(p, "</tr>");
  for (int i = 0; i <= col; i++) {
    p = strstr(p + 1, "<td");
    assert_true(p && p < end);
  }
  p = strchr(p, '>') + 1;
  const char *q = strstr(p, "</td>");
  snprintf(out, len, "%.*s", (int)(q - p), p);
}

/* Every src="..." and href="..." of the page: relative, no scheme, and (src) an existing file. */
static void check_links(const char *html, const char *dir) {
  static const char *const attrs[] = {"src=\"", "href=\""};
  int nimg = 0;
  for (int a = 0; a < 2; a++)
    for (const char *p = strstr(html, attrs[a]); p; p = strstr(p + 1, attrs[a])) {
      const char *v = p + strlen(attrs[a]), *e = strchr(v, '"');
      char val[400], full[1000];
      snprintf(val, sizeof val, "%.*s", (int)(e - v), v);
      assert_true(val[0] != '/');
      assert_null(strstr(val, "://"));
      if (val[0] == '#') continue;
      snprintf(full, sizeof full, "%s/%s", dir, val);
      if (!exists(full)) fail_msg("%s: link to missing %s", dir, val);
      nimg += a == 0;
    }
  assert_true(nimg > 0);
}

static void check_balanced(const char *html) {
  /* opening tags are written as "<tag>" or "<tag " */
  static const char *const tags[] = {"table",  "thead",      "tbody",   "tr",      "td",   "th",   "svg",
                                     "figure", "figcaption", "details", "summary", "pre",  "a",    "div",
                                     "p",      "text",       "title",   "html",    "body", "head", "style"};
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
    char o1[32], o2[32], c[32];
    snprintf(o1, sizeof o1, "<%s>", tags[i]);
    snprintf(o2, sizeof o2, "<%s ", tags[i]);
    snprintf(c, sizeof c, "</%s>", tags[i]);
    int open = count(html, o1) + count(html, o2), close = count(html, c);
    if (open != close) fail_msg("<%s>: %d opened, %d closed", tags[i], open, close);
  }
  assert_null(strstr(html, "http://"));
  assert_null(strstr(html, "https://"));
  assert_null(strstr(html, "<script"));
}

static void test_html_unfinished(void **state) {
  (void)state;
  char p[600], dir[600], idx[700];
  tpath(p, sizeof p, "unfinished.h5");
  make_file(p, "/nonexistent/data-images-idx3-ubyte", 4, 0);
  tpath(dir, sizeof dir, "rep_unfinished/deep");
  TU_OK(adx_report_write(p, dir, NULL, err));
  snprintf(idx, sizeof idx, "%s/index.html", dir);
  char *html = slurp(idx);
  assert_non_null(html);
  assert_non_null(strstr(html, "unfinished: 4 of 5 images done"));
  check_balanced(html);
  check_links(html, dir);
  /* one headline row per mode; the mode name escaped */
  const char *head = strstr(html, "<table id=\"headline\""), *head_end = strstr(head, "</table>");
  int rows = 0;
  for (const char *q = strstr(head, "<tr data-mode="); q && q < head_end; q = strstr(q + 1, "<tr data-mode="))
    rows++;
  assert_int_equal(rows, NM);
  assert_non_null(strstr(html, "fill:&lt;&amp;&gt;/x"));
  assert_null(strstr(html, "fill:<&>"));
  /* over the 4 images done: ad colour 0.1..0.4: mean 0.25, sd sqrt(0.05/3), t(0.975, 3) = 3.182446
   * -> half-width 3.182446 * 0.129099 / 2 = 0.2054 */
  char cell[200];
  row_cell(html, "ad", 0, cell, sizeof cell);
  assert_string_equal(cell, "4");
  row_cell(html, "ad", 1, cell, sizeof cell);
  assert_string_equal(cell, "0.250 ±0.205");
  row_cell(html, "fill:zero", 1, cell, sizeof cell);
  assert_string_equal(cell, "0.200 ±0.000");
  row_cell(html, "ad", 3, cell, sizeof cell); /* size */
  assert_string_equal(cell, "0.250 ±0.000");
  /* AD vs fill:zero on colour: ratio 1.25 -> +25.0%; delta method: d = a - 1.25 f = -0.15 -0.05 0.05 0.15,
   * se = sqrt(0.05 / 3 / 4) / 0.2 = 0.322749, half = 3.182446 * 0.322749 = 1.02713 -> 102.7 points */
  row_cell(html, "fill:zero", 8, cell, sizeof cell);
  assert_string_equal(cell, "+25.0% ±102.7");
  /* vs the third mode (0.4 everywhere): ratio 0.625 -> -37.5%, d = a - 0.625 * 0.4 = a - 0.25, the same
   * spread: se = sqrt(0.05/12) / 0.4 = 0.161374, half = 0.51356 -> 51.4 */
  row_cell(html, "fill:&lt;&amp;&gt;/x", 8, cell, sizeof cell);
  assert_string_equal(cell, "-37.5% ±51.4");
  /* the data cannot be opened: said so, maps still shown, no image pictures */
  assert_non_null(strstr(html, "Original images unavailable"));
  assert_non_null(strstr(html, "image unavailable"));
  char png[800];
  snprintf(png, sizeof png, "%s/img/r0_m2_heat.png", dir);
  assert_true(exists(png));
  snprintf(png, sizeof png, "%s/img/r0_image.png", dir);
  assert_false(exists(png));
  /* image 4 is not done: in no gallery */
  assert_null(strstr(html, "img/r4_"));
  /* the disagreement gallery: top ceil(10% of 16) = 2 pixels, {15, 14} against {15, 13} (1 - IoU = 1 - 1/3)
   * and against {12, 11} (1 - 0): mean 0.833 (the explanation masks would give 0.667) */
  assert_non_null(strstr(html, "disagreement 0.833"));
  /* file names come from numbers only */
  assert_null(strstr(html, "src=\"img/fill"));
  free(html);

  /* the terminal table: the same cells */
  FILE *f = tmpfile();
  TU_OK(adx_report_print_summary(f, NULL, p, err));
  fseek(f, 0, SEEK_SET);
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  assert_non_null(strstr(text, "unfinished: 4 of 5 images done"));
  assert_non_null(strstr(text, "0.250 ±0.205"));
  assert_non_null(strstr(text, "+25.0% ±102.7"));
  assert_non_null(strstr(text, "-37.5% ±51.4"));
}

/* A finished file whose data is an HDF5 dataset of known pixels: the image pictures are those pixels. */
static void test_html_finished_with_images(void **state) {
  (void)state;
  char p[600], data[600], dir[600], idx[700];
  tpath(data, sizeof data, "pixels.h5");
  uint8_t px[N * H * W];
  for (int i = 0; i < N * H * W; i++) px[i] = (uint8_t)(i * 3);
  hid_t f = H5Fcreate(data, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[3] = {N, H, W};
  hid_t sp = H5Screate_simple(3, dims, NULL);
  hid_t d = H5Dcreate2(f, "images", H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, px) >= 0);
  H5Dclose(d), H5Sclose(sp), H5Fclose(f);
  tpath(p, sizeof p, "finished.h5");
  make_file(p, data, N, 1);
  tpath(dir, sizeof dir, "rep_finished");
  adx_report_options o;
  adx_report_options_default(&o);
  o.gallery = N;
  TU_OK(adx_report_write(p, dir, &o, err));
  snprintf(idx, sizeof idx, "%s/index.html", dir);
  char *html = slurp(idx);
  assert_non_null(html);
  assert_null(strstr(html, "unfinished"));
  check_balanced(html);
  check_links(html, dir);
  /* all 5 done: ad colour 0.1..0.5: mean 0.3, sd sqrt(0.1/4) = 0.158114, t(0.975, 4) = 2.776445
   * -> half-width 2.776445 * 0.158114 / sqrt(5) = 0.1963 */
  char cell[200];
  row_cell(html, "ad", 1, cell, sizeof cell);
  assert_string_equal(cell, "0.300 ±0.196");
  /* ad context: NaN for image 4 is skipped: 4 values of 0.5 */
  row_cell(html, "ad", 2, cell, sizeof cell);
  assert_string_equal(cell, "0.500 ±0.000");
  assert_null(strstr(html, "Original images unavailable"));
  /* image 2 at x28 (4x4 -> 112x112): pixel (y, x) of the picture is pixel (y/28, x/28) of image 2, grey */
  char png[800];
  snprintf(png, sizeof png, "%s/img/r2_image.png", dir);
  adx_image img;
  TU_OK(adx_image_load(png, NULL, &img, err));
  assert_int_equal(img.width, 112);
  assert_int_equal(img.height, 112);
  for (int y = 0; y < 112; y += 13)
    for (int x = 0; x < 112; x += 17)
      for (int c = 0; c < 3; c++)
        assert_int_equal((int)img.data[c * 112 * 112 + y * 112 + x], px[2 * H * W + (y / 28) * W + x / 28]);
  adx_image_free(&img);
  /* the finish recorded a wall time: the page shows it */
  assert_null(strstr(html, "wall time</th><td>unknown"));
  free(html);
}

static void test_show_and_errors(void **state) {
  (void)state;
  char p[600], png[600], dir[600];
  tpath(p, sizeof p, "show.h5");
  make_file(p, "/nonexistent", 3, 0);
  tpath(png, sizeof png, "panel.png");
  char legend[1024];
  TU_OK(adx_report_show(p, 1, NULL, png, legend, sizeof legend, err));
  adx_image img;
  TU_OK(adx_image_load(png, NULL, &img, err));
  /* 4x4 at x28 = 112 px tiles; 3 columns + 3 gaps of 6 + a 14 px bar; 3 rows with 2 gaps */
  assert_int_equal(img.width, 3 * 112 + 3 * 6 + 14);
  assert_int_equal(img.height, 3 * 112 + 2 * 6);
  adx_image_free(&img);
  assert_non_null(strstr(legend, "rows ad, fill:zero, fill:<&>/x"));
  TU_OK(adx_report_show(p, 0, "fill:zero", png, NULL, 0, err));
  TU_OK(adx_image_load(png, NULL, &img, err));
  assert_int_equal(img.height, 112);
  adx_image_free(&img);

  adx_error e = {0};
  assert_int_equal(adx_report_show(p, 1, "fill:nope", png, NULL, 0, &e), ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "fill:nope"));
  assert_int_equal(adx_report_show(p, 5, NULL, png, NULL, 0, &e), ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "--image 5"));
  assert_int_equal(adx_report_show(p, 4, NULL, png, NULL, 0, &e), ADX_ERR_ARG); /* not done */
  assert_non_null(strstr(e.msg, "not done"));
  char missing[600];
  tpath(missing, sizeof missing, "missing.h5");
  assert_int_equal(adx_report_show(missing, 0, NULL, png, NULL, 0, &e), ADX_ERR_IO);
  assert_non_null(strstr(e.msg, "missing.h5"));
  tpath(dir, sizeof dir, "rep_missing");
  assert_int_equal(adx_report_write(missing, dir, NULL, &e), ADX_ERR_IO);
  assert_false(exists(dir)); /* nothing made for a bad input */
  /* not HDF5 */
  char junk[600];
  FILE *f = fopen(tpath(junk, sizeof junk, "junk.h5"), "w");
  fputs("not hdf5", f);
  fclose(f);
  assert_int_equal(adx_report_write(junk, dir, NULL, &e), ADX_ERR_FORMAT);
  assert_non_null(strstr(e.msg, "junk.h5"));
  /* HDF5 but not adx */
  char other[600];
  hid_t h = H5Fcreate(tpath(other, sizeof other, "other.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(h);
  assert_int_equal(adx_report_write(other, dir, NULL, &e), ADX_ERR_FORMAT);
  assert_non_null(strstr(e.msg, "not an adx results file"));
  /* an output folder that cannot be made (below a file) */
  char bad[700];
  snprintf(bad, sizeof bad, "%s/sub", junk);
  assert_int_equal(adx_report_write(p, bad, NULL, &e), ADX_ERR_IO);
  assert_non_null(strstr(e.msg, "junk.h5"));
}

/* The judge margins and their Holm families (docs/report.md): every judge and k holds the same value, so a
 * margin is a plain paired difference. fill:zero 0.5 everywhere, the third mode 0.6; ad 0.5 + t_s in
 * sufficiency and 0.5 + u_s in comprehensiveness, t = {0.1, 0.2, 0, 0.3, 0.2}, u = {0, -0.1, 0.1, 0, 0.05}.
 * AD - fill:zero: sufficiency mean 0.16, comprehensiveness 0.01; AD - third: 0.06, -0.09. Paired t-test p
 * (scipy.stats.ttest_rel on the float32 values): 0.0349197036, 0.7780493896, 0.3045589290, 0.0533382487;
 * 95% half-widths 0.1415714758 (sufficiency) and 0.0920842749 (comprehensiveness). Holm by hand over the
 * "not own" family of 4: sorted 0.0349 (x4 = 0.1396788146), 0.0533 (x3 = 0.1600147460), 0.3046 (x2 =
 * 0.6091178580), 0.7780 (x1, already above the running max). Over the per-judge family of 24 (each p six
 * times): 0.0349 x24 = 0.8380728876 for its six, 0.0533 x18 = 0.9600884759 for its six, the rest 1. */
static void test_judge_margins(void **state) {
  (void)state;
  static const double t[N] = {0.1, 0.2, 0.0, 0.3, 0.2}, u[N] = {0.0, -0.1, 0.1, 0.0, 0.05};
  char p[600];
  tpath(p, sizeof p, "judged.h5");
  adx_run_info run = {0};
  run.model_path = "m.onnx";
  run.model_sha256 = "ab";
  run.data_path = "/nonexistent";
  run.config_text = "";
  run.explainer = "rex";
  run.nmodes = NM;
  run.modes = modes3;
  run.seed = 3;
  run.ranks = 1;
  run.threads_per_rank = 1;
  run.n = N;
  run.h = H;
  run.w = W;
  run.nclasses = 3;
  run.judges = 1;
  adx_results *r;
  TU_OK(adx_results_create(p, &run, MPI_COMM_NULL, 1, &r, err));
  for (int s = 0; s < N; s++) {
    adx_image_result ir;
    adx_metrics mt[NM];
    float resp[NM * H * W];
    uint8_t expl[NM * H * W];
    const float *rp[NM];
    const uint8_t *ep[NM];
    image_result(s, &ir, mt, resp, expl, rp, ep);
    for (int k = 0; k < NM; k++)
      for (int kk = 0; kk < ADX_ROB_K; kk++)
        for (int j = 0; j < ADX_NJUDGES; j++)
          for (int q = 0; q < 2; q++)
            mt[k].judges[kk][j][q] = k == 1 ? 0.5f : k == 2 ? 0.6f : (float)(0.5 + (q ? u[s] : t[s]));
    TU_OK(adx_results_write_image(r, &ir, err));
  }
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
  TU_OK(adx_results_open_read(p, &r, err));
  adx_report_judges J;
  TU_OK(adx_report_judges_compute(r, &J, err));
  assert_int_equal(J.present, 1);
  assert_int_equal(J.ad_mode, 0);
  assert_int_equal(J.ncomp[0], 4);
  assert_int_equal(J.ncomp[1], 24);
  const double mean[3][2] = {{NAN, NAN}, {0.16, 0.01}, {0.06, -0.09}}, half[2] = {0.1415714758, 0.0920842749};
  const double praw[3][2] = {{NAN, NAN}, {0.0349197036, 0.7780493896}, {0.3045589290, 0.0533382487}};
  const double hold[3][2] = {{NAN, NAN}, {0.1396788146, 0.7780493896}, {0.6091178580, 0.1600147460}};
  const double heach[3][2] = {{NAN, NAN}, {0.8380728876, 1.0}, {1.0, 0.9600884759}};
  for (int k = 1; k < NM; k++)
    for (int q = 0; q < 2; q++) {
      assert_int_equal(J.other[k][q].n, N);
      assert_float_equal(J.other[k][q].mean, mean[k][q], 1e-6);
      assert_float_equal(J.other[k][q].ci95_high - J.other[k][q].mean, half[q], 1e-6);
      assert_float_equal(J.p[k][ADX_NJUDGES][q], praw[k][q], 1e-6);
      assert_float_equal(J.p_holm[k][ADX_NJUDGES][q], hold[k][q], 1e-6);
      for (int j = 0; j < ADX_NJUDGES; j++) {
        assert_float_equal(J.margin[k][j][q].mean, mean[k][q], 1e-6);
        assert_float_equal(J.p[k][j][q], praw[k][q], 1e-6);
        assert_float_equal(J.p_holm[k][j][q], heach[k][q], 1e-6);
      }
    }
  for (int j = 0; j <= ADX_NJUDGES; j++) /* no margin of AD over itself */
    assert_true(isnan(J.p[0][j][0]) && isnan(J.p_holm[0][j][1]));
  adx_report_judges_free(&J);
  /* the terminal says which family: 4 and 24 comparisons; the verdict quotes the 4-family's p (Holm) */
  char txt[700];
  FILE *f = fopen(tpath(txt, sizeof txt, "judged.txt"), "w");
  assert_non_null(f);
  TU_OK(adx_report_print_summary(f, NULL, p, err));
  fclose(f);
  char *out = slurp(txt);
  assert_non_null(out);
  assert_non_null(strstr(out, "Holm's correction over the 4 comparisons of this table"));
  assert_non_null(strstr(out, "Holm's correction over the 24 comparisons of this table"));
  assert_non_null(strstr(out, "fill:zero +0.160 / +0.010 (p Holm 0.1397 / 0.7780)"));
  assert_non_null(strstr(out, "fill:<&>/x +0.060 / -0.090 (p Holm 0.6091 / 0.1600)"));
  free(out);
  adx_results_close(r);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/adx_test_report_%d", (int)getpid());
  mkdir(g_dir, 0777);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_viridis_anchors), cmocka_unit_test(test_scale),
      cmocka_unit_test(test_png_roundtrip),   cmocka_unit_test(test_mkdirs),
      cmocka_unit_test(test_html_unfinished), cmocka_unit_test(test_html_finished_with_images),
      cmocka_unit_test(test_show_and_errors), cmocka_unit_test(test_judge_margins),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (rc == 0) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) rc = 1;
  }
  return rc;
}
