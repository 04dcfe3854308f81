/* libFuzzer harness: LAMMPS meam/sw/spline reader (7 splines phi F G rho U f g). */
#define SPF_HINT "x.meam.sw.spline"
#include "fuzz_meam.c"
