/* Progress reports: images done/total, images/s and ETA. */
#include <string.h>
#include <unistd.h>

#include "adx/dist.h"

int adx_progress_parse(const char *s, adx_progress_style *out) {
  static const char *const names[] = {"auto", "bar", "lines", "off"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, names[i])) {
      *out = (adx_progress_style)i;
      return 0;
    }
  return -1;
}

void adx_progress_init(adx_progress *p, FILE *f, adx_progress_style style, int64_t total,
                       int64_t start_done) {
  memset(p, 0, sizeof *p);
  p->f = f;
  if (style == ADX_PROGRESS_AUTO) style = isatty(fileno(f)) ? ADX_PROGRESS_BAR : ADX_PROGRESS_LINES;
  p->style = style;
  p->total = total;
  p->start_done = start_done;
  p->t0 = p->last_print = adx_now();
  p->interval = style == ADX_PROGRESS_BAR ? 0.2 : 10.0; /* batch logs: a line every 10 s */
}

static void fmt_eta(double s, char *buf, size_t len) {
  if (!(s >= 0) || s > 1e8) {
    snprintf(buf, len, "--:--");
    return;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, len, "%02ld:%02ld", t / 60, t % 60);
}

void adx_progress_update(adx_progress *p, int64_t done, int force) {
  if (p->style == ADX_PROGRESS_OFF) return;
  double now = adx_now();
  if (!force && now - p->last_print < p->interval) return;
  p->last_print = now;
  double el = now - p->t0, rate = el > 0 ? (double)(done - p->start_done) / el : 0;
  double eta = rate > 0 ? (double)(p->total - done) / rate : -1;
  char e[32];
  fmt_eta(eta, e, sizeof e);
  double frac = p->total > 0 ? (double)done / (double)p->total : 1;
  if (p->style == ADX_PROGRESS_BAR) {
    char bar[31];
    int fillw = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fillw ? '#' : '.';
    bar[30] = 0;
    fprintf(p->f, "\radx: [%s] %lld/%lld images  %.2f img/s  ETA %s ", bar, (long long)done,
            (long long)p->total, rate, e);
    p->printed_bar = 1;
  } else {
    fprintf(p->f, "adx: progress %lld/%lld images (%.1f%%)  %.2f img/s  ETA %s\n", (long long)done,
            (long long)p->total, 100 * frac, rate, e);
  }
  fflush(p->f);
}

void adx_progress_end(adx_progress *p, int64_t done) {
  if (p->style == ADX_PROGRESS_OFF) return;
  adx_progress_update(p, done, 1);
  if (p->printed_bar) fputc('\n', p->f);
  double el = adx_now() - p->t0;
  fprintf(p->f, "adx: %lld images in %.1f s\n", (long long)(done - p->start_done), el);
  fflush(p->f);
}
