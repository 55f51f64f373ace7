/* adx: explain image classifiers with Activation-Deactivation and fill-value occlusion. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct command {
  const char *name;
  int (*fn)(int, char **);
  const char *help;
} command;

static const command commands[] = {
    {"info", adx_cmd_info, "info MODEL.onnx                  inputs, outputs, operators, parameters, FLOPs"},
    {"predict", adx_cmd_predict, "predict --model M.onnx IMAGE...  class probabilities as JSON lines"},
    {"explain", adx_cmd_explain,
     "explain --model M.onnx --data PATH -o RESULTS.h5  audit a dataset (also under mpirun/srun)"},
    {"summary", adx_cmd_summary, "summary RESULTS.h5               the headline table of a results file"},
    {"report", adx_cmd_report, "report RESULTS.h5 -o DIR         HTML report: tables, plots, galleries"},
    {"show", adx_cmd_show, "show RESULTS.h5 --image I -o x.png  one image's panel in every mode"},
    {"merge", adx_cmd_merge, "merge OUT.h5 IN.h5...          combine the results files of a job array"},
    {"sanity", adx_cmd_sanity,
     "sanity RESULTS.h5 [--images N] [--levels L]  cascading model randomisation (Adebayo et al. 2018)"},
    {"bench", adx_cmd_bench, "bench --model M.onnx [--batch B] throughput with a same-run SGEMM reference"},
};

static void usage(FILE *f) {
  fprintf(f, "adx %s: explain image classifiers with Activation-Deactivation\n\nusage:\n", ADX_VERSION);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  adx %s\n", commands[i].help);
  fprintf(
      f,
      "\nRun 'adx COMMAND --help' for a command's options. Exit status: 0 ok, 1 run failed, 2 bad input.\n");
}

int adx_cli_report(const char *cmd, const adx_error *err) {
  fprintf(stderr, "adx %s: %s\n", cmd, err->msg[0] ? err->msg : adx_status_name(err->code));
  return adx_exit_code(err->code);
}

/* OpenMP threads that wait at a barrier spin by default (libgomp: up to about a second's worth of spins).
 * On a core shared with another process -- a second MPI rank, a neighbour's job -- a spinning thread
 * takes the core from the one it waits for, and adx's many short parallel regions ran up to 10x slower
 * (docs/performance.md). Sleeping at once (passive) costs a wake-up per parallel region instead: 20-35% of
 * a small model's throughput at 2 threads when the cores are free. libgomp reads its wait policy once,
 * before main, so unless the user chose a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT) adx re-executes
 * itself with one: a short spin (GOMP_SPINCOUNT=ADX_SPINCOUNT, tens of microseconds, then sleep) when its
 * own threads fit the CPUs it may run on (the MPI ranks on the node, OMPI_COMM_WORLD_LOCAL_SIZE or
 * SLURM_NTASKS_PER_NODE, times OMP_NUM_THREADS, else times every CPU), else OMP_WAIT_POLICY=passive.
 * execv keeps the process id, so mpirun, srun and PMIx see the same process. */
#define ADX_SPINCOUNT "1000"

static long env_count(const char *name) { /* the leading number of an environment variable, or 0 */
  const char *v = getenv(name);
  return v && *v >= '1' && *v <= '9' ? strtol(v, NULL, 10) : 0;
}

static void wait_policy(char **argv) {
  if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
  cpu_set_t set;
  long cpus = sched_getaffinity(0, sizeof set, &set) ? sysconf(_SC_NPROCESSORS_ONLN) : CPU_COUNT(&set);
  long ranks = env_count("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (!ranks) ranks = env_count("SLURM_NTASKS_PER_NODE");
  long threads = env_count("OMP_NUM_THREADS");
  if (cpus < 1) cpus = 1;
  if (!threads) threads = cpus;
  int fits = (ranks ? ranks : 1) * threads <= cpus;
  if (fits ? setenv("GOMP_SPINCOUNT", ADX_SPINCOUNT, 1) : setenv("OMP_WAIT_POLICY", "passive", 1)) return;
  execv("/proc/self/exe", argv);
  /* no /proc: carry on with the default policy */
}

int main(int argc, char **argv) {
  wait_policy(argv);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("adx %s\n", ADX_VERSION);
    return 0;
  }
  /* A binary built for a newer CPU (make on a login node with ARCH=-march=native) says so here rather
   * than dying with SIGILL later; main itself is kept free of wide vector code by its simplicity. */
  char missing[256];
  if (adx_build_cpu_missing(missing, sizeof missing)) {
    char feat[512];
    adx_build_cpu_features(feat, sizeof feat);
    fprintf(stderr,
            "adx: this binary was built for '%s', but this CPU lacks %s; rebuild on this node or with a "
            "portable ARCH, e.g. make ARCH=-march=x86-64-v2 (docs/cluster.md)\n",
            feat, missing);
    return 1;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "adx: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
