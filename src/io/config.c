/* INI configuration files, parsed by libinih and kept as (section, key, value, line) entries.
 * We feed libinih through our own line reader so we know the line of every key and can refuse
 * lines that libinih would otherwise silently cut at its fixed line length. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "adx/io.h"

typedef struct parse_state {
  adx_config *cfg;
  const char *name;
  const char *p, *end; /* unread text */
  int line;            /* physical line last handed to libinih */
  int too_long;        /* line number of the first over-long line */
  int fail_line;       /* line of the first error raised by our handler */
  adx_status fail;
  adx_error *err;
} parse_state;

static char *read_line(char *str, int num, void *stream) {
  parse_state *st = stream;
  if (st->p >= st->end || st->too_long) return NULL;
  const char *nl = memchr(st->p, '\n', (size_t)(st->end - st->p));
  size_t n = nl ? (size_t)(nl - st->p) + 1 : (size_t)(st->end - st->p);
  st->line++;
  if (n + 2 > (size_t)num) { /* libinih needs room for '\n' and '\0' */
    st->too_long = st->line;
    return NULL;
  }
  memcpy(str, st->p, n);
  str[n] = '\0';
  st->p += n;
  return str;
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static int on_entry(void *user, const char *section, const char *key, const char *value) {
  parse_state *st = user;
  adx_config *cfg = st->cfg;
  if (st->fail) return 0;
  const adx_config_entry *dup = adx_config_find(cfg, section, key);
  if (dup) {
    st->fail_line = st->line;
    st->fail = adx_fail(st->err, ADX_ERR_FORMAT, "%s:%d: duplicate key '%s' in [%s] (first set on line %d)",
                        st->name, st->line, key, section, dup->line);
    return 0;
  }
  if (cfg->n == cfg->cap) {
    int cap = cfg->cap ? 2 * cfg->cap : 16;
    adx_config_entry *e = realloc(cfg->entries, sizeof *e * (size_t)cap);
    if (!e) goto nomem;
    cfg->entries = e;
    cfg->cap = cap;
  }
  adx_config_entry *e = &cfg->entries[cfg->n];
  e->section = dupstr(section);
  e->key = dupstr(key);
  e->value = dupstr(value ? value : "");
  e->line = st->line;
  if (!e->section || !e->key || !e->value) {
    free(e->section), free(e->key), free(e->value);
    goto nomem;
  }
  cfg->n++;
  return 1;
nomem:
  st->fail_line = st->line;
  st->fail = adx_fail(st->err, ADX_ERR_NOMEM, "%s:%d: out of memory", st->name, st->line);
  return 0;
}

void adx_config_free(adx_config *cfg) {
  if (!cfg) return;
  for (int i = 0; i < cfg->n; i++) {
    free(cfg->entries[i].section);
    free(cfg->entries[i].key);
    free(cfg->entries[i].value);
  }
  free(cfg->entries);
  free(cfg->path);
  memset(cfg, 0, sizeof *cfg);
}

static adx_status parse_buf(const char *text, size_t len, const char *name, adx_config *cfg, adx_error *err) {
  memset(cfg, 0, sizeof *cfg);
  if (!name) name = "<config>";
  cfg->path = dupstr(name);
  if (!cfg->path) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", name);
  if (memchr(text, '\0', len)) {
    adx_config_free(cfg);
    return adx_fail(err, ADX_ERR_FORMAT, "%s: contains NUL bytes, not a text INI file", name);
  }
  parse_state st = {.cfg = cfg, .name = name, .p = text, .end = text + len, .err = err};
  int rc = ini_parse_stream(read_line, &st, on_entry, &st);
  adx_status s = ADX_OK;
  if (rc == -2)
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", name);
  else if (rc < 0)
    s = adx_fail(err, ADX_ERR_IO, "%s: cannot read", name);
  else if (rc > 0 && (!st.fail || rc < st.fail_line))
    s = adx_fail(err, ADX_ERR_FORMAT, "%s:%d: syntax error (expected [section], key = value or a comment)",
                 name, rc);
  else if (st.fail)
    s = st.fail;
  else if (st.too_long)
    s = adx_fail(err, ADX_ERR_FORMAT, "%s:%d: line too long", name, st.too_long);
  if (s) adx_config_free(cfg);
  return s;
}

adx_status adx_config_parse(const char *text, const char *name, adx_config *cfg, adx_error *err) {
  return parse_buf(text, strlen(text), name, cfg, err);
}

adx_status adx_config_load(const char *path, adx_config *cfg, adx_error *err) {
  memset(cfg, 0, sizeof *cfg);
  uint8_t *buf;
  size_t len;
  adx_status s = adx_file_read(path, ADX_CONFIG_MAX_BYTES, &buf, &len, err);
  if (s) return s;
  s = parse_buf((const char *)buf, len, path, cfg, err);
  free(buf);
  return s;
}

const adx_config_entry *adx_config_find(const adx_config *cfg, const char *section, const char *key) {
  for (int i = 0; i < cfg->n; i++)
    if (!strcmp(cfg->entries[i].section, section) && !strcmp(cfg->entries[i].key, key))
      return &cfg->entries[i];
  return NULL;
}

const char *adx_config_get(const adx_config *cfg, const char *section, const char *key) {
  const adx_config_entry *e = adx_config_find(cfg, section, key);
  return e ? e->value : NULL;
}

/* Keys are compared with '_' and '-' taken as the same character (max_image_pixels = max-image-pixels). */
static int key_equal(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (*a != *b && !((*a == '_' || *a == '-') && (*b == '_' || *b == '-'))) return 0;
  return *a == *b;
}

adx_status adx_config_check_keys(const adx_config *cfg, const char *section, const char *const *known,
                                 adx_error *err) {
  for (int i = 0; i < cfg->n; i++) {
    const adx_config_entry *e = &cfg->entries[i];
    if (strcmp(e->section, section)) continue;
    int ok = 0;
    for (const char *const *k = known; *k && !ok; k++) ok = key_equal(*k, e->key);
    if (ok) continue;
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (const char *const *k = known; *k && n < sizeof list; k++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k == known ? "" : ", ", *k);
    return adx_fail(err, ADX_ERR_ARG, "%s:%d: unknown key '%s' in [%s] (known: %s)", cfg->path, e->line,
                    e->key, e->section, known[0] ? list : "none");
  }
  return ADX_OK;
}

adx_status adx_config_check_sections(const adx_config *cfg, const char *const *known, adx_error *err) {
  for (int i = 0; i < cfg->n; i++) {
    const adx_config_entry *e = &cfg->entries[i];
    int ok = 0;
    for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, e->section);
    if (ok) continue;
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (const char *const *k = known; *k && n < sizeof list; k++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s[%s]", k == known ? "" : ", ", *k);
    return adx_fail(err, ADX_ERR_ARG, "%s:%d: unknown section [%s] (known: %s)", cfg->path, e->line,
                    e->section, known[0] ? list : "none");
  }
  return ADX_OK;
}

adx_status adx_config_apply_preprocess(const adx_config *cfg, adx_preproc *p, adx_error *err) {
  for (int i = 0; i < cfg->n; i++) {
    const adx_config_entry *e = &cfg->entries[i];
    if (strcmp(e->section, "preprocess")) continue;
    adx_status s = adx_preproc_set(p, e->key, e->value, err);
    if (s) return adx_error_prefix(err, "%s:%d: ", cfg->path, e->line);
  }
  return ADX_OK;
}
