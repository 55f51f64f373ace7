#!/usr/bin/env bash
# AD logits of adx against an independent PyTorch implementation (scripts/ad_reference.py), within 1e-4:
# the fixture models, a model holding Concat / constant Pad / broadcast Mul / AveragePool on 3 channels,
# and three torchvision families (python3-torchvision, installed by scripts/install-deps.sh, is required).
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
ADX_REQUIRE_TORCHVISION=1 /usr/bin/python3 scripts/check_ad_torch.py
