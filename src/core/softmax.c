/* Softmax of one row of logits in double: the one copy shared by the oracle, the metrics and predict. */
#include <math.h>

#include "adx/core.h"

int adx_softmax(const float *logit, int64_t n, double *outd, float *outf) {
  double mx = -INFINITY, sum = 0;
  int bad = 0;
  for (int64_t k = 0; k < n; k++) {
    if (!isfinite(logit[k])) bad = 1;
    if ((double)logit[k] > mx) mx = logit[k];
  }
  for (int64_t k = 0; k < n; k++) sum += exp((double)logit[k] - mx);
  for (int64_t k = 0; k < n; k++) {
    double p = exp((double)logit[k] - mx) / sum;
    if (outd) outd[k] = p;
    if (outf) outf[k] = (float)p;
  }
  return bad ? -1 : 0;
}
