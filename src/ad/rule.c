/* AD options and mode names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"

void adx_ad_opts_default(adx_ad_opts *o) {
  o->rule = ADX_RULE_RATIO;
  o->ratio = ADX_AD_DEFAULT_RATIO;
  o->pool = ADX_POOL_ALL;
}

static int parse_float(const char *s, float *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end) return -1;
  *out = (float)v;
  return 0;
}

adx_status adx_ad_parse_rule(const char *s, adx_ad_opts *o, adx_error *err) {
  if (!strcmp(s, "strict")) {
    o->rule = ADX_RULE_STRICT;
  } else if (!strcmp(s, "loose")) {
    o->rule = ADX_RULE_LOOSE;
  } else if (!strcmp(s, "ratio")) {
    o->rule = ADX_RULE_RATIO;
    o->ratio = ADX_AD_DEFAULT_RATIO;
  } else if (!strncmp(s, "ratio:", 6)) {
    float t;
    if (parse_float(s + 6, &t) || !(t >= 0 && t < 1))
      return adx_fail(err, ADX_ERR_ARG, "AD rule '%s': the ratio must be a number in [0, 1)", s);
    o->rule = ADX_RULE_RATIO;
    o->ratio = t;
  } else {
    return adx_fail(err, ADX_ERR_ARG, "unknown AD rule '%s' (valid: strict, ratio:T with 0 <= T < 1, loose)",
                    s);
  }
  return ADX_OK;
}

adx_status adx_ad_parse_pool(const char *s, adx_ad_opts *o, adx_error *err) {
  if (!strcmp(s, "active"))
    o->pool = ADX_POOL_ACTIVE;
  else if (!strcmp(s, "all"))
    o->pool = ADX_POOL_ALL;
  else
    return adx_fail(err, ADX_ERR_ARG, "unknown AD pooling '%s' (valid: active, all)", s);
  return ADX_OK;
}

const char *adx_ad_rule_str(const adx_ad_opts *o, char *buf, size_t len) {
  switch (o->rule) {
  case ADX_RULE_STRICT: snprintf(buf, len, "strict"); break;
  case ADX_RULE_LOOSE: snprintf(buf, len, "loose"); break;
  default: snprintf(buf, len, "ratio:%g", (double)o->ratio); break;
  }
  return buf;
}

static const char *const fill_names[] = {"zero", "min", "max", "mean", "blur", "noise"};

adx_status adx_mode_parse(const char *s, adx_mode *m, adx_error *err) {
  memset(m, 0, sizeof *m);
  adx_ad_opts_default(&m->ad);
  if (!strcmp(s, "plain")) {
    m->kind = ADX_MODE_PLAIN;
    return ADX_OK;
  }
  if (!strcmp(s, "ad")) {
    m->kind = ADX_MODE_AD;
    return ADX_OK;
  }
  if (!strncmp(s, "ad:", 3)) { /* ad:RULE[:POOL], e.g. ad:strict, ad:ratio:0.25:active */
    char rule[64];
    snprintf(rule, sizeof rule, "%s", s + 3);
    size_t n = strlen(rule);
    m->kind = ADX_MODE_AD;
    if (n > 4 && !strcmp(rule + n - 4, ":all")) {
      m->ad.pool = ADX_POOL_ALL;
      rule[n - 4] = 0;
    } else if (n > 7 && !strcmp(rule + n - 7, ":active")) {
      m->ad.pool = ADX_POOL_ACTIVE;
      rule[n - 7] = 0;
    }
    if (adx_ad_parse_rule(rule, &m->ad, NULL) == ADX_OK) return ADX_OK;
  }
  if (!strncmp(s, "fill:", 5)) {
    const char *v = s + 5;
    m->kind = ADX_MODE_FILL;
    for (int i = 0; i < (int)(sizeof fill_names / sizeof fill_names[0]); i++)
      if (!strcmp(v, fill_names[i])) {
        m->fill = (adx_fill_kind)i;
        return ADX_OK;
      }
    if (!parse_float(v, &m->value)) {
      m->fill = ADX_FILL_VALUE;
      return ADX_OK;
    }
  }
  return adx_fail(err, ADX_ERR_ARG,
                  "unknown mode '%s' (valid: ad, ad:RULE[:POOL] such as ad:strict:active, plain, fill:zero, "
                  "fill:min, fill:max, fill:mean, fill:blur, "
                  "fill:noise, fill:<number>)",
                  s);
}

const char *adx_mode_str(const adx_mode *m, char *buf, size_t len) {
  if (m->kind == ADX_MODE_PLAIN)
    snprintf(buf, len, "plain");
  else if (m->kind == ADX_MODE_AD) {
    adx_ad_opts d;
    adx_ad_opts_default(&d);
    char r[32];
    if (m->ad.rule == d.rule && m->ad.ratio == d.ratio && m->ad.pool == d.pool)
      snprintf(buf, len, "ad");
    else
      snprintf(buf, len, "ad:%s:%s", adx_ad_rule_str(&m->ad, r, sizeof r),
               m->ad.pool == ADX_POOL_ACTIVE ? "active" : "all");
  } else if (m->fill == ADX_FILL_VALUE)
    snprintf(buf, len, "fill:%g", (double)m->value);
  else
    snprintf(buf, len, "fill:%s", fill_names[m->fill]);
  return buf;
}
