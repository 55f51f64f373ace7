/* Work distribution by a shared counter. Two implementations behind one interface:
 *  - window: MPI one-sided fetch-and-add on a window held by rank 0 (no involvement of rank 0's CPU
 *    where the network does atomics);
 *  - p2p: rank 0 hands out chunks by point-to-point messages, serving requests whenever it enters this
 *    module (between its own images, and in its progress loop once its own work is over). Each other rank
 *    asks for its next chunk as soon as it receives one, so the answer arrives while it computes.
 * The window is tried first, with MPI_ERRORS_RETURN around its creation: Open MPI 4.1.4 over TCP alone
 * picks osc/rdma, whose MPI_Win_allocate fails with MPI_ERR_WIN. Then every rank falls back to p2p,
 * which needs nothing but MPI_Send/MPI_Recv, and rank 0 says so in one line on stderr.
 * ADX_COUNTER=p2p (or window) in the environment forces one implementation (tests, diagnosis). */
#include <stdlib.h>
#include <string.h>

#include "adx/dist.h"

enum { TAG_REQ = 1, TAG_GRANT, TAG_DONE, TAG_FIN };

struct adx_dist {
  MPI_Comm comm; /* the caller's communicator (window mode) */
  int rank, size;
  int64_t ntasks, chunk;
  adx_schedule sched;
  adx_counter_kind kind;
  MPI_Win win;       /* window: rank 0 holds two counters: [0] next item, [1] items done */
  int64_t *counters; /* window memory (meaningful on rank 0) */
  int64_t static_next, static_end;
  int64_t done_local;
  /* p2p */
  MPI_Comm pcomm;         /* a duplicate: its tags never meet the caller's traffic */
  int64_t next, done_all; /* rank 0: next item to hand out, finished items seen so far */
  int fins;               /* rank 0: ranks that have said goodbye (adx_dist_free) */
  int64_t grant[2];       /* other ranks: the prefetched chunk [start, end) */
  MPI_Request grant_req;  /* other ranks: the pending answer to our request, or MPI_REQUEST_NULL */
  int exhausted;          /* other ranks: rank 0 said there is no more work */
};

const char *adx_counter_name(adx_counter_kind k) { return k == ADX_COUNTER_P2P ? "p2p" : "window"; }

/* rank 0, p2p: the next chunk to hand out, or [ntasks, ntasks) when there is none */
static void p2p_take(adx_dist *d, int64_t g[2]) {
  g[0] = d->next < d->ntasks ? d->next : d->ntasks;
  g[1] = g[0] + d->chunk < d->ntasks ? g[0] + d->chunk : d->ntasks;
  d->next = g[1];
}

/* rank 0, p2p: answer every message that has arrived (block for one first when wait is set) */
static void p2p_serve(adx_dist *d, int wait) {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    if (wait) {
      MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, d->pcomm, &st);
      flag = 1;
      wait = 0;
    } else {
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, d->pcomm, &flag, &st);
    }
    if (!flag) return;
    int64_t v = 0;
    MPI_Recv(&v, 1, MPI_INT64_T, st.MPI_SOURCE, st.MPI_TAG, d->pcomm, MPI_STATUS_IGNORE);
    if (st.MPI_TAG == TAG_REQ) {
      int64_t g[2];
      if (d->sched == ADX_SCHEDULE_STATIC)
        g[0] = g[1] = d->ntasks; /* never asked for in static mode */
      else
        p2p_take(d, g);
      MPI_Send(g, 2, MPI_INT64_T, st.MPI_SOURCE, TAG_GRANT, d->pcomm);
    } else if (st.MPI_TAG == TAG_DONE) {
      d->done_all += v;
    } else if (st.MPI_TAG == TAG_FIN) {
      d->fins++;
    }
  }
}

/* other ranks, p2p: ask rank 0 for a chunk; the answer lands in d->grant */
static void p2p_request(adx_dist *d) {
  int64_t zero = 0;
  MPI_Send(&zero, 1, MPI_INT64_T, 0, TAG_REQ, d->pcomm);
  MPI_Irecv(d->grant, 2, MPI_INT64_T, 0, TAG_GRANT, d->pcomm, &d->grant_req);
}

static adx_counter_kind counter_wanted(void) {
  const char *e = getenv("ADX_COUNTER");
  return e && strcmp(e, "p2p") == 0 ? ADX_COUNTER_P2P : ADX_COUNTER_WINDOW;
}

/* Try the window; 1 when every rank got it. Errors come back as values instead of aborting the job. */
static int window_try(adx_dist *d, int *mpi_err) {
  MPI_Errhandler old;
  MPI_Comm_get_errhandler(d->comm, &old);
  MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
  MPI_Aint bytes = d->rank == 0 ? (MPI_Aint)(2 * sizeof(int64_t)) : 0;
  int rc = MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, d->comm, &d->counters, &d->win);
  MPI_Comm_set_errhandler(d->comm, old);
  MPI_Errhandler_free(&old);
  int ok = rc == MPI_SUCCESS, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, d->comm);
  *mpi_err = rc;
  if (all) {
    MPI_Win_set_errhandler(d->win, MPI_ERRORS_ARE_FATAL);
    return 1;
  }
  /* Some rank failed. A rank that did get a window keeps it unfreed: MPI_Win_free is collective over the
   * window's group, and the ranks that failed are not in it, so freeing could hang; a leaked 16-byte
   * window is the lesser harm (osc components fail on every rank alike, so this is the rare case). */
  d->win = MPI_WIN_NULL;
  return 0;
}

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
  d->win = MPI_WIN_NULL;
  d->pcomm = MPI_COMM_NULL;
  d->grant_req = MPI_REQUEST_NULL;
  /* every rank must take the same decision: the environment of rank 0 decides */
  int want = (int)counter_wanted();
  MPI_Bcast(&want, 1, MPI_INT, 0, comm);
  d->kind = (adx_counter_kind)want;
  if (d->kind == ADX_COUNTER_WINDOW) {
    int mpi_err = MPI_SUCCESS;
    if (!window_try(d, &mpi_err)) {
      d->kind = ADX_COUNTER_P2P;
      if (d->rank == 0) {
        char msg[MPI_MAX_ERROR_STRING] = "another rank failed";
        int len = 0;
        if (mpi_err != MPI_SUCCESS) MPI_Error_string(mpi_err, msg, &len);
        fprintf(
            stderr,
            "adx: MPI one-sided window unavailable (MPI_Win_allocate: %s); the work counter falls back to "
            "point-to-point messages served by rank 0\n",
            msg);
        fflush(stderr);
      }
    }
  }
  if (d->kind == ADX_COUNTER_WINDOW) {
    if (d->rank == 0) {
      MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, d->win);
      d->counters[0] = d->counters[1] = 0;
      MPI_Win_unlock(0, d->win);
    }
  } else if (MPI_Comm_dup(comm, &d->pcomm) != MPI_SUCCESS) {
    free(d);
    return adx_fail(err, ADX_ERR_RUNTIME, "MPI_Comm_dup failed for the work counter");
  }
  /* Static: contiguous blocks, as even as possible. */
  int64_t q = ntasks / d->size, r = ntasks % d->size;
  d->static_next = d->rank * q + (d->rank < r ? d->rank : r);
  d->static_end = d->static_next + q + (d->rank < r ? 1 : 0);
  MPI_Barrier(comm); /* the counter is initialised before anyone draws */
  *out = d;
  return ADX_OK;
}

adx_counter_kind adx_dist_counter(const adx_dist *d) { return d->kind; }

static int p2p_next(adx_dist *d, int64_t *start, int64_t *end) {
  if (d->rank == 0) {
    p2p_serve(d, 0);
    int64_t g[2];
    p2p_take(d, g);
    if (g[0] >= g[1]) return 0;
    *start = g[0];
    *end = g[1];
    return 1;
  }
  if (d->exhausted) return 0;
  if (d->grant_req == MPI_REQUEST_NULL) p2p_request(d);
  MPI_Wait(&d->grant_req, MPI_STATUS_IGNORE);
  if (d->grant[0] >= d->grant[1]) {
    d->exhausted = 1;
    return 0;
  }
  *start = d->grant[0];
  *end = d->grant[1];
  /* Ask for the next chunk now: rank 0 answers between its own images, while this rank computes. Every
   * request goes out before the DONE messages of the chunk in hand, so once rank 0 has counted every item
   * done it has also answered every request. */
  p2p_request(d);
  return 1;
}

int adx_dist_next(adx_dist *d, int64_t *start, int64_t *end) {
  int64_t s;
  if (d->sched == ADX_SCHEDULE_STATIC) {
    if (d->kind == ADX_COUNTER_P2P && d->rank == 0) p2p_serve(d, 0);
    s = d->static_next;
    if (s >= d->static_end) return 0;
    *start = s;
    *end = s + d->chunk < d->static_end ? s + d->chunk : d->static_end;
    d->static_next = *end;
    return 1;
  }
  if (d->kind == ADX_COUNTER_P2P) return p2p_next(d, start, end);
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
  if (d->kind == ADX_COUNTER_P2P) {
    if (d->rank == 0) {
      d->done_all += n;
      p2p_serve(d, 0);
    } else {
      /* 8 bytes: sent eagerly over every transport, so this does not wait for rank 0 */
      MPI_Send(&n, 1, MPI_INT64_T, 0, TAG_DONE, d->pcomm);
    }
    return;
  }
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, d->win);
  MPI_Fetch_and_op(&n, &old, MPI_INT64_T, 0, 1, MPI_SUM, d->win);
  MPI_Win_unlock(0, d->win);
}

int64_t adx_dist_done(adx_dist *d) {
  if (d->kind == ADX_COUNTER_P2P) {
    if (d->rank != 0) return d->done_local;
    p2p_serve(d, 0);
    return d->done_all;
  }
  int64_t zero = 0, v;
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, d->win);
  MPI_Fetch_and_op(&zero, &v, MPI_INT64_T, 0, 1, MPI_NO_OP, d->win);
  MPI_Win_unlock(0, d->win);
  return v;
}

void adx_dist_free(adx_dist *d) {
  if (!d) return;
  if (d->kind == ADX_COUNTER_P2P) {
    /* Nothing may stay unreceived: the other ranks collect their pending answer and say goodbye; rank 0
     * answers (with "no more work") until it has heard every goodbye. Messages from one rank arrive in
     * order, so every DONE has been counted by then. */
    if (d->rank == 0) {
      d->next = d->ntasks;
      while (d->fins < d->size - 1) p2p_serve(d, 1);
    } else {
      if (d->grant_req != MPI_REQUEST_NULL) MPI_Wait(&d->grant_req, MPI_STATUS_IGNORE);
      int64_t zero = 0;
      MPI_Send(&zero, 1, MPI_INT64_T, 0, TAG_FIN, d->pcomm);
    }
    MPI_Comm_free(&d->pcomm);
  } else {
    MPI_Win_free(&d->win);
  }
  free(d);
}
