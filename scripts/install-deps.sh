#!/usr/bin/env bash
# Install every Debian package that adx needs to build, test and run its demo.
# Idempotent: packages already present are skipped, and apt-get runs only if something is missing.
# Usage: scripts/install-deps.sh [--with-python] [--with-report-test] [--with-slurm] [--with-fuzz]
set -euo pipefail

pkgs=(
  build-essential pkg-config make
  openmpi-bin libopenmpi-dev
  libopenblas-dev libdnnl-dev
  libhdf5-openmpi-dev hdf5-tools
  libcmocka-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  libpng-dev libjpeg62-turbo-dev
  libinih-dev
  zlib1g-dev
  dataset-fashion-mnist
  libonnx-testdata
  valgrind
  python3 python3-numpy python3-scipy python3-torch python3-torchvision python3-onnx python3-h5py
)
for arg in "$@"; do
  case "$arg" in
    --with-python) pkgs+=(python3-h5py python3-matplotlib python3-skimage python3-torchvision) ;;
    --with-report-test) pkgs+=(chromium) ;;
    --with-slurm) pkgs+=(slurm-wlm slurmctld slurmd slurm-client munge iproute2) ;; # iproute2: test_two_nodes
    --with-fuzz) pkgs+=(clang-14 libclang-rt-14-dev libomp-14-dev) ;; # make fuzz: libFuzzer, ASan, OpenMP
    *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
