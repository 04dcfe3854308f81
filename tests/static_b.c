/* second private copy for test_static.c */
#define SP_STATIC
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"

int static_b_element_z(const char *sym);
int static_b_element_z(const char *sym) { return sp_element_z(sym); }
