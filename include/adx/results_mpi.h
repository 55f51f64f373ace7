/* adx results store, the calls that take an MPI communicator: creating a results file and reopening one to
 * complete it, which give the writable handle of adx/results.h (docs/output-format.md). Used by the audit
 * and by programs that write results files themselves; readers need only adx/results.h.
 *
 * comm may be MPI_COMM_NULL: then no MPI call is made and the file is written with HDF5's serial driver
 * (one process). */
#ifndef ADX_RESULTS_MPI_H
#define ADX_RESULTS_MPI_H

#include <mpi.h>

#include "adx/results.h"

/* Create PATH for a new run (collective over comm). An existing PATH is refused unless force:
 *   ADX_ERR_ARG "PATH exists (finished run); use --force to overwrite"
 *   ADX_ERR_ARG "PATH exists (unfinished run); use --resume to complete it or --force to overwrite".
 * The file is built by rank 0 as PATH.creating and renamed into place once complete, so PATH never holds
 * a half-created file. */
adx_status adx_results_create(const char *path, const adx_run_info *run, MPI_Comm comm, int force,
                              adx_results **out, adx_error *err);

/* Reopen PATH to complete it (collective). Its attributes must match run (model sha256, config text,
 * modes, explainer, seed, N, H, W, classes, k values), else ADX_ERR_ARG naming the first difference.
 * A finished file is refused unless force. A missing PATH is created as by adx_results_create.
 * *todo (adx_alloc'ed, free with adx_free; NULL when empty) gets the slots whose done flag is 0, in
 * increasing order, identically on every rank. */
adx_status adx_results_open_resume(const char *path, const adx_run_info *run, MPI_Comm comm, int force,
                                   adx_results **out, int64_t **todo, int64_t *ntodo, adx_error *err);

#endif
