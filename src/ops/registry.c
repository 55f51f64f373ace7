/* Operator registry: ONNX op_type -> adx_op, the operator set the IR declares (adx/ir.h). One line per
 * operator in ops.h. */
#include <string.h>

#include "ops.h"

#define ADX_OP_ENTRY(onnx, sym) &adx_op_##sym,
static const adx_op *const registry[] = {ADX_OP_LIST(ADX_OP_ENTRY)};
#undef ADX_OP_ENTRY

#define ADX_OP_NAME(onnx, sym) #onnx,
static const char *const all_names[] = {ADX_OP_LIST(ADX_OP_NAME) NULL};
#undef ADX_OP_NAME

const adx_op *adx_op_find(const char *op_type) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (!strcmp(registry[i]->name, op_type)) return registry[i];
  return NULL;
}

const char *const *adx_op_names(void) { return all_names; }
