/* Work distribution by a shared counter: MPI one-sided fetch-and-add on a window held by rank 0. */
#include <stdlib.h>

#include "adx/dist.h"

struct adx_dist {
  MPI_Comm comm;
  int rank, size;
  int64_t ntasks, chunk;
  adx_schedule sched;
  MPI_Win win;       /* rank 0 holds two counters: [0] next item, [1] items done */
  int64_t *counters; /* window memory (meaningful on rank 0) */
  int64_t static_next, static_end;
  int64_t done_local;
};

adx_status adx_dist_create(MPI_Comm comm, int64_t ntasks, int64_t chunk, adx_schedule sched, adx_dist **out,
                           adx_error *err) {
  *out = NULL;
  adx_dist *d = calloc(1, sizeof *d);
  if (!d) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  d->comm = comm;
  MPI_Comm_rank(comm, &d->rank);
  MPI_Comm_size(comm, &d->size);
  d->ntasks = ntasks;
  d->chunk = chunk > 0 ? chunk : 1;
  d->sched = sched;
  MPI_Aint bytes = d->rank == 0 ? (MPI_Aint)(2 * sizeof(int64_t)) : 0;
  if (MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, comm, &d->counters, &d->win) != MPI_SUCCESS) {
    free(d);
    return adx_fail(err, ADX_ERR_RUNTIME, "MPI_Win_allocate failed for the work counter");
  }
  if (d->rank == 0) {
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, d->win);
    d->counters[0] = d->counters[1] = 0;
    MPI_Win_unlock(0, d->win);
  }
  /* Static: contiguous blocks, as even as possible. */
  int64_t q = ntasks / d->size, r = ntasks % d->size;
  d->static_next = d->rank * q + (d->rank < r ? d->rank : r);
  d->static_end = d->static_next + q + (d->rank < r ? 1 : 0);
  MPI_Barrier(comm); /* the counter is initialised before anyone draws */
  *out = d;
  return ADX_OK;
}

int adx_dist_next(adx_dist *d, int64_t *start, int64_t *end) {
  int64_t s;
  if (d->sched == ADX_SCHEDULE_STATIC) {
    s = d->static_next;
    if (s >= d->static_end) return 0;
    *start = s;
    *end = s + d->chunk < d->static_end ? s + d->chunk : d->static_end;
    d->static_next = *end;
    return 1;
  }
  int64_t inc = d->chunk;
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, d->win);
  MPI_Fetch_and_op(&inc, &s, MPI_INT64_T, 0, 0, MPI_SUM, d->win);
  MPI_Win_unlock(0, d->win);
  if (s >= d->ntasks) return 0;
  *start = s;
  *end = s + d->chunk < d->ntasks ? s + d->chunk : d->ntasks;
  return 1;
}

void adx_dist_add_done(adx_dist *d, int64_t n) {
  int64_t old;
  d->done_local += n;
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, d->win);
  MPI_Fetch_and_op(&n, &old, MPI_INT64_T, 0, 1, MPI_SUM, d->win);
  MPI_Win_unlock(0, d->win);
}

int64_t adx_dist_done(adx_dist *d) {
  int64_t zero = 0, v;
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, d->win);
  MPI_Fetch_and_op(&zero, &v, MPI_INT64_T, 0, 1, MPI_NO_OP, d->win);
  MPI_Win_unlock(0, d->win);
  return v;
}

void adx_dist_free(adx_dist *d) {
  if (!d) return;
  MPI_Win_free(&d->win);
  free(d);
}
