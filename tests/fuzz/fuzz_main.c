/* Stand-alone driver for the harnesses without libFuzzer: replays files
   given on the command line (regression runs, valgrind), or reads one input
   from stdin (AFL++: afl-clang-fast ... fuzz_main.c, input via @@ or stdin).
   Build: cc -g -DSPF_HARNESS='"fuzz_meam.c"' -I. tests/fuzz/fuzz_main.c -lm */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#ifndef SPF_HARNESS
#define SPF_HARNESS "fuzz_meam.c"
#endif
#include SPF_HARNESS

static int spf_run_file(FILE *fp, const char *name) {
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = (uint8_t *)malloc(cap);
    if (!buf) return 1;
    while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = (uint8_t *)realloc(buf, cap *= 2);
            if (!nb) return free(buf), 1;
            buf = nb;
        }
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    (void)name;
    return 0;
}

int main(int argc, char **argv) {
    int i, bad = 0;
    if (argc < 2) return spf_run_file(stdin, "<stdin>");
    for (i = 1; i < argc; ++i) {
        FILE *fp = fopen(argv[i], "rb");
        if (!fp) { fprintf(stderr, "%s: cannot open\n", argv[i]); bad = 1; continue; }
        bad |= spf_run_file(fp, argv[i]);
        fclose(fp);
    }
    return bad;
}
