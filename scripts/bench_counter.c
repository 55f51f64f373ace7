/* Simulated scaling of adx's work counter: N oversubscribed ranks draw empty work items from the shared
 * counter (MPI_Fetch_and_op on rank 0) as fast as they can. Prints draws/s and the spread of items per
 * rank. Build and run (docs/scaling.md):
 *   mpicc -O2 -fopenmp -Iinclude scripts/bench_counter.c build/release/libadx.a $(pkg-config --libs
 * hdf5-openmpi openblas) -lm -o build/bench_counter mpirun --oversubscribe -np 32 build/bench_counter 200000
 * 1 ADX_COUNTER=p2p mpirun --oversubscribe -np 32 -x ADX_COUNTER build/bench_counter 20000 1   (the fallback)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "adx/dist.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int64_t n = argc > 1 ? atoll(argv[1]) : 100000, chunk = argc > 2 ? atoll(argv[2]) : 1;
  adx_dist *d;
  adx_error err = {0};
  if (adx_dist_create(MPI_COMM_WORLD, n, chunk, ADX_SCHEDULE_DYNAMIC, &d, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  int64_t a, b, mine = 0, draws = 0;
  while (adx_dist_next(d, &a, &b)) {
    mine += b - a;
    draws++;
  }
  double t = MPI_Wtime() - t0, tmax;
  int64_t tot, mn, mx;
  const char *kind = adx_counter_name(adx_dist_counter(d));
  adx_dist_free(d); /* before any other collective (the p2p counter answers its last requests there) */
  MPI_Reduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  MPI_Reduce(&mine, &tot, 1, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(&mine, &mn, 1, MPI_INT64_T, MPI_MIN, 0, MPI_COMM_WORLD);
  MPI_Reduce(&mine, &mx, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0)
    printf("ranks %d chunk %lld counter %s: %lld items in %.3f s = %.0f draws/s (%.1f us/draw); items per "
           "rank %lld..%lld\n",
           size, (long long)chunk, kind, (long long)tot, tmax, (double)tot / (double)chunk / tmax,
           1e6 * tmax / ((double)tot / (double)chunk), (long long)mn, (long long)mx);
  MPI_Finalize();
  (void)draws;
  return 0;
}
