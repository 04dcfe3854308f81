#!/bin/sh
# Installs splinepot's KIM model driver and, for each potential file given,
# a KIM portable model that runs it (kim-api-collections-management, from
# the KIM API's development package, e.g. Debian's libkim-api-dev; cmake).
#
#   tools/kim/install.sh [--collection user|environment|CWD] [--name MODEL] [--element EL[,EL..]]
#                        [--models-only] POTENTIAL...
#
# POTENTIAL: any file splinepot reads (.meam.spline, .meam.sw.spline, .uf3,
# uf3 .json, .snnp). The model is named --name (one file only), else
# splinepot_<file name>__MO_000000000000_000 with the file name's
# punctuation as _. --element names the elements of a file that does not
# (the first meam/spline format, e.g. LAMMPS's Si_1.meam.spline), in the
# file's order. The collection is "user" unless --collection says
# otherwise ("environment": the first directories of
# $KIM_API_MODEL_DRIVERS_DIR and $KIM_API_PORTABLE_MODELS_DIR). Items of
# the same names are replaced; the driver (this checkout's splinepot.h, about
# 20 s to compile) too, unless --models-only. In LAMMPS:
#   kim init splinepot_Si_1_meam_spline__MO_000000000000_000 metal
#   kim interactions Si
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DRIVER=splinepot__MD_000000000000_000
coll=user
name=
elements=
driver=1
while [ $# -gt 0 ]; do
    case $1 in
        --collection) coll=${2:?--collection needs user, environment or CWD}; shift 2 ;;
        --name) name=${2:?--name needs a model name}; shift 2 ;;
        --element) elements=${2:?--element needs symbols}; shift 2 ;;
        --models-only) driver=0; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "error: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: tools/kim/install.sh [--collection user|environment|CWD] [--name MODEL] [--element EL[,EL..]] [--models-only] POTENTIAL..." >&2; exit 2; }
[ -z "$name" ] || [ $# -eq 1 ] || { echo "error: --name takes one potential file" >&2; exit 2; }
command -v kim-api-collections-management >/dev/null ||
    { echo "error: kim-api-collections-management not found (install the KIM API development package)" >&2; exit 1; }
for f in "$@"; do [ -r "$f" ] || { echo "error: $f: cannot read it" >&2; exit 1; }; done
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
if [ $driver = 1 ]; then
    mkdir "$stage/$DRIVER"
    cp "$ROOT/tools/kim/$DRIVER/CMakeLists.txt" "$ROOT/tools/kim/$DRIVER/splinepot_kim.c" "$ROOT/splinepot.h" "$stage/$DRIVER/"
    (cd "$stage" && kim-api-collections-management install --force "$coll" "$stage/$DRIVER") > "$stage/driver.log" 2>&1 ||
        { cat "$stage/driver.log" >&2; echo "error: the driver did not install" >&2; exit 1; }
fi
for f in "$@"; do
    base=$(basename "$f")
    model=${name:-splinepot_$(printf '%s' "$base" | tr -c 'A-Za-z0-9' '_')__MO_000000000000_000}
    mkdir -p "$stage/$model"
    cp "$f" "$stage/$model/$base"
    files="\"$base\""
    if [ -n "$elements" ]; then
        printf '%s\n' "$elements" | tr ',' ' ' > "$stage/$model/elements.txt"
        files="$files \"elements.txt\""
    fi
    cat > "$stage/$model/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.10)
list(APPEND CMAKE_PREFIX_PATH \$ENV{KIM_API_CMAKE_PREFIX_DIR})
find_package(KIM-API-ITEMS 2.2 REQUIRED CONFIG)
kim_api_items_setup_before_project(ITEM_TYPE "portableModel")
project($model)
kim_api_items_setup_after_project(ITEM_TYPE "portableModel")
add_kim_api_model_library(
  NAME            \${PROJECT_NAME}
  DRIVER_NAME     "$DRIVER"
  PARAMETER_FILES $files
  )
CMAKE
    (cd "$stage" && kim-api-collections-management install --force "$coll" "$stage/$model") > "$stage/model.log" 2>&1 ||
        { cat "$stage/model.log" >&2; echo "error: $f: the model did not install" >&2; exit 1; }
    echo "$model"
done
