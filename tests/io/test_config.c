/* INI configuration: parsing (libinih), line numbers of errors, key checks, [preprocess]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adx/io.h"

static void test_parse(void **state) {
  (void)state;
  const char *text = "; a comment\n"
                     "top = 3\n"
                     "# another comment\n"
                     "[preprocess]\n"
                     "resize = 256   ; inline comment\n"
                     "mean: 0.485, 0.456, 0.406\n"
                     "\n"
                     "[predict]\r\n"
                     "model = models/a b.onnx\r\n";
  adx_config cfg;
  adx_error err = {0};
  assert_int_equal(adx_config_parse(text, "t.ini", &cfg, &err), ADX_OK);
  assert_int_equal(cfg.n, 4);
  assert_string_equal(adx_config_get(&cfg, "", "top"), "3");
  assert_string_equal(adx_config_get(&cfg, "preprocess", "resize"), "256");
  assert_string_equal(adx_config_get(&cfg, "preprocess", "mean"), "0.485, 0.456, 0.406");
  assert_string_equal(adx_config_get(&cfg, "predict", "model"), "models/a b.onnx");
  assert_null(adx_config_get(&cfg, "predict", "resize"));
  assert_null(adx_config_get(&cfg, "nosuch", "top"));
  assert_int_equal(adx_config_find(&cfg, "preprocess", "mean")->line, 6);
  assert_int_equal(adx_config_find(&cfg, "predict", "model")->line, 9);
  assert_string_equal(cfg.entries[0].key, "top"); /* file order */
  assert_string_equal(cfg.path, "t.ini");
  adx_config_free(&cfg);
  adx_config_free(&cfg); /* idempotent */
  assert_int_equal(adx_config_parse("", "empty.ini", &cfg, &err), ADX_OK);
  assert_int_equal(cfg.n, 0);
  adx_config_free(&cfg);
}

static void expect_error(const char *text, adx_status code, const char *want) {
  adx_config cfg;
  adx_error err = {0};
  adx_status s = adx_config_parse(text, "bad.ini", &cfg, &err);
  if (s != code) fail_msg("expected %s, got %s (%s)", adx_status_name(code), adx_status_name(s), err.msg);
  if (!strstr(err.msg, want)) fail_msg("message '%s' lacks '%s'", err.msg, want);
  assert_int_equal(cfg.n, 0);
  assert_null(cfg.entries);
}

static void test_errors(void **state) {
  (void)state;
  expect_error("[a]\nx = 1\nthis line has no equals sign\ny = 2\n", ADX_ERR_FORMAT,
               "bad.ini:3: syntax error");
  expect_error("[a]\n[unterminated\nx = 1\n", ADX_ERR_FORMAT, "bad.ini:2: syntax error");
  expect_error("[a]\nx = 1\n\nx = 2\n", ADX_ERR_FORMAT,
               "bad.ini:4: duplicate key 'x' in [a] (first set on line 2)");
  /* a continuation line is a repeated key too: multi-line values are refused */
  expect_error("[a]\nx = 1\n  more\n", ADX_ERR_FORMAT, "bad.ini:3: duplicate key");
  /* the first error wins: syntax error on line 2 before the duplicate on line 4 */
  expect_error("[a]\nbad\nx = 1\nx = 2\n", ADX_ERR_FORMAT, "bad.ini:2: syntax error");
  char longline[400];
  memset(longline, 'v', sizeof longline);
  memcpy(longline, "[s]\nk = ", 8);
  strcpy(longline + 300, "\n");
  expect_error(longline, ADX_ERR_FORMAT, "bad.ini:2: line too long");
  /* same key in two sections is fine */
  adx_config cfg;
  adx_error err = {0};
  assert_int_equal(adx_config_parse("[a]\nx = 1\n[b]\nx = 2\n", "ok.ini", &cfg, &err), ADX_OK);
  assert_string_equal(adx_config_get(&cfg, "b", "x"), "2");
  adx_config_free(&cfg);
}

static void test_load_file(void **state) {
  (void)state;
  char path[] = "/tmp/adx_test_ini_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char body[] = "[preprocess]\nscale = 1/255\nstd = 0.5\n";
  assert_int_equal(write(fd, body, sizeof body - 1), (ssize_t)(sizeof body - 1));
  close(fd);
  adx_config cfg;
  adx_error err = {0};
  assert_int_equal(adx_config_load(path, &cfg, &err), ADX_OK);
  assert_string_equal(adx_config_get(&cfg, "preprocess", "std"), "0.5");
  assert_string_equal(cfg.path, path);
  adx_config_free(&cfg);
  /* a NUL byte: not a text file */
  FILE *f = fopen(path, "wb");
  fwrite("[a]\nx = 1\0\n", 1, 11, f);
  fclose(f);
  assert_int_equal(adx_config_load(path, &cfg, &err), ADX_ERR_FORMAT);
  assert_non_null(strstr(err.msg, path));
  unlink(path);
  assert_int_equal(adx_config_load(path, &cfg, &err), ADX_ERR_IO);
  assert_non_null(strstr(err.msg, path));
  assert_int_equal(adx_config_load("/tmp", &cfg, &err), ADX_ERR_IO);
}

static void test_check_keys(void **state) {
  (void)state;
  adx_config cfg;
  adx_error err = {0};
  static const char *const known[] = {"top", "batch", NULL};
  assert_int_equal(adx_config_parse("[predict]\ntop = 1\nbatch = 2\n[other]\nzzz = 1\n", "k.ini", &cfg, &err),
                   ADX_OK);
  assert_int_equal(adx_config_check_keys(&cfg, "predict", known, &err), ADX_OK);
  adx_config_free(&cfg);
  assert_int_equal(adx_config_parse("[predict]\ntop = 1\ntpo = 2\n", "k.ini", &cfg, &err), ADX_OK);
  assert_int_equal(adx_config_check_keys(&cfg, "predict", known, &err), ADX_ERR_ARG);
  assert_string_equal(err.msg, "k.ini:3: unknown key 'tpo' in [predict] (known: top, batch)");
  adx_config_free(&cfg);
}

/* A section that is not in the list is refused at its first key, naming file, line and section. */
static void test_check_sections(void **state) {
  (void)state;
  adx_config cfg;
  adx_error err = {0};
  static const char *const known[] = {"explain", "preprocess", NULL};
  assert_int_equal(adx_config_parse("[preprocess]\nscale = 1\n[explain]\nlimit = 3\n", "s.ini", &cfg, &err),
                   ADX_OK);
  assert_int_equal(adx_config_check_sections(&cfg, known, &err), ADX_OK);
  adx_config_free(&cfg);
  /* an empty section has no entry to refuse; the misspelt one with a key is caught at that key's line */
  assert_int_equal(
      adx_config_parse("[preprocess]\nscale = 1\n[empty]\n\n[explian]\nlimit = 3\n", "s.ini", &cfg, &err),
      ADX_OK);
  assert_int_equal(adx_config_check_sections(&cfg, known, &err), ADX_ERR_ARG);
  assert_string_equal(err.msg, "s.ini:6: unknown section [explian] (known: [explain], [preprocess])");
  adx_config_free(&cfg);
}

static void test_apply_preprocess(void **state) {
  (void)state;
  adx_config cfg;
  adx_error err = {0};
  adx_preproc p;
  adx_preproc_default(&p);
  assert_int_equal(
      adx_config_parse("[preprocess]\nresize = 256\ncrop = 224x200\nscale = 0.5\nmean = 0.1,0.2,0.3\n"
                       "std = 0.25\n[predict]\nresize = 7\n",
                       "p.ini", &cfg, &err),
      ADX_OK);
  assert_int_equal(adx_config_apply_preprocess(&cfg, &p, &err), ADX_OK);
  assert_int_equal(p.resize, 256); /* [predict] resize is not a preprocessing key */
  assert_int_equal(p.crop_h, 224);
  assert_int_equal(p.crop_w, 200);
  assert_true(p.norm.scale == 0.5f);
  assert_int_equal(p.norm.nmean, 3);
  assert_true(p.norm.mean[2] == 0.3f);
  assert_int_equal(p.norm.nstd, 1);
  assert_true(p.norm.std[0] == 0.25f);
  adx_config_free(&cfg);

  assert_int_equal(adx_config_parse("[preprocess]\nresize = 256\nstd = 0.2, zero\n", "p.ini", &cfg, &err),
                   ADX_OK);
  assert_int_equal(adx_config_apply_preprocess(&cfg, &p, &err), ADX_ERR_ARG);
  assert_non_null(strstr(err.msg, "p.ini:3: std: '0.2, zero'"));
  adx_config_free(&cfg);
  assert_int_equal(adx_config_parse("[preprocess]\n\nresise = 256\n", "p.ini", &cfg, &err), ADX_OK);
  assert_int_equal(adx_config_apply_preprocess(&cfg, &p, &err), ADX_ERR_ARG);
  assert_non_null(strstr(err.msg, "p.ini:3: unknown preprocessing key 'resise'"));
  adx_config_free(&cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),          cmocka_unit_test(test_errors),
      cmocka_unit_test(test_load_file),      cmocka_unit_test(test_check_keys),
      cmocka_unit_test(test_check_sections), cmocka_unit_test(test_apply_preprocess),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
