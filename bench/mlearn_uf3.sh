#!/usr/bin/env bash
# UF2 and UF2,3 fits on the six mlearn elements (Zuo et al. 2020 split),
# default penalties, the Mo settings of the UF3 issue for every element:
#   UF2   --r2 1.5:5.2:22
#   UF2,3 --r2 1.5:5.2:22 --r3 1.5:4.25:8
# Prints a markdown table of held-out RMSEs and times.
#   bench/mlearn_uf3.sh [--cv K]   with --cv: lambda_curv chosen by K-fold
#                                  cross-validation on the training set (a column)
set -euo pipefail
cd "$(dirname "$0")/.."
cv=()
[ "${1:-}" = --cv ] && cv=(--cv "$2")
make -s build/splinepot
data=${SPLINEPOT_SHARED:-../shared}/data/mlearn
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| element | model | coefficients | lambda_curv | test energy RMSE (meV/atom) | test force RMSE (eV/Å) | train energy | train force | seconds |"
echo "|---|---|---|---|---|---|---|---|---|"
for el in Ni Cu Li Mo Si Ge; do
    for model in UF2 UF23; do
        args=(--r2 1.5:5.2:22)
        [ "$model" = UF23 ] && args+=(--r3 1.5:4.25:8)
        ./build/splinepot fit uf3 --train "$data/$el/train.xyz" --test "$data/$el/test.xyz" "${args[@]}" ${cv[@]+"${cv[@]}"} \
            -o "$out/$el.uf3" --report "$out/$el.json" > /dev/null 2>&1
        python3 - "$out/$el.json" "$el" "$model" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name = "UF2" if sys.argv[3] == "UF2" else "UF2,3"
print(f"| {sys.argv[2]} | {name} | {r['n_params']} | {r['lambda_curv']:.0e} | {r['test']['energy_rmse_meV_per_atom']:.2f} | "
      f"{r['test']['force_rmse_eV_per_A']:.3f} | {r['train']['energy_rmse_meV_per_atom']:.2f} | "
      f"{r['train']['force_rmse_eV_per_A']:.3f} | {r['seconds']:.1f} |")
PY
    done
done
