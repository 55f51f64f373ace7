/* The results store under load: N oversubscribed ranks draw images from the work counter and write a
 * trivial result for each (constant maps and metrics: no model, so compute does not hide the I/O),
 * through the bounded write buffer, into one shared file. Prints images (rows) per second, counted from
 * the first draw to the end of the last flush (not the file creation or the summary), and the flushes.
 * Build and run (docs/scaling.md):
 *   make bench-store     # build/release/bench_store
 *   mpirun --oversubscribe --bind-to none -np 64 build/release/bench_store /dev/shm/s.h5 20000 16 5
 * arguments: FILE IMAGES FLUSH_IMAGES MODES [H W]  (defaults 28 x 28, the Fashion-MNIST size) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/dist.h"
#include "adx/results_mpi.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 5) {
    if (rank == 0) fprintf(stderr, "usage: bench_store FILE IMAGES FLUSH_IMAGES MODES [H W]\n");
    MPI_Finalize();
    return 2;
  }
  const char *path = argv[1];
  int64_t n = atoll(argv[2]);
  int flush = atoi(argv[3]), nmodes = atoi(argv[4]);
  int h = argc > 6 ? atoi(argv[5]) : 28, w = argc > 6 ? atoi(argv[6]) : 28;
  static const char *const all_modes[] = {"ad",       "fill:zero", "fill:mean",
                                          "fill:min", "fill:max",  "fill:blur"};
  if (nmodes < 1 || nmodes > 6 || n < 1 || flush < 1) {
    if (rank == 0) fprintf(stderr, "bench_store: IMAGES >= 1, FLUSH_IMAGES >= 1, MODES 1..6\n");
    MPI_Finalize();
    return 2;
  }
  adx_run_info run = {.model_path = "bench",
                      .model_sha256 = "0",
                      .data_path = "bench",
                      .config_text = "",
                      .explainer = "none",
                      .nmodes = nmodes,
                      .modes = all_modes,
                      .seed = 1,
                      .ranks = size,
                      .threads_per_rank = 1,
                      .n = n,
                      .h = h,
                      .w = w,
                      .nclasses = 10};
  adx_error err = {0};
  adx_results *r = NULL;
  adx_results_buffer *b = NULL;
  adx_dist *d = NULL;
  double t_create = MPI_Wtime();
  if (adx_results_create(path, &run, MPI_COMM_WORLD, 1, &r, &err) ||
      adx_results_buffer_create(r, flush, 1e9, &b, &err) ||
      adx_dist_create(MPI_COMM_WORLD, n, 1, ADX_SCHEDULE_DYNAMIC, &d, &err)) {
    fprintf(stderr, "bench_store: rank %d: %s\n", rank, err.msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  t_create = MPI_Wtime() - t_create;
  size_t hw = (size_t)h * w;
  float *resp = calloc(hw, sizeof(float));
  uint8_t *expl = calloc(hw, 1);
  const float *rp[6];
  const uint8_t *ep[6];
  adx_metrics met[6];
  memset(met, 0, sizeof met);
  for (int m = 0; m < nmodes; m++) rp[m] = resp, ep[m] = expl, met[m].size = 0.5f;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  int64_t a, e, mine = 0;
  while (adx_dist_next(d, &a, &e))
    for (int64_t s = a; s < e; s++) {
      adx_image_result im = {.slot = s,
                             .index = s,
                             .label = 1,
                             .pred = 1,
                             .conf = 0.9f,
                             .responsibility = rp,
                             .explanation = ep,
                             .metrics = met};
      if (adx_results_buffer_add(b, &im, &err)) {
        fprintf(stderr, "bench_store: rank %d: %s\n", rank, err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      mine++;
    }
  if (adx_results_buffer_flush(b, &err)) {
    fprintf(stderr, "bench_store: rank %d: %s\n", rank, err.msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  double t1 = MPI_Wtime() - t0, tmax = 0;
  adx_counter_kind kind = adx_dist_counter(d);
  adx_dist_free(d);
  int64_t flushes, images, fl_all = 0, mn = 0, mx = 0;
  adx_results_buffer_stats(b, &flushes, &images);
  MPI_Reduce(&t1, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  MPI_Reduce(&flushes, &fl_all, 1, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(&mine, &mn, 1, MPI_INT64_T, MPI_MIN, 0, MPI_COMM_WORLD);
  MPI_Reduce(&mine, &mx, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
  double t2 = MPI_Wtime();
  adx_results_buffer_free(b);
  int fs = adx_results_finish(r, &err) != ADX_OK;
  adx_results_close(r);
  t2 = MPI_Wtime() - t2;
  if (rank == 0)
    printf("ranks %d  images %lld  modes %d  %dx%d  flush %d  counter %s: %.0f rows/s (%.2f s; %lld flushes; "
           "per rank %lld..%lld)  create %.2f s  finish %.2f s%s\n",
           size, (long long)n, nmodes, h, w, flush, adx_counter_name(kind), (double)n / tmax, tmax,
           (long long)fl_all, (long long)mn, (long long)mx, t_create, t2, fs ? "  (finish failed)" : "");
  free(resp);
  free(expl);
  MPI_Finalize();
  return 0;
}
