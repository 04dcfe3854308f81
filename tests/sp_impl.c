/* The implementation, compiled once per build (build/sp_impl.o) and linked
   into the test programs that use only the public API, and into the fuzz
   replay programs of tests/fuzz/run_regressions.sh. The programs that
   compile it themselves: test_uf3 and test_json (they call private
   functions), test_cpp (as C++), test_static (two SP_STATIC copies) and
   test_c11 (test_meam.c as C11). */
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"
