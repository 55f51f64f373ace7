/* adx dist: MPI work distribution and progress reporting for dataset audits (docs/scaling.md).
 * Work items are handed out in chunks by a shared counter (MPI one-sided fetch-and-add on rank 0), so a
 * rank that drew cheap images simply draws more. Where the MPI library cannot create the one-sided window
 * (Open MPI 4.1 over TCP alone), the counter falls back to rank 0 serving chunks by point-to-point
 * messages, and says so on stderr. A static block split is available for comparison. */
#ifndef ADX_DIST_H
#define ADX_DIST_H

#include <mpi.h>
#include <stdio.h>

#include "adx/core.h"

typedef enum adx_schedule { ADX_SCHEDULE_DYNAMIC = 0, ADX_SCHEDULE_STATIC } adx_schedule;

typedef struct adx_dist adx_dist;

/* How the counter is implemented: an MPI window, or messages served by rank 0 (the fallback; also forced
 * by ADX_COUNTER=p2p in rank 0's environment). */
typedef enum adx_counter_kind { ADX_COUNTER_WINDOW = 0, ADX_COUNTER_P2P } adx_counter_kind;
const char *adx_counter_name(adx_counter_kind k);

/* Collective over comm. ntasks items, handed out `chunk` at a time. */
adx_status adx_dist_create(MPI_Comm comm, int64_t ntasks, int64_t chunk, adx_schedule sched, adx_dist **out,
                           adx_error *err);
/* This rank's next chunk [*start, *end); returns 0 when there is no work left. */
int adx_dist_next(adx_dist *d, int64_t *start, int64_t *end);
/* Add n finished items to the global count (cheap, one-sided). */
void adx_dist_add_done(adx_dist *d, int64_t n);
/* The global count of finished items, as last seen (exact on the calling rank's own additions). */
int64_t adx_dist_done(adx_dist *d);
/* Which implementation this run uses (the same on every rank). */
adx_counter_kind adx_dist_counter(const adx_dist *d);
/* Collective: free the window, or (p2p) collect the last messages. Call it as soon as the work loop
 * ends, before any other collective: with the p2p counter a rank waiting for work depends on rank 0
 * calling into this module (next, add_done, done or free) to answer it. */
void adx_dist_free(adx_dist *d);

/* Progress lines: a live bar on a terminal, plain periodic lines otherwise (batch logs). */
typedef enum adx_progress_style {
  ADX_PROGRESS_AUTO = 0,
  ADX_PROGRESS_BAR,
  ADX_PROGRESS_LINES,
  ADX_PROGRESS_OFF
} adx_progress_style;

typedef struct adx_progress {
  FILE *f;
  adx_progress_style style;
  int64_t total, start_done;
  double t0, last_print, interval;
  int printed_bar;
} adx_progress;

/* total items, of which start_done were already done (resume) */
void adx_progress_init(adx_progress *p, FILE *f, adx_progress_style style, int64_t total, int64_t start_done);
/* Print if due (or always when force). done counts start_done too. */
void adx_progress_update(adx_progress *p, int64_t done, int force);
void adx_progress_end(adx_progress *p, int64_t done);
/* "auto", "bar", "lines", "off". */
int adx_progress_parse(const char *s, adx_progress_style *out);

#endif
