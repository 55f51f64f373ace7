/* adx explain: the command line of a dataset audit (adx/audit.h): options, config file, modes, the
 * effective settings, signals; then adx_audit_run and the summary table. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"
#include "adx/audit.h"
#include "adx/io.h"
#include "args.h"
#include "cli.h"

enum {
  O_MODEL,
  O_DATA,
  O_CONFIG,
  O_OUT,
  O_MODES,
  O_EXPLAINER,
  O_LIMIT,
  O_OFFSET,
  O_SAMPLE,
  O_SEED,
  O_THREADS,
  O_BATCH,
  O_RESUME,
  O_FORCE,
  ADX_CLI_AD_IDS,
  O_ITERS,
  O_TREE_DEPTH,
  O_MIN_BOX,
  O_SEARCH_LIMIT,
  O_CONF_FILTER,
  O_WINDOW,
  O_STRIDE,
  O_CONFIDENCE,
  O_CHUNKS,
  O_REFINE,
  O_K_COLOUR,
  O_K_CONTEXT,
  O_AUC_STEPS,
  O_BACKGROUNDS,
  O_JUDGES,
  O_NO_METRICS,
  O_SCHEDULE,
  O_CHUNK,
  O_FLUSH_IMAGES,
  O_FLUSH_SECONDS,
  O_PROGRESS,
  ADX_CLI_PREPROC_IDS,
  ADX_CLI_CAP_IDS,
  O_HELP
};

/* The modes of an audit when neither --modes nor a config names them: AD against four fills (fill:min is
 * left out: on images with a black background it repeats fill:zero bit for bit). */
#define DEFAULT_MODES "ad,fill:zero,fill:mean,fill:blur,fill:max"

static const adx_opt opts[] = {
    {"model", 'm', 1, "FILE", "ONNX model (required)"},
    {"data", 'd', 1, "PATH", "IDX file, folder of class folders, HDF5 file (/images, /labels) or list file"},
    {"config", 'c', 1, "FILE", "INI file: [preprocess] and [explain] sections (keys = these options)"},
    {"output", 'o', 1, "FILE", "results file (HDF5), required"},
    {"modes", 0, 1, "LIST", "default " DEFAULT_MODES},
    {"explainer", 0, 1, "NAME", "rex (default) or sliding"},
    {"limit", 0, 1, "N", "at most N images (after --offset)"},
    {"offset", 0, 1, "N", "skip the first N images"},
    {"sample", 0, 1, "N", "a seeded random subset of N images"},
    {"seed", 0, 1, "S", "run seed (default 0); per-image seeds derive from it and the image index"},
    {"threads", 't', 1, "T", "OpenMP threads per rank (default OMP_NUM_THREADS, else all cores)"},
    {"batch", 'b', 1, "B", "mutants per engine call (default 64)"},
    {"resume", 0, 0, NULL, "complete an unfinished results file"},
    {"force", 0, 0, NULL, "overwrite an existing results file"},
    ADX_CLI_AD_OPTS,
    {"iters", 0, 1, "N", "rex: random partition trees per image (default 20)"},
    {"tree-depth", 0, 1, "N", "rex: maximum depth (default 10)"},
    {"min-box-size", 0, 1, "PX", "rex: minimum box side (default 10 px at 224, scaled)"},
    {"search-limit", 0, 1, "N", "rex: mutant queries per iteration, 0 = unlimited"},
    {"confidence-filter", 0, 1, "P", "rex: a passing mutant also needs p >= P * p_full"},
    {"window", 0, 1, "PX", "sliding: occluder side"},
    {"stride", 0, 1, "PX", "sliding: stride"},
    {"confidence", 0, 1, "F", "extraction: target top-1 with p >= F * p_full"},
    {"chunks", 0, 1, "N", "extraction: ranking chunks"},
    {"refine", 0, 1, "0|1", "extraction: refine the last chunk to the pixel (default 1)"},
    {"k-colour", 0, 1, "K", "robustness: solid-colour backgrounds (default 20)"},
    {"k-context", 0, 1, "K", "robustness: other-class backgrounds (default 20)"},
    {"auc-steps", 0, 1, "N", "insertion/deletion curve steps (default 20)"},
    {"backgrounds", 0, 1, "N", "dataset images kept as context backgrounds (default 100)"},
    {"judges", 0, 1, "all|none",
     "cross-judging: every mode's top-k under every removal operator (default all)"},
    {"no-metrics", 0, 0, NULL,
     "explanations only: no metric, judge or ground-truth query (queries count the explainer's)"},
    {"schedule", 0, 1, "S", "dynamic (default: shared counter) or static (block split)"},
    {"chunk", 0, 1, "N", "images per draw from the counter (default 1)"},
    {"flush-images", 0, 1, "N", "write buffer: flush every N images (default 16; 1 = write each image)"},
    {"flush-seconds", 0, 1, "S", "write buffer: flush when the oldest image waited S s (default 60)"},
    {"progress", 0, 1, "P", "auto (default), bar, lines or off"},
    ADX_CLI_PREPROC_OPTS,
    ADX_CLI_CAP_OPTS,
    {"help", 'h', 0, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL}};

typedef struct run {
  adx_audit_options o; /* what the audit is given */
  const char *modes_arg;
  adx_cli_ad ad; /* what a bare "ad" means */
  char *config_text;
  adx_cli_caps caps; /* resource caps */
  int nmodes;
  adx_mode modes[32];
  char *mode_names[32];
  char *mode_variants[32]; /* the full variant each mode computes */
} run;

static volatile sig_atomic_t stop_requested;
static void on_term(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* The adx_explainer_set key of an explainer option, or NULL. */
static const char *explainer_key(int opt) {
  switch (opt) {
  case O_ITERS: return "iters";
  case O_TREE_DEPTH: return "tree_depth";
  case O_MIN_BOX: return "min_box_size";
  case O_SEARCH_LIMIT: return "search_limit";
  case O_CONF_FILTER: return "confidence_filter";
  case O_WINDOW: return "window";
  case O_STRIDE: return "stride";
  case O_CONFIDENCE: return "confidence";
  case O_CHUNKS: return "chunks";
  case O_REFINE: return "refine";
  default: return NULL;
  }
}

/* The integer options: selection, run, metrics and distribution sizes. */
static adx_status set_number(run *r, int opt, const char *v, adx_error *err) {
  long l, lo = 0, hi = LONG_MAX;
  switch (opt) {
  case O_THREADS: hi = 4096; break;
  case O_BATCH: lo = 1, hi = 65536; break;
  case O_K_COLOUR:
  case O_K_CONTEXT: lo = 1, hi = 100000; break;
  case O_AUC_STEPS: lo = 2, hi = 100000; break;
  case O_BACKGROUNDS: hi = 1000000; break;
  case O_CHUNK:
  case O_FLUSH_IMAGES: lo = 1, hi = 1000000; break;
  case O_LIMIT:
  case O_OFFSET:
  case O_SAMPLE:
  case O_SEED: break;
  default: return ADX_OK;
  }
  adx_status s = adx_arg_int(opts[opt].name, v, lo, hi, &l, err);
  if (s) return s;
  switch (opt) {
  case O_LIMIT: r->o.limit = l; break;
  case O_OFFSET: r->o.offset = l; break;
  case O_SAMPLE: r->o.sample = l; break;
  case O_SEED: r->o.seed = (uint64_t)l; break;
  case O_THREADS: r->o.threads = (int)l; break;
  case O_BATCH: r->o.batch = (int)l; break;
  case O_K_COLOUR: r->o.mp.k_colour = (int)l; break;
  case O_K_CONTEXT: r->o.mp.k_context = (int)l; break;
  case O_AUC_STEPS: r->o.mp.auc_steps = (int)l; break;
  case O_BACKGROUNDS: r->o.backgrounds = l; break;
  case O_CHUNK: r->o.chunk = l; break;
  case O_FLUSH_IMAGES: r->o.flush_images = (int)l; break;
  default: break;
  }
  return ADX_OK;
}

/* A flag: given alone (NULL or "" from the command line) it is on; from a config file, a boolean. */
static adx_status set_flag(const char *name, const char *v, int *out, adx_error *err) {
  if (v && *v) return adx_arg_bool(name, v, out, err);
  *out = 1;
  return ADX_OK;
}

static adx_status set_option(run *r, int opt, const char *v, adx_error *err) {
  const char *xkey = explainer_key(opt);
  if (xkey) return adx_explainer_set(&r->o.x, xkey, v, err);
  adx_status s = ADX_OK;
  if (opt == O_FLUSH_SECONDS) {
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= 0) || x > 1e9)
      return adx_fail(err, ADX_ERR_ARG, "--flush-seconds: '%s' is not a number of seconds >= 0", v);
    r->o.flush_seconds = x;
    return ADX_OK;
  }
  switch (opt) {
  case O_MODEL: r->o.model = v; break;
  case O_DATA: r->o.data = v; break;
  case O_OUT: r->o.out = v; break;
  case O_MODES: r->modes_arg = v; break;
  case O_EXPLAINER: s = adx_explainer_parse(v, &r->o.x, err); break;
  case O_RESUME: s = set_flag("resume", v, &r->o.resume, err); break;
  case O_FORCE: s = set_flag("force", v, &r->o.force, err); break;
  case O_NO_METRICS: s = set_flag("no-metrics", v, &r->o.no_metrics, err); break;
  case O_JUDGES:
    if (v && !strcmp(v, "all"))
      r->o.judges = 1;
    else if (v && !strcmp(v, "none"))
      r->o.judges = 0;
    else
      s = adx_fail(err, ADX_ERR_ARG, "--judges: '%s' is not all or none", v ? v : "");
    break;
  case O_AD_RULE:
  case O_AD_POOL:
  case O_AD_RENORM:
  case O_AD_AT: r->ad.v[opt - O_AD_RULE] = v; break;
  case O_SCHEDULE:
    if (!strcmp(v, "dynamic"))
      r->o.sched = ADX_SCHEDULE_DYNAMIC;
    else if (!strcmp(v, "static"))
      r->o.sched = ADX_SCHEDULE_STATIC;
    else
      s = adx_fail(err, ADX_ERR_ARG, "--schedule: '%s' is not dynamic or static", v);
    break;
  case O_PROGRESS:
    if (adx_progress_parse(v, &r->o.progress))
      s = adx_fail(err, ADX_ERR_ARG, "--progress: '%s' is not auto, bar, lines or off", v);
    break;
  case O_MAX_TENSOR:
  case O_MAX_ACT:
  case O_MAX_PIXELS: s = adx_cli_caps_set(&r->caps, opt - O_MAX_TENSOR, v, err); break;
  case O_RESIZE:
  case O_CROP:
  case O_SCALE:
  case O_MEAN:
  case O_STD: s = adx_cli_preproc_set(&r->o.pp, opt - O_RESIZE, v, err); break;
  default: s = set_number(r, opt, v, err); break;
  }
  return s;
}

static adx_status set_from_config(void *r, int opt, const char *v, adx_error *err) {
  return set_option(r, opt, v, err);
}

/* The [explain] section's keys are the long options less config and help; an empty value keeps the
 * default. */
static adx_status apply_config(run *r, const adx_config *cfg, adx_error *err) {
  static const int except[] = {O_CONFIG, O_HELP, -1};
  adx_status s = adx_config_apply_preprocess(cfg, &r->o.pp, err);
  return s ? s : adx_cli_config_section(cfg, "explain", opts, except, 1, set_from_config, r, err);
}

static adx_status parse_modes(run *r, adx_error *err) {
  const char *list = r->modes_arg ? r->modes_arg : DEFAULT_MODES;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", list);
  r->nmodes = 0;
  adx_ad_opts bare;
  adx_status s = adx_cli_ad_bare(&r->ad, &bare, err);
  if (s) return s;
  int has_bare = 0;
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (r->nmodes == 32) return adx_fail(err, ADX_ERR_ARG, "--modes: at most 32 modes");
    adx_mode *m = &r->modes[r->nmodes];
    if ((s = adx_mode_parse_with(tok, &bare, m, err))) return adx_error_prefix(err, "--modes: ");
    has_bare |= !strcmp(tok, "ad");
    if (m->kind == ADX_MODE_PLAIN)
      return adx_fail(err, ADX_ERR_ARG, "--modes: 'plain' hides nothing and cannot explain");
    for (int k = 0; k < r->nmodes; k++)
      if (!strcmp(r->mode_names[k], tok))
        return adx_fail(err, ADX_ERR_ARG, "--modes: '%s' is listed twice", tok);
    char variant[ADX_AD_VARIANT_MAX];
    r->mode_names[r->nmodes] = strdup(tok);
    r->mode_variants[r->nmodes] = strdup(adx_mode_str(m, variant, sizeof variant));
    if (!r->mode_names[r->nmodes] || !r->mode_variants[r->nmodes])
      return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    r->nmodes++;
  }
  if (!r->nmodes) return adx_fail(err, ADX_ERR_ARG, "--modes: no mode given");
  if (adx_cli_ad_any(&r->ad) && !has_bare)
    return adx_fail(
        err, ADX_ERR_ARG,
        "--ad-rule, --ad-pool, --ad-renorm and --ad-at set what a bare 'ad' mode means, and --modes "
        "has none (%s)",
        list);
  return ADX_OK;
}

/* The effective configuration as text: what the file said plus the command line, so a resume can check
 * that nothing that changes results has changed. */
static char *effective_config(int argc, char **argv, const char *cfg_path) {
  size_t cap = 1 << 16, n = 0;
  char *t = malloc(cap);
  if (!t) return NULL;
  n += (size_t)snprintf(t + n, cap - n, "# adx explain: effective settings\n");
  if (cfg_path) {
    uint8_t *file = NULL;
    size_t len;
    adx_file_read(cfg_path, ADX_CONFIG_MAX_BYTES, &file, &len, NULL); /* loaded once already */
    n += (size_t)snprintf(t + n, cap - n, "# from %s\n%s\n", cfg_path, file ? (const char *)file : "");
    free(file);
  }
  n += (size_t)snprintf(t + n, cap - n, "# command line:");
  for (int i = 1; i < argc && n < cap; i++) {
    /* options that do not change results are left out, so a resume may change them */
    static const char *const neutral[] = {"--resume",
                                          "--force",
                                          "--threads",
                                          "--progress",
                                          "--schedule",
                                          "--chunk",
                                          "--flush-images",
                                          "--flush-seconds",
                                          "-t",
                                          "-o",
                                          "--output",
                                          "--max-tensor-elems",
                                          "--max-activation-mem",
                                          "--max-image-pixels"};
    int skip = 0, takes = 0;
    for (size_t k = 0; k < sizeof neutral / sizeof neutral[0]; k++)
      if (!strncmp(argv[i], neutral[k], strlen(neutral[k])) &&
          (argv[i][strlen(neutral[k])] == 0 || argv[i][strlen(neutral[k])] == '=')) {
        skip = 1;
        takes = argv[i][strlen(neutral[k])] == 0 && strcmp(neutral[k], "--resume") &&
                strcmp(neutral[k], "--force");
      }
    if (skip) {
      if (takes) i++;
      continue;
    }
    n += (size_t)snprintf(t + n, cap - n, " %s", argv[i]);
  }
  if (n < cap) snprintf(t + n, cap - n, "\n");
  return t;
}

/* Every rank exits with the worst status of any rank. */
static int finish_status(adx_status s) {
  int code = adx_exit_code(s), worst;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}

int adx_cmd_explain(int argc, char **argv) {
  int provided, rank;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  run r = {0};
  adx_audit_options_default(&r.o);
  r.o.name = "adx explain";
  r.o.stop = &stop_requested;
  adx_error err = {0};
  adx_args a = {0};
  adx_config cfg = {0};
  adx_status s = adx_args_parse(argc, argv, opts, &a, &err);
  if (!s && adx_args_last(&a, O_HELP)) {
    if (rank == 0)
      adx_args_usage(stdout, "explain", "--model M.onnx --data PATH -o RESULTS.h5 [options]", opts);
    adx_args_free(&a);
    MPI_Finalize();
    return 0;
  }
  const char *cfg_path = s ? NULL : adx_args_last(&a, O_CONFIG);
  if (cfg_path && !(s = adx_config_load(cfg_path, &cfg, &err))) s = apply_config(&r, &cfg, &err);
  for (int i = 0; i < a.n && !s; i++)
    if (a.items[i].opt != O_CONFIG) s = set_option(&r, a.items[i].opt, a.items[i].value, &err);
  if (!s && !r.o.model) s = adx_fail(&err, ADX_ERR_ARG, "--model is required (see --help)");
  if (!s && !r.o.data) s = adx_fail(&err, ADX_ERR_ARG, "--data is required (see --help)");
  if (!s && !r.o.out) s = adx_fail(&err, ADX_ERR_ARG, "-o RESULTS.h5 is required (see --help)");
  if (!s && a.npos) s = adx_fail(&err, ADX_ERR_ARG, "unexpected argument '%s' (see --help)", a.pos[0]);
  if (!s) s = parse_modes(&r, &err);
  if (!s) {
    r.config_text = effective_config(argc, argv, cfg_path);
    if (r.o.threads > 0) adx_threads_set(r.o.threads);
    r.o.config_text = r.config_text;
    r.o.nmodes = r.nmodes;
    r.o.modes = r.modes;
    r.o.mode_names = (const char *const *)r.mode_names;
    r.o.mode_variants = (const char *const *)r.mode_variants;
    adx_cli_caps_apply(&r.caps, &r.o.model_limits, &r.o.data_limits.image);
    s = adx_audit_run(&r.o, &err);
  }
  if (!s && rank == 0) {
    adx_error e2 = {0};
    if (adx_cli_print_summary(stdout, r.o.out, &e2)) fprintf(stderr, "adx explain: %s\n", e2.msg);
  }
  if (s && (rank == 0 || s >= ADX_ERR_RUNTIME)) adx_cli_report("explain", &err);
  int rc = finish_status(s);
  for (int i = 0; i < r.nmodes; i++) {
    free(r.mode_names[i]);
    free(r.mode_variants[i]);
  }
  free(r.config_text);
  adx_config_free(&cfg);
  adx_args_free(&a);
  MPI_Finalize();
  return rc;
}

/* adx sanity: the settings of a finished run, from its recorded effective configuration (the text
 * effective_config wrote: "# from PATH" and the config file's text, then "# command line:" and the flags,
 * separated by single spaces). The config file's text is applied first, then the flags, as adx explain did.
 */
adx_status adx_cli_explain_replay(const char *config_text, adx_audit_options *out, adx_error *err) {
  run r = {0};
  adx_audit_options_default(&r.o);
  const char *text = config_text ? config_text : "";
  const char *cl = strstr(text, "# command line:");
  while (cl && cl != text && cl[-1] != '\n') cl = strstr(cl + 1, "# command line:");
  const char *from = strstr(text, "# from ");
  adx_config cfg = {0};
  adx_status s = ADX_OK;
  int have_cfg = 0;
  if (from && (!cl || from < cl)) {
    const char *body = strchr(from, '\n');
    body = body ? body + 1 : from + strlen(from);
    size_t len = cl && cl > body ? (size_t)(cl - body) : (cl ? 0 : strlen(body));
    char *file = malloc(len + 1);
    if (!file) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    memcpy(file, body, len);
    file[len] = 0;
    s = adx_config_parse(file, "the recorded configuration", &cfg, err);
    free(file);
    have_cfg = !s;
    if (!s) s = apply_config(&r, &cfg, err);
  }
  char *line = NULL;
  char **argv = NULL;
  adx_args a = {0};
  int argc = 1, parsed = 0;
  if (!s && cl) {
    cl += strlen("# command line:");
    const char *eol = strchr(cl, '\n');
    size_t len = eol ? (size_t)(eol - cl) : strlen(cl);
    line = malloc(len + 1);
    argv = malloc((len / 2 + 2) * sizeof *argv);
    if (!line || !argv) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    if (!s) {
      memcpy(line, cl, len);
      line[len] = 0;
      argv[0] = "explain";
      for (char *save, *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
      argv[argc] = NULL;
      s = adx_args_parse(argc, argv, opts, &a, err);
      parsed = !s;
    }
    for (int i = 0; i < a.n && !s; i++) {
      int opt = a.items[i].opt;
      if (opt == O_CONFIG || opt == O_MODEL || opt == O_DATA || opt == O_OUT || opt == O_MODES) continue;
      s = set_option(&r, opt, a.items[i].value, err);
    }
  }
  if (s) adx_error_prefix(err, "the run's recorded configuration: ");
  if (!s) {
    out->pp = r.o.pp;
    out->x = r.o.x;
    out->mp = r.o.mp;
    out->batch = r.o.batch;
    out->seed = r.o.seed;
    out->no_metrics = r.o.no_metrics;
  }
  if (parsed) adx_args_free(&a);
  free(argv);
  free(line);
  if (have_cfg) adx_config_free(&cfg);
  return s;
}
