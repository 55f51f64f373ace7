/* AD options and mode names. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"

void adx_ad_opts_default(adx_ad_opts *o) {
  o->rule = ADX_RULE_RATIO;
  o->ratio = ADX_AD_DEFAULT_RATIO;
  o->pool = ADX_POOL_ALL;
  o->renorm = ADX_RENORM_NONE;
  o->at = ADX_AT_EVERY;
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

adx_status adx_ad_parse_renorm(const char *s, adx_ad_opts *o, adx_error *err) {
  if (!strcmp(s, "none"))
    o->renorm = ADX_RENORM_NONE;
  else if (!strcmp(s, "partial"))
    o->renorm = ADX_RENORM_PARTIAL;
  else if (!strcmp(s, "leak"))
    o->renorm = ADX_RENORM_LEAK;
  else
    return adx_fail(err, ADX_ERR_ARG, "unknown AD renormalisation '%s' (valid: none, partial, leak)", s);
  return ADX_OK;
}

adx_status adx_ad_parse_at(const char *s, adx_ad_opts *o, adx_error *err) {
  if (!strcmp(s, "every"))
    o->at = ADX_AT_EVERY;
  else if (!strcmp(s, "checkpoints"))
    o->at = ADX_AT_CHECKPOINTS;
  else
    return adx_fail(err, ADX_ERR_ARG, "unknown AD placement '%s' (valid: every, checkpoints)", s);
  return ADX_OK;
}

adx_status adx_ad_opts_from_flags(const char *rule, const char *pool, const char *renorm, const char *at,
                                  adx_ad_opts *o, adx_error *err) {
  adx_ad_opts_default(o);
  adx_status s;
  if (rule && (s = adx_ad_parse_rule(rule, o, err))) return adx_error_prefix(err, "--ad-rule: ");
  if (pool && (s = adx_ad_parse_pool(pool, o, err))) return adx_error_prefix(err, "--ad-pool: ");
  if (renorm && (s = adx_ad_parse_renorm(renorm, o, err))) return adx_error_prefix(err, "--ad-renorm: ");
  if (at && (s = adx_ad_parse_at(at, o, err))) return adx_error_prefix(err, "--ad-at: ");
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

/* "RULE[:POOL[:RENORM[:AT]]]" after "ad:". The rule may itself hold a colon (ratio:T). */
static int parse_variant(const char *v, adx_ad_opts *o) {
  char buf[ADX_AD_VARIANT_MAX];
  if (strlen(v) >= sizeof buf) return -1;
  snprintf(buf, sizeof buf, "%s", v);
  char *part[6];
  int n = 0;
  for (char *p = buf, *q; n < 6; p = q + 1) {
    part[n++] = p;
    if (!(q = strchr(p, ':'))) break;
    *q = 0;
  }
  int k = 0;
  if (!strcmp(part[0], "ratio") && n > 1 && part[1][0] &&
      (isdigit((unsigned char)part[1][0]) || part[1][0] == '.')) {
    char rule[32];
    snprintf(rule, sizeof rule, "ratio:%s", part[1]);
    if (adx_ad_parse_rule(rule, o, NULL)) return -1;
    k = 2;
  } else {
    if (adx_ad_parse_rule(part[0], o, NULL)) return -1;
    k = 1;
  }
  if (k < n && adx_ad_parse_pool(part[k++], o, NULL)) return -1;
  if (k < n && adx_ad_parse_renorm(part[k++], o, NULL)) return -1;
  if (k < n && adx_ad_parse_at(part[k++], o, NULL)) return -1;
  return k == n ? 0 : -1;
}

adx_status adx_mode_parse_with(const char *s, const adx_ad_opts *bare, adx_mode *m, adx_error *err) {
  memset(m, 0, sizeof *m);
  adx_ad_opts_default(&m->ad);
  if (!strcmp(s, "plain")) {
    m->kind = ADX_MODE_PLAIN;
    return ADX_OK;
  }
  if (!strcmp(s, "ad")) {
    m->kind = ADX_MODE_AD;
    if (bare) m->ad = *bare;
    return ADX_OK;
  }
  if (!strncmp(s, "ad:", 3)) {
    m->kind = ADX_MODE_AD;
    if (!parse_variant(s + 3, &m->ad)) return ADX_OK;
    return adx_fail(err, ADX_ERR_ARG, "malformed AD mode '%s' (valid: %s)", s, ADX_MODE_FORMS);
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
  return adx_fail(err, ADX_ERR_ARG, "unknown mode '%s' (valid: %s)", s, ADX_MODE_FORMS);
}

adx_status adx_mode_parse(const char *s, adx_mode *m, adx_error *err) {
  return adx_mode_parse_with(s, NULL, m, err);
}

adx_status adx_mode_parse_legacy(const char *s, adx_mode *m, adx_error *err) {
  adx_status st = adx_mode_parse_with(s, NULL, m, err);
  if (!st && m->kind == ADX_MODE_AD) m->ad.renorm = ADX_RENORM_LEAK;
  return st;
}

int adx_mode_name_is_ad(const char *name) { return !strcmp(name, "ad") || !strncmp(name, "ad:", 3); }

const char *adx_ad_variant_str(const adx_ad_opts *o, char *buf, size_t len) {
  static const char *const renorm[] = {"none", "partial", "leak"};
  char r[32];
  snprintf(buf, len, "ad:%s:%s:%s:%s", adx_ad_rule_str(o, r, sizeof r),
           o->pool == ADX_POOL_ACTIVE ? "active" : "all", renorm[o->renorm],
           o->at == ADX_AT_CHECKPOINTS ? "checkpoints" : "every");
  return buf;
}

const char *adx_mode_str(const adx_mode *m, char *buf, size_t len) {
  if (m->kind == ADX_MODE_PLAIN)
    snprintf(buf, len, "plain");
  else if (m->kind == ADX_MODE_AD) {
    adx_ad_variant_str(&m->ad, buf, len);
  } else if (m->fill == ADX_FILL_VALUE)
    snprintf(buf, len, "fill:%g", (double)m->value);
  else
    snprintf(buf, len, "fill:%s", fill_names[m->fill]);
  return buf;
}
