/* Two SP_STATIC copies of the library in one program (stb's tests/stb_static.c):
   this file and static_b.c each hold a private implementation. */
#define SP_STATIC
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"
#include "sp_test.h"

int static_b_element_z(const char *sym);

int main(void) {
    SP_CHECK(sp_element_z("Mo") == 42);
    SP_CHECK(static_b_element_z("Mo") == 42);
    return sp_test_finish();
}
