#!/usr/bin/env bash
# AD's properties A1 (identity), A2 (isolation, every variant), A4 (totality), A5 (symmetry) and "small
# boxes count", end to end through `adx predict`, on models with random weights made by the script
# (none is in the repository): scripts/check_ad_properties.py.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
/usr/bin/python3 scripts/check_ad_properties.py
