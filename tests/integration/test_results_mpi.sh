#!/usr/bin/env bash
# Results store under MPI: the unit test binary under 2 ranks (ranks write disjoint images of one file);
# the file it leaves read by h5dump and by h5py (values checked against the generator's formulas, the
# statistics against numpy and scipy's t quantile); h5repack compression; and SIGKILL of one rank of a
# 2-rank job (after a chosen image, and at a moment chosen from outside) followed by resume to a file
# equal to an uninterrupted run's. Needs python3-h5py. Run from the repo root.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
T=${ADX_RESULTS_TEST:-build/release/tests/io/test_results}
PY=/usr/bin/python3
export OMP_NUM_THREADS=1
MPIRUN=(timeout -k 10 300 mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$T" ]; then make -s "$T" >/dev/null || { echo "cannot build $T"; exit 1; }; fi

# 1. every unit test under 2 ranks, keeping the files
if ADX_RESULTS_TEST_DIR="$tmp/keep" "${MPIRUN[@]}" "$T" >"$tmp/unit.log" 2>&1 &&
  [ "$(grep -c '^\[  PASSED  \]' "$tmp/unit.log")" -eq 2 ] && ! grep -q '^\[  FAILED  \]' "$tmp/unit.log"; then
  ok "unit tests under mpirun -np 2"
else
  bad "unit tests under mpirun -np 2"
  tail -30 "$tmp/unit.log"
fi
F=$tmp/keep/full.h5

# 2. h5dump reads the schema, mode names with ':' and the escaped '/'
if h5dump -H "$F" >"$tmp/dump.txt" 2>&1 && grep -q 'GROUP "fill:zero"' "$tmp/dump.txt" &&
  grep -q 'GROUP "fill:a%2Fb"' "$tmp/dump.txt" && grep -q 'DATASET "responsibility"' "$tmp/dump.txt" &&
  grep -q 'ATTRIBUTE "model_sha256"' "$tmp/dump.txt" && grep -q 'GROUP "ad_vs_fill:zero"' "$tmp/dump.txt" &&
  h5dump -d "/modes/fill:zero/size" "$F" >/dev/null 2>&1; then
  ok "h5dump -H"
else
  bad "h5dump -H"
  head -40 "$tmp/dump.txt"
fi

# 3. h5py: data against the generator of tests/io/test_results.c, statistics against numpy/scipy
cat >"$tmp/check.py" <<'EOF'
import sys
import h5py
import numpy as np

try:
    from scipy import stats
    T975_11 = stats.t.ppf(0.975, 11)
except ImportError:  # scipy is optional: the same quantile, t(0.975, 11 dof), from scipy 1.10
    T975_11 = 2.200985160082949

path = sys.argv[1]
packed = len(sys.argv) > 2  # after h5repack: compressed chunks
with h5py.File(path, "r") as f:
    a = f.attrs
    modes = [str(m) for m in a["modes"]]
    assert modes == ["ad", "fill:zero", "fill:a/b"], modes
    assert int(a["finished"]) == 1 and a["model_sha256"].startswith("ab12") and a["explainer"] == "rex"
    assert a["config"].startswith("[run]\nseed = 7") and int(a["seed"]) == 7 and int(a["ranks"]) == 2
    N, H, W, C = int(a["n"]), int(a["height"]), int(a["width"]), int(a["nclasses"])
    assert (N, H, W, C) == (12, 6, 5, 3)
    s = np.arange(N)
    img = f["images"]
    assert img["done"][:].tolist() == [1] * N
    assert (img["index"][:] == 100 + 3 * s).all()
    label = np.where(s % 4 == 3, -1, s % 3)
    pred = (s * 7) % 3
    assert (img["label"][:] == label).all() and (img["pred"][:] == pred).all()
    assert np.allclose(img["conf"][:], 0.5 + s / 100.0, atol=1e-7)
    assert (img["flags"][:] == ((label >= 0) & (pred != label))).all()
    groups = {g.attrs["mode"]: g for g in f["modes"].values()}
    assert sorted(groups) == sorted(modes)
    p = np.arange(H * W)
    k = list(groups["ad"]["robustness_at_k"].attrs["k"])
    assert k == [5, 10, 20, 40], k
    names = ["size", "confidence", "drop_off", "robustness_colour", "robustness_context", "insertion_auc",
             "deletion_auc", "seconds"]
    cols = {}
    for m, mode in enumerate(modes):
        g = groups[mode]
        assert g["responsibility"].chunks == (1, H, W)
        assert packed or g["responsibility"].compression is None
        r = g["responsibility"][:].reshape(N, H * W)
        want = np.sin(s[:, None] * 0.1 + m * 1.3 + p[None, :] * 0.01)
        assert np.abs(r - want).max() < 2e-6, np.abs(r - want).max()
        e = g["explanation"][:].reshape(N, H * W)
        assert (e == ((p[None, :] + s[:, None] + m) % 3 == 0)).all()
        for j, name in enumerate(names):
            v = g[name][:]
            assert (v == ((s * 13 + m * 5 + j * 3) % 17) / 16.0).all(), name
            cols[(mode, name)] = v.astype(np.float64)
        rk = g["robustness_at_k"][:]
        for j in range(4):
            assert (rk[:, j] == ((s + j * 2 + m) % 5) / 4.0).all()
            cols[(mode, "robustness_at_k/k=%d" % k[j])] = rk[:, j].astype(np.float64)
        q = g["queries"][:]
        assert (q == 1000 + s * 10 + m).all()
        cols[(mode, "queries")] = q.astype(np.float64)
    cls = np.where((label >= 0) & (label < C), label, pred)
    t = T975_11  # N - 1 = 11
    for (mode, name), v in cols.items():
        gname = mode.replace("%", "%25").replace("/", "%2F")
        sg = f["summary"][gname][name]
        mean, sd = v.mean(), v.std(ddof=1)
        half = t * sd / np.sqrt(N)
        got = [sg.attrs[x] for x in ("mean", "std", "ci95_low", "ci95_high")]
        assert np.allclose(got, [mean, sd, mean - half, mean + half], rtol=1e-9, atol=1e-12), (mode, name, got)
        assert int(sg.attrs["n"]) == N
        pc = [v[cls == c].mean() for c in range(C)]
        assert np.allclose(sg["per_class"][:], pc, rtol=1e-12), (mode, name)
    from scipy.stats import ttest_rel

    pvals = {}
    for mode in modes[1:]:
        gname = "ad_vs_" + mode.replace("%", "%25").replace("/", "%2F")
        g = f["summary"][gname]
        assert g.attrs["ad_mode"] == "ad" and g.attrs["mode"] == mode
        for name in ("robustness_colour", "robustness_context"):
            x, y = cols[("ad", name)], cols[(mode, name)]
            ma, mf = x.mean(), y.mean()
            cov = np.cov(x, y, ddof=1)  # delta method for the ratio of paired means
            var = (cov[0, 0] / mf**2 - 2 * ma * cov[0, 1] / mf**3 + ma**2 * cov[1, 1] / mf**4) / N
            imp = ma / mf - 1
            half = t * np.sqrt(var)
            at = g[name].attrs
            got = [at[x] for x in ("improvement", "ci95_low", "ci95_high", "mean_ad", "mean_fill")]
            assert np.allclose(got, [imp, imp - half, imp + half, ma, mf], rtol=1e-9, atol=1e-12), (mode, name, got)
            assert int(at["n"]) == N
            d = x - y  # the absolute paired difference, its t interval and the paired t-test (scipy)
            dh = t * d.std(ddof=1) / np.sqrt(N)
            got = [at[x] for x in ("diff", "diff_ci95_low", "diff_ci95_high")]
            assert np.allclose(got, [d.mean(), d.mean() - dh, d.mean() + dh], rtol=1e-9, atol=1e-12), (mode, got)
            pvals[(mode, name)] = (float(ttest_rel(x, y).pvalue), float(at["p_value"]), float(at["p_holm"]))
    # Holm over every AD-vs-fill comparison of the file, by hand: the i-th smallest p times (m - i), running max
    keys = sorted(pvals, key=lambda k: pvals[k][0])
    run = 0.0
    for i, key in enumerate(keys):
        p, got_p, got_holm = pvals[key]
        run = max(run, min(1.0, (len(keys) - i) * p))
        assert abs(got_p - p) < 1e-9 and abs(got_holm - run) < 1e-9, (key, p, got_p, run, got_holm)
print("h5py checks passed")
EOF
if "$PY" "$tmp/check.py" "$F" >"$tmp/py.log" 2>&1; then ok "h5py reads the file; values and statistics match"; else
  bad "h5py check"
  cat "$tmp/py.log"
fi

# 4. the documented post-run compression keeps every value
if h5repack -f /modes/ad/responsibility:GZIP=4 -f /modes/ad/explanation:GZIP=4 "$F" "$tmp/packed.h5" &&
  "$PY" "$tmp/check.py" "$tmp/packed.h5" packed >/dev/null 2>&1 &&
  "$PY" -c "import h5py,sys; assert h5py.File(sys.argv[1])['modes/ad/responsibility'].compression == 'gzip'" \
    "$tmp/packed.h5"; then
  ok "h5repack -f GZIP=4"
else
  bad "h5repack -f GZIP=4"
fi

# 5. one rank of a 2-rank job SIGKILLs itself after its 5th image; the file must hold some but not all
#    images (--complete-check fails otherwise, and on an absent file); resume completes it
kill_seed
mkdir -p "$tmp/k1"
"${MPIRUN[@]}" "$T" --kill-child "$tmp/k1" mpi after:5:1 >"$tmp/k1.log" 2>&1
if partial_or_retry "$tmp/k1/kill.h5" "after rank 1's 5th image" && "$T" --complete-check "$tmp/k1/kill.h5" >"$tmp/c1.log" 2>&1; then
  ok "rank 1 killed after 5 images: $(grep -o '[0-9]* of 40 images were done' "$tmp/c1.log")"
else
  bad "rank 1 killed after 5 images"
  cat "$tmp/k1.log" "$tmp/c1.log" 2>/dev/null | tail -20
fi
# the check itself can fail: no file, nothing to resume
if ! "$T" --complete-check "$tmp/k1/absent.h5" >"$tmp/c0.log" 2>&1 && grep -q "absent" "$tmp/c0.log"; then
  ok "--complete-check fails on an absent file"
else
  bad "--complete-check passed on an absent file"
  cat "$tmp/c0.log"
fi

# 6. SIGKILL of one rank from outside, while the ranks write (50 ms per image, 20 images per rank), at a
#    seeded moment; a kill that leaves no image or every image done is retried with another delay, and
#    the last try is the fallback that cannot miss (300 ms per image, the kill right after the first one)
kill_rank() { # job: SIGKILL the rank running --kill-child; sets $victim
  local pid
  victim=""
  for pid in $(pgrep -P "$1" 2>/dev/null; for c in $(pgrep -P "$1" 2>/dev/null); do pgrep -P "$c"; done); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--kill-child"; then victim=$pid; fi
  done
  [ -n "$victim" ] && kill -KILL "$victim"
}
cut=0
for d in $(seeded_delays 1 0.1 0.8) first; do
  rm -rf "$tmp/k2"
  mkdir -p "$tmp/k2"
  spec=slow
  [ "$d" = first ] && spec=slow:300
  "${MPIRUN[@]}" "$T" --kill-child "$tmp/k2" mpi "$spec" >"$tmp/k2.log" 2>&1 &
  job=$!
  for _ in $(seq 1 300); do [ -f "$tmp/k2/kill.h5" ] && break; sleep 0.02; done
  if [ "$d" = first ]; then
    for _ in $(seq 1 600); do grep -q "^kill child: rank [0-9]* wrote image" "$tmp/k2.log" && break; sleep 0.05; done
  else
    sleep "$d"
  fi
  kill_rank "$job"
  wait "$job"
  if [ -n "$victim" ] && partial_or_retry "$tmp/k2/kill.h5" "kill after $d"; then
    cut=1
    break
  fi
done
if [ "$cut" = 1 ] && "$T" --complete-check "$tmp/k2/kill.h5" >"$tmp/c2.log" 2>&1; then
  ok "a rank killed from outside mid-run after $d: $(grep -o '[0-9]* of 40 images were done' "$tmp/c2.log")"
else
  bad "a rank killed from outside mid-run (cut $cut, victim '${victim}', ADX_KILL_SEED=$ADX_KILL_SEED)"
  cat "$tmp/k2.log" "$tmp/c2.log" 2>/dev/null | tail -20
fi

finish
