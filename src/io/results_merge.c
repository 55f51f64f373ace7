/* adx merge: results files of one audit split over several jobs (a Slurm job array, each task a slice of
 * the dataset by --offset/--limit) combined into one file, as if one run had done every image.
 * Refused, with the reason (ADX_ERR_ARG):
 *   - an input that is unfinished (resume it first) or is not an adx results file;
 *   - inputs from different runs: model (sha256), data path, explainer, modes, seed, input size, classes,
 *     robustness@k values, or settings (the config text without --offset/--limit, which split the data);
 *   - overlapping inputs: one dataset image in two of them;
 *   - an existing OUT without force;
 *   - an OUT that another adx job is writing (the writer's lock on OUT.lock, taken by adx_results_create).
 * The output's images are sorted by dataset index, so merging the slices [0,a) [a,b) ... of a dataset
 * gives the file a single run over [0,b) gives (docs/output-format.md: `config` records the inputs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results_internal.h"

/* The config text without the options that only choose the slice: "--offset N", "--limit N" (and the
 * --opt=N spelling) on the command line, "offset = N" and "limit = N" lines of a config file. */
static char *settings_of(const char *config) {
  size_t n = strlen(config);
  /* each line gains up to 2 bytes (a space after its last token, and a newline the last line may lack) */
  char *out = malloc(2 * n + 3), *o = out;
  if (!out) return NULL;
  const char *p = config;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    const char *q = p;
    while (q < p + len && (*q == ' ' || *q == '\t')) q++;
    int key_line =
        (!strncmp(q, "offset", 6) || !strncmp(q, "limit", 5)) && memchr(q, '=', (size_t)(p + len - q));
    if (!key_line) {
      /* copy the line token by token, dropping --offset/--limit and their values */
      const char *t = p;
      while (t < p + len) {
        const char *te = t;
        while (te < p + len && *te != ' ') te++;
        size_t tl = (size_t)(te - t);
        int drop = 0, drop_next = 0;
        if ((tl == 8 && !strncmp(t, "--offset", 8)) || (tl == 7 && !strncmp(t, "--limit", 7)))
          drop = drop_next = 1;
        else if (!strncmp(t, "--offset=", 9) || !strncmp(t, "--limit=", 8))
          drop = 1;
        if (!drop) {
          memcpy(o, t, tl);
          o += tl;
          *o++ = ' ';
        }
        t = te < p + len ? te + 1 : te;
        if (drop_next) { /* skip the value */
          while (t < p + len && *t != ' ') t++;
          if (t < p + len) t++;
        }
      }
      *o++ = '\n';
    }
    p += len + (eol ? 1 : 0);
  }
  *o = '\0';
  return out;
}

/* The first difference between two runs that makes them unmergeable, or NULL. */
static const char *differs(const adx_results_meta *a, const adx_results_meta *b) {
  if (strcmp(a->model_sha256, b->model_sha256)) return "different models (model_sha256)";
  if (strcmp(a->data_path, b->data_path)) return "different datasets (data_path)";
  if (strcmp(a->explainer, b->explainer)) return "different explainers";
  if (a->nmodes != b->nmodes) return "different modes";
  for (int i = 0; i < a->nmodes; i++)
    if (strcmp(a->modes[i], b->modes[i])) return "different modes";
  for (int i = 0; i < a->nmodes; i++) /* e.g. one written before AD isolated hidden pixels */
    if (strcmp(a->variants[i], b->variants[i])) return "different AD variants (mode_variants)";
  if (a->seed != b->seed) return "different seeds";
  if (a->h != b->h || a->w != b->w) return "different model input sizes";
  if (a->nclasses != b->nclasses) return "different numbers of classes";
  if (!a->no_metrics != !b->no_metrics) return "one has the metrics and the other not (--no-metrics)";
  for (int k = 0; k < ADX_ROB_K; k++)
    if (a->rob_k[k] != b->rob_k[k]) return "different robustness@k values";
  if (!a->has_masks != !b->has_masks) return "one has object masks (ground truth), the other not";
  if (a->judges != b->judges) return "one has the judge matrix and the other not (--judges)";
  return NULL;
}

typedef struct src_img {
  int file;
  int64_t slot, index;
} src_img;

static int by_index(const void *x, const void *y) {
  const src_img *a = x, *b = y;
  return a->index < b->index ? -1 : a->index > b->index;
}

adx_status adx_results_merge(const char *out, const char *const *in, int nin, int force, adx_error *err) {
  if (nin < 1) return adx_fail(err, ADX_ERR_ARG, "no input files");
  adx_results **r = calloc((size_t)nin, sizeof *r);
  char *set0 = NULL, *config = NULL;
  src_img *img = NULL;
  adx_results *w = NULL;
  adx_status s = r ? ADX_OK : adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  int64_t total = 0;
  for (int i = 0; i < nin && !s; i++) {
    for (int j = 0; j < i && !s; j++)
      if (!strcmp(in[i], in[j])) s = adx_fail(err, ADX_ERR_ARG, "%s is given twice", in[i]);
    if (!s && !strcmp(in[i], out)) s = adx_fail(err, ADX_ERR_ARG, "%s is both an input and the output", out);
    if (!s) s = adx_results_open_read(in[i], &r[i], err);
    if (s) {
      if (s != ADX_ERR_NOMEM) s = err->code = ADX_ERR_ARG; /* a bad input, whatever HDF5 said */
      break;
    }
    const adx_results_meta *m = &r[i]->meta;
    if (!m->finished) {
      s = adx_fail(err, ADX_ERR_ARG,
                   "%s is unfinished (finished = 0): complete it with adx explain --resume first", in[i]);
      break;
    }
    char *set = settings_of(m->config_text ? m->config_text : "");
    if (!set) {
      s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
      break;
    }
    if (i == 0) {
      set0 = set;
    } else {
      const char *why = differs(&r[0]->meta, m);
      if (!why && strcmp(set0, set)) why = "different settings (config, apart from --offset/--limit)";
      free(set);
      if (why) {
        s = adx_fail(err, ADX_ERR_ARG, "%s and %s come from different runs: %s", in[0], in[i], why);
        break;
      }
    }
    total += m->n;
  }
  if (!s && !(img = malloc((size_t)total * sizeof *img))) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  /* every image of every input, by dataset index; a repeated index is an overlap */
  int64_t k = 0;
  for (int i = 0; i < nin && !s; i++) {
    int64_t n = r[i]->meta.n, *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) {
      s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
      break;
    }
    s = adx_results_read_images_columns(r[i], idx, NULL, NULL, NULL, err);
    for (int64_t j = 0; j < n && !s; j++) img[k++] = (src_img){i, j, idx[j]};
    free(idx);
  }
  if (!s) {
    qsort(img, (size_t)total, sizeof *img, by_index);
    for (int64_t j = 1; j < total && !s; j++)
      if (img[j].index == img[j - 1].index)
        s = adx_fail(err, ADX_ERR_ARG, "%s and %s overlap: both hold dataset image %lld", in[img[j - 1].file],
                     in[img[j].file], (long long)img[j].index);
  }
  if (!s && !force && access(out, F_OK) == 0)
    s = adx_fail(err, ADX_ERR_ARG, "%s exists; use --force to overwrite", out);
  /* the output: the first input's run, with every image, and a config that says where it came from */
  if (!s) {
    const adx_results_meta *m = &r[0]->meta;
    size_t cap = strlen(m->config_text ? m->config_text : "") + 64;
    for (int i = 0; i < nin; i++) cap += strlen(in[i]) + 1;
    if (!(config = malloc(cap))) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    if (!s) {
      size_t c = (size_t)snprintf(config, cap, "# adx merge of:");
      for (int i = 0; i < nin; i++) c += (size_t)snprintf(config + c, cap - c, " %s", in[i]);
      snprintf(config + c, cap - c, "\n# first input's settings:\n%s", m->config_text ? m->config_text : "");
      adx_run_info run = {.model_path = m->model_path,
                          .model_sha256 = m->model_sha256,
                          .data_path = m->data_path,
                          .config_text = config,
                          .explainer = m->explainer,
                          .nmodes = m->nmodes,
                          .modes = (const char *const *)m->modes,
                          .variants = (const char *const *)m->variants,
                          .seed = m->seed,
                          .ranks = 1,
                          .threads_per_rank = m->threads_per_rank,
                          .n = total,
                          .h = m->h,
                          .w = m->w,
                          .nclasses = m->nclasses,
                          .rob_k = m->rob_k,
                          .judges = m->judges,
                          .has_masks = m->has_masks,
                          .no_metrics = m->no_metrics};
      s = adx_results_create(out, &run, MPI_COMM_NULL, force, &w, err);
    }
  }
  for (int64_t j = 0; j < total && !s; j++) {
    adx_image_record rec = {0};
    s = adx_results_read_image(r[img[j].file], img[j].slot, &rec, err);
    if (!s) {
      const float *rp[64];
      const uint8_t *ep[64];
      size_t hw = (size_t)rec.h * rec.w;
      for (int m = 0; m < rec.nmodes && m < 64; m++) {
        rp[m] = rec.responsibility + m * hw;
        ep[m] = rec.explanation + m * hw;
      }
      adx_image_result im = {.slot = j,
                             .index = rec.index,
                             .label = rec.label,
                             .pred = rec.pred,
                             .conf = rec.conf,
                             .flags = rec.flags,
                             .responsibility = rp,
                             .explanation = ep,
                             .metrics = rec.metrics,
                             .object_mask = rec.object_mask,
                             .centre = rec.centre};
      s = adx_results_write_image(w, &im, err);
    }
    adx_image_record_free(&rec);
  }
  if (!s) s = adx_results_finish(w, err);
  if (s && w) unlink(out); /* never leave a half-merged file under the output name (still locked here) */
  adx_results_close(w);
  for (int i = 0; i < nin && r; i++) adx_results_close(r[i]);
  free(r), free(set0), free(config), free(img);
  return s;
}
