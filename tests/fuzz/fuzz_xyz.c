/* libFuzzer harness: extended XYZ reader, every frame until the end. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = spf_copy(data, size);
    size_t pos = 0;
    int line = 0, nframes = 0;
    for (;;) {
        sp_frame_t f;
        sp_diag_t diag;
        sp_result_t r;
        size_t pos0 = pos;
        memset(&f, 0, sizeof f);
        memset(&diag, 0, sizeof diag);
        r = sp_xyz_read_frame(text, size, &pos, &line, &f, &diag);
        spf_check_diag(&diag);
        if (r != SP_OK) {
            if (r != SP_ERR_RANGE) spf_check_error(r, &diag); /* RANGE: no more frames */
            sp_frame_free(&f);
            break;
        }
        if (pos <= pos0 || pos > size) abort(); /* must make progress, stay in bounds */
        if (f.natoms < 0) abort();
        if (!spf_finite(f.pos, 3 * (size_t)f.natoms)) abort();
        if (f.has_cell && !spf_finite(f.cell, 9)) abort();
        if (f.forces && !spf_finite(f.forces, 3 * (size_t)f.natoms)) abort();
        if (f.comment_extra) (void)strlen(f.comment_extra);
        {
            int k;
            for (k = 0; k < f.natoms; ++k)
                if (f.z[k] < 1 || f.z[k] > 118) abort();
        }
        sp_frame_free(&f);
        ++nframes;
    }
    (void)nframes;
    free(text);
    return 0;
}
