// The implementation compiled as C++ (stb's test_cpp_compilation, sokol's tests/compile).
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"
#include <string>
#include "sp_test.h"

int main() {
    double x[4] = {0, 1, 2, 3}, y[4] = {0, 1, 0, 1};
    sp_spline_t s;
    SP_CHECK(sp_spline_init(&s, 4, x, y, 0.0, 0.0) == SP_OK);
    SP_CHECK_NEAR(sp_spline_eval(&s, 1.0, NULL), 1.0, 1e-15, 1e-15);
    SP_CHECK(sp_element_z("Si") == 14);
    SP_CHECK(std::string(sp_result_str(SP_ERR_PARSE)) == "parse error");
    return sp_test_finish();
}
