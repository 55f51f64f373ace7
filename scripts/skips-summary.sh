#!/usr/bin/env bash
# End of make check: how many allowed skips (tests/allowed-skips.txt) the run took, by kind, from the
# log the runners append to ($ADX_SKIP_LOG, one "KIND ID" per skip taken). Every other skip has already
# failed its runner.
set -u
log=${1:?usage: skips-summary.sh SKIP_LOG}
list=$(cd "$(dirname "$0")/.." && pwd)/tests/allowed-skips.txt
listed=$(grep -cEv '^[[:space:]]*(#|$)' "$list")
if [ ! -s "$log" ]; then
  echo "allowed skips taken: 0 (tests/allowed-skips.txt lists $listed)"
  exit 0
fi
echo "allowed skips taken: $(wc -l <"$log") (tests/allowed-skips.txt lists $listed; no other skip passes make check):"
awk '{ n[$1]++ } END { for (k in n) printf "  %-12s %d\n", k, n[k] }' "$log" | sort
