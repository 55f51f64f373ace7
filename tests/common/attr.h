/* Node attribute builders for tests that assemble graphs by hand. Each returns an owned attribute
 * (name and payload malloc'd), freed with the node by adx_graph_free. */
#ifndef ADX_TEST_ATTR_H
#define ADX_TEST_ATTR_H

#include <stdint.h>

#include "adx/ir.h"

adx_attr tu_attr_ints(const char *name, int n, const int64_t *v);
adx_attr tu_attr_int(const char *name, int64_t v);
adx_attr tu_attr_float(const char *name, float v);
adx_attr tu_attr_str(const char *name, const char *s);

#endif
