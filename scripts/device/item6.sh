#!/usr/bin/env bash
# Issue 23 item 6, the next device session's one call (about 3 minutes). Here, first:
#   bash ../shared/gpu/prepare.sh && cp scripts/device/item6.sh .gpu/ && for v in bcast acc2; do
#     mkdir -p .gpu/var/$v && patch -s -o .gpu/var/$v/subgroup.wgsl shaders/subgroup.wgsl scripts/device/variants/$v.patch; done
# (the variants are patches on today's subgroup.wgsl, so they follow its other changes)
# then the device tool: carry [".gpu"], timeout_s 300, command `bash .gpu/item6.sh`.
# What it measures: gpu-persistent at N = 1e4 on 128…1 024 invocations and two kernel variants
# (bcast: every invocation adds the subgroups' totals from shared memory, no second subgroupAdd;
# acc2: two accumulators), the 256-step search, then the gallery's reports (article size with
# peers, N = 1e8, the sweep over N). all.tgz is rewritten after each step, so a step cut short
# still leaves what came before it.
# (Made from ../shared/gpu/on-device.sh; its header follows.)
# Runs on the machine with the real GPU, from the project root, after prepare.sh:
#   bash .gpu/on-device.sh full    the gallery: probe, article size with peers, N = 1e8, sweep over N, sweep over K
#                                  (at most ~6 min)
#   bash .gpu/on-device.sh quick   the small-N, f16 and search rows only, to re-measure after a fix (~2.5 min)
# At most 8 files come back from $OUT: the key reports go there one by one, and everything (logs included)
# also in all.tgz. Each step has its own time limit so one slow step cannot eat the rest. The GPU's clocks,
# temperature and throttle reasons are sampled every 200 ms into clocks.csv while the steps run.
set -uo pipefail
MODE=${1:-full}
OUT=${OUT:-/tmp/gdbench-out}; mkdir -p "$OUT"; R=/tmp/gdbench-res; mkdir -p "$R"
for f in .gpu/debs/*.deb; do dpkg -x "$f" / 2>/dev/null; done; ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR=/tmp
B=.gpu/gdbench
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,temperature.gpu,power.draw,clocks_throttle_reasons.active \
  --format=csv -lms 200 >"$R/clocks.csv" 2>/dev/null & smi=$!
step() { echo "== $(date +%T) $*" >>"$R/run.log"; tar czf "$OUT/all.tgz" -C "$R" . 2>/dev/null; }
{ nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.memory,driver_version --format=csv 2>&1; $B adapters 2>&1; } >"$R/adapters.txt"
step probe; timeout 40 $B probe >>"$R/adapters.txt" 2>>"$R/run.log"
J="--format json"
step small; timeout 40 $B run --solvers cpu-fused-f32,cpu-persistent,gpu-persistent $J --output "$R/small.json" 2>>"$R/run.log"
for X in 128 256 512 1024; do
  step "wg$X"; timeout 12 $B run --solvers gpu-persistent --workgroup-size $X --no-probe $J --output "$R/wg$X.json" 2>>"$R/run.log"
done
step pvar; timeout 20 $B run --solvers gpu-persistent --variant bcast=.gpu/var/bcast --variant acc2=.gpu/var/acc2 --no-probe $J --output "$R/pvar.json" 2>>"$R/run.log"
step search; timeout 35 $B run --solvers gpu-fused --n 1e7 --epochs 10 --mu 1e-4..1e-2:256 $J --output "$R/search.json" 2>>"$R/run.log"
step article; timeout 80 $B run --peers numpy,torch,jax $J --output "$R/article.json" 2>>"$R/run.log"
step large; timeout 50 $B run --solvers gpu,cpu-threads --n 1e8 --epochs 20 $J --output "$R/large.json" 2>>"$R/run.log"
step sweep; timeout 45 $B sweep --solvers cpu-fused,cpu-threads,gpu-fused,gpu-persistent,gpu-subgroup --n-min 1e3 --n-max 1e8 --points 6 --budget 0.5 --output "$R/sweep.json" --plot "$R/sweep.svg" 2>>"$R/run.log"
kill "$smi" 2>/dev/null
step done
ls -la "$OUT"
