/* Shared by the fuzz harnesses in tests/fuzz/: the library, compiled once
   into each harness, plus helpers. Works with libFuzzer (LLVMFuzzerTestOneInput)
   and, through fuzz_main.c, as a stand-alone replay program / AFL++ target.
   With SPF_LINK_IMPL the harness leaves the implementation out, for
   run_regressions.sh, which links one compiled copy (tests/sp_impl.c) into
   every replay program. */
#ifndef SP_FUZZ_COMMON_H
#define SP_FUZZ_COMMON_H
#ifndef SPF_LINK_IMPL
#define SPLINEPOT_IMPLEMENTATION
#endif
#include "splinepot.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>

/* each harness uses some of the helpers below */
#if defined(__GNUC__) || defined(__clang__)
#define SPF_UNUSED __attribute__((unused))
#else
#define SPF_UNUSED
#endif

/* The parsers take (text, len) and must not read past len; copy the input
   into an exactly sized heap block (no NUL terminator) so that ASan sees any
   read beyond the end. */
SPF_UNUSED static char *spf_copy(const uint8_t *data, size_t size) {
#ifdef SPF_PAD_ONE_BYTE
    /* Work-around build for a known 1-byte over-read at the end of the
       buffer (tests/fuzz/regressions/xyz-comment-key-at-eof): one readable
       '\n' after the end, so fuzzing can go on past it. Not the default. */
    char *p = (char *)malloc(size + 1);
    if (!p) abort();
    if (size) memcpy(p, data, size);
    p[size] = '\n';
    return p;
#else
    char *p = (char *)malloc(size ? size : 1);
    if (!p) abort();
    if (size) memcpy(p, data, size);
    return p;
#endif
}

/* A diagnostic must be NUL-terminated and its line non-negative. */
SPF_UNUSED static void spf_check_diag(const sp_diag_t *d) {
    if (d->line < 0 || memchr(d->msg, '\0', sizeof d->msg) == NULL ||
        memchr(d->warning, '\0', sizeof d->warning) == NULL) {
        fprintf(stderr, "bad diagnostic (line %d)\n", d->line);
        abort();
    }
}

/* A failed call must say why in its diagnostic (running out of memory aside). */
SPF_UNUSED static void spf_check_error(sp_result_t r, const sp_diag_t *d) {
    if (r != SP_OK && r != SP_ERR_NO_MEMORY && d->msg[0] == '\0') {
        fprintf(stderr, "error %d without a message\n", (int)r);
        abort();
    }
}

/* The input as text that starts with mark, so that every input reaches the
   parser that mark selects: the input itself when its first check bytes are
   mark's, else mark followed by it. *len: its length; free() it. */
SPF_UNUSED static char *spf_with_mark(const uint8_t *data, size_t size, const char *mark, size_t check, size_t *len) {
    const size_t ml = strlen(mark);
    const int has = size >= check && memcmp(data, mark, check) == 0;
    char *text;
    *len = has ? size : size + ml;
    text = (char *)malloc(*len ? *len : 1);
    if (!text) abort();
    if (!has) memcpy(text, mark, ml);
    if (size) memcpy(text + (has ? 0 : ml), data, size);
    return text;
}

/* five atoms of an open cluster, 1 to 2.5 A apart, for evaluating parsed models */
SPF_UNUSED static const double spf_cluster[15] = {0, 0, 0, 2.1, 0, 0, 1.0, 1.8, 0.2, -1.4, 1.1, 1.0, 0.4, 0.6, 2.2};

SPF_UNUSED static int spf_finite(const double *v, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i)
        if (!(v[i] - v[i] == 0.0)) return 0;
    return 1;
}
#endif
