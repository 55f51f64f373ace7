#!/usr/bin/env bash
# Paths: the results file is created exactly at -o (plus its transient PATH.creating sibling, gone after),
# nothing is created anywhere else, and names that come from the data -- class folder names, image file
# names -- never become paths. The dataset is an ImageFolder whose names try to escape: "..evil",
# "..%2F..%2Fescape", "a\\b", names with newlines, a class folder that is a symlink to a directory outside
# the dataset (not followed, per docs), an image symlink to a file outside (read, never written).
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
ADX=${ADX:-bin/adx}
case $ADX in /*) ;; *) ADX=$ROOT/$ADX ;; esac
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
img=$ROOT/tests/data/img/fashion_0.png
d=$t/data/deep/ds
L=$(mktemp -d) # logs, outside the watched tree
trap 'rm -rf "$t" "$L"' EXIT
e="$d/e..%2F..%2Fescape"
mkdir -p "$d/..evil" "$e" "$d/a\\b" "$d/new
line" "$t/outside_class" "$t/out" "$t/cwd"
cp "$img" "$d/..evil/x.png"                       # a class folder starting with '.': hidden, skipped
cp "$img" "$e/x.png"                              # 1
cp "$img" "$e/..%2F..%2F..%2Fpwned.png"           # a file starting with '.': hidden, skipped
cp "$img" "$e/p..%2F..%2F..%2Fpwned.png"          # 2
cp "$img" "$d/a\\b/y..\\..\\y.PNG"                 # 3
cp "$img" "$d/new
line/z
.png"                                             # 4
cp "$img" "$t/outside_class/o.png"
ln -s ../../../outside_class "$d/zz_symlink_class" # a symlinked class folder: not followed
cp "$img" "$t/outside.png"
ln -s "$t/outside.png" "$e/link.png"              # 5: an image symlink to a regular file is read
touch "$t/marker"
sleep 1
common=(--model "$ROOT/tests/data/fashion_resnet.onnx" --data "$d" --scale 1/255 --iters 2 --modes ad,fill:zero
  --k-colour 2 --k-context 2 --backgrounds 4 --auc-steps 4 --progress off)
(cd "$t/cwd" && timeout -k 10 120 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" -o "$t/out/r.h5") >"$L/run.log" 2>&1
code=$?
[ "$code" -eq 0 ] && ok "explain over names that try to escape: exit 0" || { bad "explain exit $code"; tail "$L/run.log"; }
# 5 images (docs: hidden names skipped, symlinked class folders not followed, image symlinks read)
n=$(/usr/bin/python3 -c 'import h5py,sys; print(int(h5py.File(sys.argv[1],"r").attrs["n"]))' "$t/out/r.h5" 2>/dev/null)
[ "$n" = 5 ] && ok "5 images taken, as the ImageFolder rules say" || bad "n = $n, want 5"
created=$(find "$t" -newer "$t/marker" ! -type d | sort)
[ "$created" = "$t/out/r.h5" ] && ok "only $t/out/r.h5 was created" || { bad "files created: $created"; }
[ -z "$(ls -A "$t/cwd")" ] && ok "nothing written in the working directory" || bad "cwd: $(ls -A "$t/cwd")"
cmp -s "$img" "$t/outside.png" && cmp -s "$img" "$t/outside_class/o.png" && ok "files outside the dataset unchanged" || bad "outside files changed"
# -o in a directory that does not exist: refused, no directory is made
(cd "$t/cwd" && timeout -k 10 60 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" -o "$t/missing/dir/r.h5") >"$L/miss.log" 2>&1
code=$?
[ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [ ! -e "$t/missing" ] && ok "-o under a missing directory: exit $code, nothing created: $(grep -m1 missing "$L/miss.log" | cut -c1-150)" ||
  { bad "-o under a missing directory: exit $code"; tail -3 "$L/miss.log"; }
# a relative -o is relative to the working directory, exactly
(cd "$t/cwd" && timeout 120 "$ADX" explain "${common[@]}" --limit 1 -o rel.h5) >"$L/rel.log" 2>&1
[ -f "$t/cwd/rel.h5" ] && [ "$(ls -A "$t/cwd")" = rel.h5 ] && ok "relative -o created in the working directory only" || { bad "relative -o: $(ls -A "$t/cwd")"; tail -3 "$L/rel.log"; }
finish
