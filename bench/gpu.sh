#!/bin/bash
# bench/gpu.sh - the GPU figures of bench/RESULTS.md, on a machine with a device:
# builds the CUDA layer, runs test_cuda, bench structvec --gpu, md --gpu on
# 10^6-atom cells (UF2, UF2,3, Si_1 s-MEAM), with CPU=1 one-thread CPU md on
# smaller cells, and (unless "quick") ncu byte counts of the kernels and
# compute-sanitizer. Logs and run.log into $OUT (default /tmp/gpuout).
#   bench/gpu.sh DATA [quick]     (from the repository root)
# DATA holds Si_1, Si_2, Ti and TiO .meam.spline (LAMMPS's potentials) and the
# UF3 models mo_uf2.uf3 and mo_uf23.uf3:
#   splinepot fit uf3 --train ../shared/data/mlearn/Mo/train.xyz --r2 1.5:5.5:22 -o DATA/mo_uf2.uf3
#   ... the same with --r3 1.5:4.25:8 -o DATA/mo_uf23.uf3
set -u
R=${OUT:-/tmp/gpuout}
O=/tmp/gpulogs
mkdir -p "$O" "$R"
D=${1:?usage: bench/gpu.sh DATA [quick]}
C=/tmp/cr
S=build/splinepot_cuda
NV=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
log() { echo "== $* ($(date +%T))"; }
{
log start
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
lscpu | grep "Model name"
ls /usr/share/lammps/potentials 2>&1 | head -2
t0=$(date +%s)
make -j16 cuda-build > "$O/build.log" 2>&1 || { tail -40 "$O/build.log"; exit 1; }
log "built in $(( $(date +%s) - t0 )) s"
SPLINEPOT_POTENTIALS=$D timeout 200 build/cuda/test_cuda > "$O/test_cuda.log" 2>&1
echo "test_cuda rc=$?"
grep -v "^md\|pairs:\|^structure\|^device list" "$O/test_cuda.log" | tail -30
grep -c "the CPU list's per atom: yes" "$O/test_cuda.log"
$S bench structvec --gpu 2>&1 | tail -2
mkdir -p $C
python3 tools/make_crystal.py bcc 3.147 80 80 80 --el Mo -o $C/mo.xyz &
python3 tools/make_crystal.py diamond 5.431 50 50 50 --el Si -o $C/si.xyz &
python3 tools/make_crystal.py bcc 3.147 20 20 20 --el Mo -o $C/mo16k.xyz &
python3 tools/make_crystal.py diamond 5.431 13 13 13 --el Si -o $C/si17k.xyz &
wait
log crystals
md() { # label pot xyz steps extra...
    local l=$1 p=$2 x=$3 n=$4; shift 4
    $S md "$p" "$x" --steps "$n" --every 1000 "$@" > "$O/md_$l.log" 2>&1
    echo "$l: $(grep -h '^time:\|^perf:\|neighbour builds' "$O/md_$l.log" | tr '\n' ' ')"
    grep -h "error\|gpu: neigh" "$O/md_$l.log" | head -3
}
STEPS=${STEPS:-400}
md uf2 $D/mo_uf2.uf3 $C/mo.xyz $STEPS --gpu
md uf23 $D/mo_uf23.uf3 $C/mo.xyz $STEPS --gpu
md si1 $D/Si_1.meam.spline $C/si.xyz $STEPS --gpu
md uf2_s05 $D/mo_uf2.uf3 $C/mo.xyz $STEPS --gpu --skin 0.5
md uf23_s05 $D/mo_uf23.uf3 $C/mo.xyz $STEPS --gpu --skin 0.5
md si1_s05 $D/Si_1.meam.spline $C/si.xyz $STEPS --gpu --skin 0.5
log md-gpu
if [ -n "${CPU:-}" ]; then
    export OMP_NUM_THREADS=1
    md cpu_uf2 $D/mo_uf2.uf3 $C/mo16k.xyz 50
    md cpu_uf23 $D/mo_uf23.uf3 $C/mo16k.xyz 20
    md cpu_si1 $D/Si_1.meam.spline $C/si17k.xyz 20
    unset OMP_NUM_THREADS
    log md-cpu
fi
if [ "${2:-}" != quick ]; then
M=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_bytes.sum,sm__inst_executed_pipe_fp64.avg.pct_of_peak_sustained_active,sm__warps_active.avg.pct_of_peak_sustained_active
for l in ${NCU:-uf2:mo_uf2.uf3:mo uf23:mo_uf23.uf3:mo si1:Si_1.meam.spline:si}; do
    IFS=: read -r a p x <<< "$l"
    timeout 90 ncu --clock-control none --metrics $M -k 'regex:k_(uf3|meam|gather|nl_pairs|nl_rev|ghost|drift|kick)' \
        --launch-skip 0 --launch-count 16 --csv $S md $D/$p $C/$x.xyz --steps 2 --every 1000 --gpu > "$O/ncu_$a.csv" 2>&1
    echo "ncu $a rc=$?"
done
log ncu
for t in ${SANITIZE:-memcheck}; do
    timeout 120 compute-sanitizer --tool $t --print-limit 5 build/cuda/test_cuda > "$O/$t.log" 2>&1
    echo "$t rc=$?"; grep "ERROR SUMMARY\|RACECHECK SUMMARY\|passed" "$O/$t.log" | tail -3
done
fi
log end
} 2>&1 | tee "$R/run.log"
tar czf "$R/logs.tgz" -C "$O" .
