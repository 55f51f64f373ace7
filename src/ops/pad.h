/* Internal: what AD needs to know of a Pad node. */
#ifndef ADX_OPS_PAD_H
#define ADX_OPS_PAD_H

#include "adx/ir.h"

/* 1 if the (inferred) Pad node pads only H and W of a 4-D value, with a constant (or pads nothing),
 * giving the four amounts; 0 otherwise. */
int adx_pad_spatial(const adx_node *n, int *top, int *left, int *bottom, int *right);

#endif
