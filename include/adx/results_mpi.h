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
 * a half-created file.
 * One writer per file: rank 0 first takes an fcntl lock on PATH.lock and the handle holds it until
 * adx_results_close, which removes PATH.lock. While another process holds it, create and open_resume
 * (force or not) are refused before PATH is looked at, on every rank:
 *   ADX_ERR_ARG "PATH is in use by another adx job (host H, pid P, since T; lock file PATH.lock); wait
 *   for it to end or write to another file".
 * A PATH.lock left by a killed process is not locked and blocks nothing. The lock is per process (two
 * handles of one process on one PATH do not exclude each other). ADX_NO_LOCK=1 in the environment skips
 * it (file systems without locks; docs/cluster.md#one-writer-per-results-file). */
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
