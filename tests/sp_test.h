/* sp_test.h - a minimal test harness (in the spirit of tinyexpr's minctest.h).
   SP_CHECK(cond) and SP_CHECK_NEAR(a, b, rtol, atol) count results and print
   "file:line: expected ..., got ..." only on failure; sp_test_finish() prints
   the closing line "N passed, N failed" and returns nonzero on any failure. */
#ifndef SP_TEST_H
#define SP_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sp_test_passed = 0, sp_test_failed = 0;

#define SP_CHECK(cond)                                                         \
    do {                                                                       \
        if (cond) ++sp_test_passed;                                            \
        else {                                                                 \
            ++sp_test_failed;                                                  \
            printf("%s:%d: expected %s\n", __FILE__, __LINE__, #cond);         \
        }                                                                      \
    } while (0)

/* |a - b| <= atol + rtol*|b|, and both finite */
#define SP_CHECK_NEAR(a, b, rtol, atol)                                        \
    do {                                                                       \
        double sp_t_a_ = (a), sp_t_b_ = (b);                                   \
        if (sp_t_a_ - sp_t_a_ == 0.0 && sp_t_b_ - sp_t_b_ == 0.0 &&            \
            fabs(sp_t_a_ - sp_t_b_) <= (atol) + (rtol) * fabs(sp_t_b_))        \
            ++sp_test_passed;                                                  \
        else {                                                                 \
            ++sp_test_failed;                                                  \
            printf("%s:%d: expected %s = %.17g, got %s = %.17g (diff %.3g)\n", \
                   __FILE__, __LINE__, #b, sp_t_b_, #a, sp_t_a_,               \
                   fabs(sp_t_a_ - sp_t_b_));                                   \
        }                                                                      \
    } while (0)

/* Skips are printed, not counted. */
#define SP_SKIP(why) printf("skipped: %s\n", why)

static int sp_test_finish(void) {
    printf("%d passed, %d failed\n", sp_test_passed, sp_test_failed);
    return sp_test_failed != 0;
}
#endif
