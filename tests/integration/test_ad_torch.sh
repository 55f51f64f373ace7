#!/usr/bin/env bash
# AD logits of adx against an independent PyTorch implementation (scripts/ad_reference.py), within 1e-4.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
/usr/bin/python3 scripts/check_ad_torch.py
