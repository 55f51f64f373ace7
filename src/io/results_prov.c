/* Provenance of a run: where its ranks ran and what CPU the binary was built for. Root attributes, both
 * fixed-length strings created with the file (so that finish overwrites them in place, allocating
 * nothing):
 *   build_cpu  adx_build_cpu_features() of the binary ("x86-64 ssse3 ... avx2 fma ...");
 *   hosts      one line per host, "HOST: RANKS" with RANKS as ranges ("node1: 0-15,32"), of the session
 *              that last finished (like wall_seconds); empty until a finish. */
#include <stdlib.h>
#include <string.h>

#include "results_internal.h"

/* "HOST: a-b,c\n" lines from names[size][MPI_MAX_PROCESSOR_NAME], hosts in order of their first rank. */
static void host_lines(char *names, int size, char *out, size_t cap) {
  size_t k = 0;
  out[0] = '\0';
  char *used = calloc((size_t)size, 1);
  if (!used) return;
  for (int i = 0; i < size && k < cap; i++) {
    if (used[i]) continue;
    const char *h = names + (size_t)i * MPI_MAX_PROCESSOR_NAME;
    k += (size_t)snprintf(out + k, cap - k, "%s:", h);
    int first = 1;
    for (int j = i; j < size && k < cap; j++) {
      if (used[j] || strcmp(h, names + (size_t)j * MPI_MAX_PROCESSOR_NAME)) continue;
      int e = j;
      while (e + 1 < size && !used[e + 1] && !strcmp(h, names + (size_t)(e + 1) * MPI_MAX_PROCESSOR_NAME))
        e++;
      for (int q = j; q <= e; q++) used[q] = 1;
      if (e > j)
        k += (size_t)snprintf(out + k, cap - k, "%s%d-%d", first ? " " : ",", j, e);
      else
        k += (size_t)snprintf(out + k, cap - k, "%s%d", first ? " " : ",", j);
      first = 0;
      j = e;
    }
    if (k < cap) k += (size_t)snprintf(out + k, cap - k, "\n");
  }
  if (k >= cap && cap > 4) memcpy(out + cap - 5, "...\n", 5); /* too many hosts for the attribute */
  free(used);
}

adx_status adx_results_record_hosts(adx_results *r, adx_error *err) {
  if (!r) return adx_fail(err, ADX_ERR_ARG, "results: no file");
  char name[MPI_MAX_PROCESSOR_NAME] = {0};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  int size = r->comm != MPI_COMM_NULL ? r->size : 1;
  char *all = NULL;
  if (r->rank == 0 && !(all = calloc((size_t)size, MPI_MAX_PROCESSOR_NAME)))
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d host names", size);
  if (r->comm != MPI_COMM_NULL)
    MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, r->comm);
  else
    memcpy(all, name, MPI_MAX_PROCESSOR_NAME);
  if (r->rank != 0) return ADX_OK;
  for (int i = 0; i < size; i++) all[(size_t)i * MPI_MAX_PROCESSOR_NAME + MPI_MAX_PROCESSOR_NAME - 1] = '\0';
  char *text = calloc(1, ADX_RESULTS_HOSTS_LEN);
  if (!text) {
    free(all);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d host names", size);
  }
  host_lines(all, size, text, ADX_RESULTS_HOSTS_LEN);
  free(all);
  free(r->hosts);
  r->hosts = text;
  return ADX_OK;
}

static adx_status put_fixed(adx_results *r, const char *name, const char *v, size_t len, adx_error *err) {
  if (H5Aexists(r->file, name) <= 0) return ADX_OK; /* a file made before provenance was recorded */
  char *buf = calloc(1, len);
  if (!buf) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", r->path);
  strncpy(buf, v, len - 1);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, len);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  adx_status s = adx_results_attr_write(r->file, name, t, buf, r->path, err);
  H5Tclose(t);
  free(buf);
  return s;
}

adx_status adx_results_write_provenance(adx_results *r, adx_error *err) {
  char feat[ADX_RESULTS_BUILD_LEN] = {0};
  adx_build_cpu_features(feat, sizeof feat);
  adx_status s = put_fixed(r, "build_cpu", feat, ADX_RESULTS_BUILD_LEN, err);
  if (!s && r->hosts) s = put_fixed(r, "hosts", r->hosts, ADX_RESULTS_HOSTS_LEN, err);
  return s;
}
