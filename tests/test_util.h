/* Shared helpers for the test programs: locating reference data, reading
   frames, a deterministic random generator. */
#ifndef SP_TEST_UTIL_H
#define SP_TEST_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define TU_UNUSED __attribute__((unused))
#else
#define TU_UNUSED
#endif
static uint64_t tu_rng = 88172645463325252ULL;
TU_UNUSED static double tu_urand(void) { /* xorshift64* in [0,1) */
    tu_rng ^= tu_rng >> 12; tu_rng ^= tu_rng << 25; tu_rng ^= tu_rng >> 27;
    return (double)((tu_rng * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

/* ../shared/reference (or $SPLINEPOT_SHARED/reference) and the LAMMPS potentials */
TU_UNUSED static const char *tu_shared(void) {
    const char *s = getenv("SPLINEPOT_SHARED");
    return s ? s : "../shared";
}
TU_UNUSED static const char *tu_potdir(void) {
    const char *s = getenv("SPLINEPOT_POTENTIALS");
    return s ? s : "/usr/share/lammps/potentials";
}

TU_UNUSED static int tu_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* all frames of an extxyz file; returns the count (0 if missing) */
TU_UNUSED static int tu_read_frames(const char *path, sp_frame_t **out) {
    char *text;
    size_t len, pos = 0;
    int line = 0, n = 0, cap = 0;
    sp_diag_t d;
    memset(&d, 0, sizeof d);
    *out = NULL;
    if (sp_read_file(path, &text, &len, NULL, &d) != SP_OK) return 0;
    for (;;) {
        sp_frame_t f;
        sp_result_t r;
        memset(&f, 0, sizeof f);
        r = sp_xyz_read_frame(text, len, &pos, &line, &f, &d);
        if (r != SP_OK) {
            if (r != SP_ERR_RANGE) printf("%s:%d: %s\n", path, d.line, d.msg);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            *out = (sp_frame_t *)realloc(*out, (size_t)cap * sizeof(sp_frame_t));
        }
        (*out)[n++] = f;
    }
    free(text);
    return n;
}

TU_UNUSED static void tu_free_frames(sp_frame_t *f, int n) {
    int k;
    for (k = 0; k < n; ++k) sp_frame_free(&f[k]);
    free(f);
}
#endif
