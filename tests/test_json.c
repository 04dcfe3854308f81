/* >>io (uf3 JSON models): write -> read round trips give bit-identical
   knots, coefficients and one-body energies and identical energies and
   forces (UF2 and UF2,3, one and two elements); interaction keys with the elements in the other order ("Xe-Ne", 3-body
   neighbours in decreasing Z) give the same potential; hostile input (every
   truncation, NaN/Infinity, overflow, wrong lengths, degree 2, unknown
   elements, deep nesting, random mutations and garbage) gives an error code
   with a line number, never a crash, and leaves the potential empty.
   Calls the private sp__uf3_read_json / sp__uf3_write_json directly. */
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

/* ---- helpers ---- */

/* Everything written to fp, as a malloc'd NUL-terminated string. */
static char *slurp(FILE *fp, size_t *len) {
    long n;
    char *s;
    fflush(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    s = (char *)malloc((size_t)n + 1);
    *len = fread(s, 1, (size_t)n, fp);
    s[*len] = '\0';
    return s;
}

static char *write_json(const sp_pot_t *pot, size_t *len) {
    FILE *fp = tmpfile();
    char *s;
    if (!fp) { *len = 0; return NULL; }
    SP_CHECK(sp__uf3_write_json(pot, fp) == SP_OK);
    s = slurp(fp, len);
    fclose(fp);
    return s;
}

/* Reads from an exact-size copy without a terminating NUL, so that any read
   past the end is caught by AddressSanitizer. */
static sp_result_t read_json(sp_pot_t *pot, const char *text, size_t len, sp_diag_t *d) {
    char *copy = (char *)malloc(len ? len : 1);
    sp_result_t r;
    if (len) memcpy(copy, text, len);
    memset(d, 0, sizeof *d);
    memset(pot, 0, sizeof *pot);
    r = sp__uf3_read_json(pot, copy, len, d);
    free(copy);
    return r;
}

static sp_result_t read_str(sp_pot_t *pot, const char *text, sp_diag_t *d) {
    return read_json(pot, text, strlen(text), d);
}

/* knots of different lengths per pair; 3-body l and m knots differ */
static void random_model(sp_pot_t *pot, int nelem, const int *z, int has3) {
    int nt2[3], nt3[3 * 6], np = nelem * (nelem + 1) / 2, k, a;
    sp_diag_t d;
    for (k = 0; k < np; ++k) nt2[k] = 10 + k + 7;
    for (k = 0; k < nelem * np; ++k) { nt3[3 * k] = 5 + 7; nt3[3 * k + 1] = 6 + 7; nt3[3 * k + 2] = 10 + 7; }
    memset(pot, 0, sizeof *pot);
    SP_CHECK(sp_uf3_create(pot, nelem, z, has3, nt2, nt3) == SP_OK);
    for (k = 0; k < nelem; ++k) pot->uf3.e1[k] = -1.0 - k + 0.1 * tu_urand();
    for (k = 0; k < np; ++k) {
        sp_uf3_pair_t *P = pot->uf3.pair + k;
        sp_bspline_knots_uniform(1.5 + 0.05 * k, 5.5 + 0.3 * k, 10 + k, P->t);
        for (a = 0; a < P->nt - 4; ++a)
            P->c[a] = (a < P->nt - 7) ? (2.0 * exp(-0.8 * a) - 0.3 + 0.1 * tu_urand()) : 0.0;
    }
    for (k = 0; has3 && k < nelem * np; ++k) {
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        size_t n = (size_t)T->L * T->M * T->N, q;
        sp_bspline_knots_uniform(1.5, 4.0, 5, T->t[0]);
        sp_bspline_knots_uniform(1.5, 4.5, 6, T->t[1]);
        sp_bspline_knots_uniform(1.5, 8.0, 10, T->t[2]);
        for (q = 0; q < n; ++q) T->c[q] = 0.2 * (2 * tu_urand() - 1);
    }
    SP_CHECK(sp_uf3_finish(pot, &d) == SP_OK);
}

/* smallest knot vectors (one interval each) for the hostile-input tests */
static void tiny_model(sp_pot_t *pot, int nelem, const int *z, int has3) {
    int nt2[3] = {8, 8, 8}, nt3[3 * 6], k, a, np = nelem * (nelem + 1) / 2;
    sp_diag_t d;
    for (k = 0; k < 3 * 6; ++k) nt3[k] = 8;
    memset(pot, 0, sizeof *pot);
    SP_CHECK(sp_uf3_create(pot, nelem, z, has3, nt2, nt3) == SP_OK);
    for (k = 0; k < nelem; ++k) pot->uf3.e1[k] = -0.5 * (k + 1);
    for (k = 0; k < np; ++k) {
        sp_bspline_knots_uniform(2.0, 5.0, 1, pot->uf3.pair[k].t);
        for (a = 0; a < 4; ++a) pot->uf3.pair[k].c[a] = 0.25 * (3 - a) + 0.01 * k;
    }
    for (k = 0; has3 && k < nelem * np; ++k) {
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        for (a = 0; a < 3; ++a) sp_bspline_knots_uniform(2.0, a == 2 ? 6.0 : 3.0, 1, T->t[a]);
        for (a = 0; a < 64; ++a) T->c[a] = 0.001 * (a % 7) - 0.002;
    }
    SP_CHECK(sp_uf3_finish(pot, &d) == SP_OK);
}

/* bitwise equality of everything a UF3 model is made of */
static int same_model(const sp_pot_t *a, const sp_pot_t *b) {
    int k, x, ne = a->nelem, np = ne * (ne + 1) / 2;
    if (a->kind != SP_POT_UF3 || b->kind != SP_POT_UF3 || b->nelem != ne || a->uf3.has3 != b->uf3.has3) return 0;
    for (k = 0; k < ne; ++k)
        if (strcmp(a->elem[k], b->elem[k]) || memcmp(&a->uf3.e1[k], &b->uf3.e1[k], sizeof(double))) return 0;
    for (k = 0; k < np; ++k) {
        const sp_uf3_pair_t *P = a->uf3.pair + k, *Q = b->uf3.pair + k;
        if (P->nt != Q->nt || memcmp(P->t, Q->t, (size_t)P->nt * sizeof(double)) ||
            memcmp(P->c, Q->c, (size_t)(P->nt - 4) * sizeof(double)))
            return 0;
    }
    for (k = 0; a->uf3.has3 && k < ne * np; ++k) {
        const sp_uf3_trio_t *T = a->uf3.trio + k, *U = b->uf3.trio + k;
        for (x = 0; x < 3; ++x)
            if (T->nt[x] != U->nt[x] || memcmp(T->t[x], U->t[x], (size_t)T->nt[x] * sizeof(double))) return 0;
        if (memcmp(T->c, U->c, (size_t)T->L * T->M * T->N * sizeof(double))) return 0;
    }
    return a->cutoff == b->cutoff;
}

/* random open cluster: n atoms in a box, no pair closer than 1.7 A */
static void cluster(int n, int nelem, double *pos, int *type) {
    int i, j;
    for (i = 0; i < n; ++i) {
        for (;;) {
            int ok = 1;
            for (j = 0; j < 3; ++j) pos[3 * i + j] = 6.0 * tu_urand();
            for (j = 0; j < i && ok; ++j) {
                double dx = pos[3 * i] - pos[3 * j], dy = pos[3 * i + 1] - pos[3 * j + 1], dz = pos[3 * i + 2] - pos[3 * j + 2];
                if (dx * dx + dy * dy + dz * dz < 1.7 * 1.7) ok = 0;
            }
            if (ok) break;
        }
        type[i] = (int)(tu_urand() * nelem);
    }
}

/* identical energies and forces from two potentials on a random cluster */
static void same_energies(const sp_pot_t *a, const sp_pot_t *b, int nelem) {
    enum { N = 14 };
    double pos[3 * N], fa[3 * N], fb[3 * N], cell[9] = {0}, ea = 0, eb = 1;
    int type[N], pbc[3] = {0, 0, 0};
    sp_diag_t d;
    cluster(N, nelem, pos, type);
    SP_CHECK(sp_pot_compute_once(a, N, pos, type, cell, pbc, &ea, fa, NULL, NULL, &d) == SP_OK);
    SP_CHECK(sp_pot_compute_once(b, N, pos, type, cell, pbc, &eb, fb, NULL, NULL, &d) == SP_OK);
    SP_CHECK(ea == eb && ea != 0.0);
    SP_CHECK(memcmp(fa, fb, sizeof fa) == 0);
}

static int is_empty(const sp_pot_t *p) { return p->mem == NULL && p->kind == SP_POT_NONE && p->nelem == 0; }

/* ---- round trips ---- */

static void test_round_trip(void) {
    static const int zs[4][2] = {{74, 0}, {74, 0}, {10, 54}, {10, 54}};
    static const int ne[4] = {1, 1, 2, 2}, h3[4] = {0, 1, 0, 1};
    int v;
    for (v = 0; v < 4; ++v) {
        sp_pot_t a, b, c;
        sp_diag_t d;
        size_t n1, n2;
        char *t1, *t2;
        random_model(&a, ne[v], zs[v], h3[v]);
        t1 = write_json(&a, &n1);
        SP_CHECK(t1 != NULL);
        if (!t1) continue;
        SP_CHECK(read_json(&b, t1, n1, &d) == SP_OK);
        if (d.msg[0]) printf("  variant %d: line %d: %s\n", v, d.line, d.msg);
        SP_CHECK(same_model(&a, &b));
        same_energies(&a, &b, ne[v]);
        t2 = write_json(&b, &n2); /* writing again gives the same text */
        SP_CHECK(t2 && n1 == n2 && memcmp(t1, t2, n1) == 0);
        if (v == 3) { /* the develop layout: check a few lines */
            SP_CHECK(strstr(t1, "{\n    \"coefficients\": {\n        \"Ne\": ") == t1);
            SP_CHECK(strstr(t1, "\n        \"Xe-Ne-Xe\": [\n            [\n                [") != NULL);
            SP_CHECK(strstr(t1, "\n    \"leading_trim\": {\"2\": 0, \"3\": 0},\n") != NULL);
            SP_CHECK(strstr(t1, "\n    \"trailing_trim\": {\"2\": 3, \"3\": 3},\n") != NULL);
            SP_CHECK(strstr(t1, "\n    \"element_list\": [\"Ne\", \"Xe\"],\n    \"degree\": 3\n}\n") != NULL);
            SP_CHECK(strstr(t1, "\"knots_map\": {\n        \"Ne-Ne\": [1.5, 1.5, 1.5, 1.5, ") != NULL);
        }
        free(t2);
        /* numbers that need care: -0, the smallest subnormal, the largest double, 0.1 */
        if (v == 0) {
            a.uf3.pair[0].c[0] = -0.0;
            a.uf3.pair[0].c[1] = 4.9406564584124654e-324;
            a.uf3.pair[0].c[2] = 1.7976931348623157e308;
            a.uf3.pair[0].c[3] = 0.1;
            a.uf3.pair[0].c[4] = -2.2250738585072014e-308;
            a.uf3.e1[0] = 1.0 / 3.0;
            free(t1);
            t1 = write_json(&a, &n1);
            SP_CHECK(read_json(&c, t1, n1, &d) == SP_OK);
            SP_CHECK(c.kind == SP_POT_UF3 && memcmp(a.uf3.pair[0].c, c.uf3.pair[0].c, 5 * sizeof(double)) == 0);
            SP_CHECK(c.kind == SP_POT_UF3 && memcmp(&a.uf3.e1[0], &c.uf3.e1[0], sizeof(double)) == 0);
            SP_CHECK(strstr(t1, "[-0, 4.94065645841247e-324, 1.7976931348623157e+308, 0.1, -2.2250738585072014e-308, ") != NULL);
            sp_pot_free(&c);
        }
        free(t1);
        sp_pot_free(&a);
        sp_pot_free(&b);
    }
}

/* ---- keys with the elements in the other order ---- */

static void put_list(FILE *fp, const double *v, int n) {
    int i;
    fputc('[', fp);
    for (i = 0; i < n; ++i) fprintf(fp, i ? ", %.17g" : "%.17g", v[i]);
    fputc(']', fp);
}

/* A hand-rolled writer that names pairs "B-A" and trios "C-B-A" (higher Z
   first; 3-body grid transposed to [m][l][n], knot lists [ik, ij, jk]) for the
   coefficients (swap_c) and/or the knots (swap_k); element_list reversed or
   left out; keys of the top-level object in another order. */
static char *write_other_order(const sp_pot_t *pot, int swap_c, int swap_k, int with_list) {
    FILE *fp = tmpfile();
    const int ne = pot->nelem, np = ne * (ne + 1) / 2;
    int a, b, c, l, m, k;
    size_t len;
    char *s;
    fputs("{\"degree\": 3,\n", fp);
    if (with_list) {
        fputs("\"element_list\": [", fp);
        for (k = ne - 1; k >= 0; --k) fprintf(fp, "\"%s\"%s", pot->elem[k], k ? ", " : "");
        fputs("],\n", fp);
    }
    fputs("\"knots\": {", fp);
    for (a = 0; a < ne; ++a)
        for (b = a; b < ne; ++b) {
            const sp_uf3_pair_t *P = pot->uf3.pair + sp_pot_pair_index(ne, a, b);
            fprintf(fp, "%s\n\"%s-%s\": ", a || b ? "," : "", pot->elem[swap_k ? b : a], pot->elem[swap_k ? a : b]);
            put_list(fp, P->t, P->nt);
        }
    for (c = 0; c < ne && pot->uf3.has3; ++c)
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b) {
                const sp_uf3_trio_t *T = pot->uf3.trio + c * np + sp_pot_pair_index(ne, a, b);
                const int sw = swap_k && a != b;
                fprintf(fp, ",\n\"%s-%s-%s\": [", pot->elem[c], pot->elem[sw ? b : a], pot->elem[sw ? a : b]);
                put_list(fp, T->t[sw ? 1 : 0], T->nt[sw ? 1 : 0]);
                fputs(", ", fp);
                put_list(fp, T->t[sw ? 0 : 1], T->nt[sw ? 0 : 1]);
                fputs(", ", fp);
                put_list(fp, T->t[2], T->nt[2]);
                fputs("]", fp);
            }
    fputs("},\n\"coefficients\": {", fp);
    for (k = ne - 1; k >= 0; --k) fprintf(fp, "\n\"%s\": %.17g,", pot->elem[k], pot->uf3.e1[k]);
    for (a = ne - 1; a >= 0; --a)
        for (b = ne - 1; b >= a; --b) {
            const sp_uf3_pair_t *P = pot->uf3.pair + sp_pot_pair_index(ne, a, b);
            fprintf(fp, "%s\n\"%s-%s\": ", a == ne - 1 && b == ne - 1 ? "" : ",", pot->elem[swap_c ? b : a],
                    pot->elem[swap_c ? a : b]);
            put_list(fp, P->c, P->nt - 4);
        }
    for (c = 0; c < ne && pot->uf3.has3; ++c)
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b) {
                const sp_uf3_trio_t *T = pot->uf3.trio + c * np + sp_pot_pair_index(ne, a, b);
                const int sw = swap_c && a != b;
                const int L1 = sw ? T->M : T->L, M1 = sw ? T->L : T->M;
                fprintf(fp, ",\n\"%s-%s-%s\": [", pot->elem[c], pot->elem[sw ? b : a], pot->elem[sw ? a : b]);
                for (l = 0; l < L1; ++l) {
                    fputs(l ? ", [" : "[", fp);
                    for (m = 0; m < M1; ++m) {
                        const int li = sw ? m : l, mi = sw ? l : m;
                        if (m) fputs(", ", fp);
                        put_list(fp, T->c + ((size_t)li * T->M + mi) * T->N, T->N);
                    }
                    fputs("]", fp);
                }
                fputs("]", fp);
            }
    fputs("},\n\"trailing_trim\": 3, \"leading_trim\": {\"2\": 0, \"3\": 3}}\n", fp);
    s = slurp(fp, &len);
    fclose(fp);
    return s;
}

static void test_other_order(void) {
    static const int z[2] = {10, 54};
    static const int variants[5][3] = {{1, 1, 1}, {1, 0, 1}, {0, 1, 1}, {1, 1, 0}, {0, 0, 0}};
    sp_pot_t ref, p;
    sp_diag_t d;
    int v, k, has3;
    for (has3 = 0; has3 < 2; ++has3) {
        random_model(&ref, 2, z, has3);
        for (v = 0; v < 5; ++v) {
            char *s = write_other_order(&ref, variants[v][0], variants[v][1], variants[v][2]);
            SP_CHECK(read_str(&p, s, &d) == SP_OK);
            if (d.msg[0]) printf("  other order %d/%d: line %d: %s\n", has3, v, d.line, d.msg);
            if (variants[v][0]) SP_CHECK(strstr(s, "\"Xe-Ne\"") != NULL && (!has3 || strstr(s, "\"Ne-Xe-Ne\"")));
            SP_CHECK(same_model(&ref, &p));
            if (p.kind == SP_POT_UF3) same_energies(&ref, &p, 2);
            sp_pot_free(&p);
            free(s);
        }
        sp_pot_free(&ref);
    }
    /* a small hand-written model: the same numbers under "Ne-Xe" and "Xe-Ne" */
    {
        const char *canon =
            "{\"element_list\": [\"Ne\", \"Xe\"], \"degree\": 3, \"coefficients\": {\"Ne\": 0.1, \"Xe\": 0.2,\n"
            " \"Ne-Ne\": [0.5, 0.2, -0.1, 0], \"Ne-Xe\": [0.9, 0.1, -0.3, 0], \"Xe-Xe\": [1.5, 0.3, -0.2, 0]},\n"
            " \"knots\": {\"Ne-Ne\": [2, 2, 2, 2, 6, 6, 6, 6], \"Ne-Xe\": [2.5, 2.5, 2.5, 2.5, 7, 7, 7, 7],\n"
            " \"Xe-Xe\": [3, 3, 3, 3, 8, 8, 8, 8]}}";
        const char *other =
            "{\"element_list\": [\"Xe\", \"Ne\"], \"degree\": 3, \"coefficients\": {\"Xe\": 0.2, \"Ne\": 0.1,\n"
            " \"Xe-Xe\": [1.5, 0.3, -0.2, 0], \"Xe-Ne\": [0.9, 0.1, -0.3, 0], \"Ne-Ne\": [0.5, 0.2, -0.1, 0]},\n"
            " \"knots\": {\"Xe-Ne\": [2.5, 2.5, 2.5, 2.5, 7, 7, 7, 7], \"Xe-Xe\": [3, 3, 3, 3, 8, 8, 8, 8],\n"
            " \"Ne-Ne\": [2, 2, 2, 2, 6, 6, 6, 6]}}";
        sp_pot_t a, b;
        double pos[6] = {0, 0, 0, 3.1, 0, 0}, cell[9] = {0}, ea = 0, eb = 1, bas[4], v2 = 0;
        int type[2] = {0, 1}, pbc[3] = {0, 0, 0}, i0;
        SP_CHECK(read_str(&a, canon, &d) == SP_OK);
        SP_CHECK(read_str(&b, other, &d) == SP_OK);
        SP_CHECK(same_model(&a, &b));
        SP_CHECK(a.kind == SP_POT_UF3 && strcmp(a.elem[0], "Ne") == 0 && strcmp(a.elem[1], "Xe") == 0);
        SP_CHECK(sp_pot_compute_once(&a, 2, pos, type, cell, pbc, &ea, NULL, NULL, NULL, &d) == SP_OK);
        SP_CHECK(sp_pot_compute_once(&b, 2, pos, type, cell, pbc, &eb, NULL, NULL, NULL, &d) == SP_OK);
        SP_CHECK(ea == eb);
        /* E = e1(Ne) + e1(Xe) + 2 V2(3.1) (ordered pairs), V2 by the definition */
        i0 = sp_bspline_basis(a.uf3.pair[1].t, 8, 3.1, bas, NULL, NULL);
        for (k = 0; k < 4; ++k) v2 += a.uf3.pair[1].c[i0 + k] * bas[k];
        SP_CHECK_NEAR(ea, 0.1 + 0.2 + 2.0 * v2, 1e-13, 1e-14);
        sp_pot_free(&a);
        sp_pot_free(&b);
    }
}

/* ---- hostile input ---- */

static void expect_fail(const char *text, size_t len, sp_result_t code, int line, int src_line) {
    sp_pot_t p;
    sp_diag_t d;
    sp_result_t r = read_json(&p, text, len, &d);
    int ok = r == code && d.line > 0 && (line == 0 || d.line == line) && d.msg[0] && is_empty(&p);
    if (!ok)
        printf("%s:%d: expected %s at line %d, got %s at line %d (%s)\n", __FILE__, src_line, sp_result_str(code), line,
               sp_result_str(r), d.line, d.msg);
    SP_CHECK(ok);
    sp_pot_free(&p);
}
#define EXPECT_FAIL(text, code, line) expect_fail(text, strlen(text), code, line, __LINE__)

/* a small model with one slot per line to break */
static char *tmpl(char *buf, const char *elist, const char *degree, const char *e1, const char *coef,
                  const char *knots, const char *extra) {
    sprintf(buf,
            "{\n"                                   /* 1 */
            "  \"element_list\": [%s],\n"           /* 2 */
            "  \"degree\": %s,\n"                   /* 3 */
            "  \"coefficients\": {\n"               /* 4 */
            "    \"W\": %s,\n"                      /* 5 */
            "    \"W-W\": [%s]\n"                   /* 6 */
            "  },\n"                                /* 7 */
            "  \"knots\": {\n"                      /* 8 */
            "    \"W-W\": [%s]\n"                   /* 9 */
            "  }%s\n"                               /* 10 */
            "}\n",
            elist, degree, e1, coef, knots, extra);
    return buf;
}
#define E "\"W\""
#define C "1, 0.5, 0.25, 0"
#define K "2, 2, 2, 2, 5, 5, 5, 5"

static void test_hostile_tokens(void) {
    static char buf[400000];
    sp_pot_t p;
    sp_diag_t d;
    int k;
    /* the template itself is fine */
    SP_CHECK(read_str(&p, tmpl(buf, E, "3", "-1.5", C, K, ""), &d) == SP_OK);
    SP_CHECK(p.kind == SP_POT_UF3 && p.uf3.e1[0] == -1.5 && p.uf3.pair[0].c[1] == 0.5 && !p.uf3.has3);
    sp_pot_free(&p);
    /* non-finite numbers */
    EXPECT_FAIL(tmpl(buf, E, "3", "NaN", C, K, ""), SP_ERR_NOT_FINITE, 5);
    EXPECT_FAIL(tmpl(buf, E, "3", "Infinity", C, K, ""), SP_ERR_NOT_FINITE, 5);
    EXPECT_FAIL(tmpl(buf, E, "3", "-Infinity", C, K, ""), SP_ERR_NOT_FINITE, 5);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, NaN, 0.25, 0", K, ""), SP_ERR_NOT_FINITE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, 1e999, 0.25, 0", K, ""), SP_ERR_NOT_FINITE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, -2e308, 0.25, 0", K, ""), SP_ERR_NOT_FINITE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, "2, 2, 2, 2, 5, 5, 5, 1e400", ""), SP_ERR_NOT_FINITE, 9);
    /* underflow is not an error: 1e-400 reads as 0 */
    SP_CHECK(read_str(&p, tmpl(buf, E, "3", "1e-400", C, K, ""), &d) == SP_OK && p.uf3.e1[0] == 0.0);
    sp_pot_free(&p);
    /* malformed numbers and literals */
    {
        static const char *bad[] = {"01", "1.", ".5", "+1", "1e", "1e+", "-", "0x10", "1.5.2", "--1", "nan",
                                    "inf", "tru", "nul", "'1'", "1,", "[1", "{}", "\"1\"", "true", "null"};
        for (k = 0; k < (int)(sizeof bad / sizeof bad[0]); ++k)
            EXPECT_FAIL(tmpl(buf, E, "3", bad[k], C, K, ""), SP_ERR_PARSE, 0);
    }
    /* wrong list lengths and shapes */
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, 0.5, 0.25", K, ""), SP_ERR_PARSE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, 0.5, 0.25, 0, 0", K, ""), SP_ERR_PARSE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "", K, ""), SP_ERR_PARSE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, 0.5, [0.25], 0", K, ""), SP_ERR_PARSE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, 0.5, \"0.25\", 0", K, ""), SP_ERR_PARSE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, 0.5, 0.25, null", K, ""), SP_ERR_PARSE, 6);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", "1, 0.5, 0.25", "2, 2, 2, 2, 5, 5, 5", ""), SP_ERR_PARSE, 9);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, "2, 2, 2, 3, 5, 5, 5, 5", ""), SP_ERR_PARSE, 9);   /* not clamped */
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, "5, 5, 5, 5, 2, 2, 2, 2", ""), SP_ERR_PARSE, 9);   /* decreasing */
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, "2, 2, 2, 2, 2, 2, 2, 2", ""), SP_ERR_PARSE, 9);   /* empty range */
    EXPECT_FAIL(tmpl(buf, E, "3", "\"-1.5\"", C, K, ""), SP_ERR_PARSE, 5);
    /* degree, elements */
    EXPECT_FAIL(tmpl(buf, E, "2", "-1.5", C, K, ""), SP_ERR_UNSUPPORTED, 3);
    EXPECT_FAIL(tmpl(buf, E, "3.5", "-1.5", C, K, ""), SP_ERR_UNSUPPORTED, 3);
    EXPECT_FAIL(tmpl(buf, E, "\"3\"", "-1.5", C, K, ""), SP_ERR_PARSE, 3);
    EXPECT_FAIL(tmpl(buf, "\"Xx\"", "3", "-1.5", C, K, ""), SP_ERR_UNKNOWN_ELEMENT, 2);
    EXPECT_FAIL(tmpl(buf, "\"w\"", "3", "-1.5", C, K, ""), SP_ERR_UNKNOWN_ELEMENT, 2);
    EXPECT_FAIL(tmpl(buf, "\"W\", \"W\"", "3", "-1.5", C, K, ""), SP_ERR_PARSE, 2);
    EXPECT_FAIL(tmpl(buf, "\"W\", \"Mo\"", "3", "-1.5", C, K, ""), SP_ERR_PARSE, 4);            /* no Mo-W pair */
    EXPECT_FAIL(tmpl(buf, "\"Mo\"", "3", "-1.5", C, K, ""), SP_ERR_UNKNOWN_ELEMENT, 5);         /* W not listed */
    EXPECT_FAIL(tmpl(buf, "", "3", "-1.5", C, K, ""), SP_ERR_PARSE, 2);
    EXPECT_FAIL(tmpl(buf, "1", "3", "-1.5", C, K, ""), SP_ERR_UNKNOWN_ELEMENT, 2);
    /* strings: escapes, control characters */
    SP_CHECK(read_str(&p, tmpl(buf, E, "3", "-1.5", C, K,
                               ",\n  \"note \\\"quoted\\\" \\u00e9\": \"a \\\" b \\\\ \\/ \\b\\f\\n\\r\\t \\u0041\\uFFFF\""),
                      &d) == SP_OK);
    sp_pot_free(&p);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"bad\": \"\\x\""), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"bad\": \"\\u12G4\""), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"bad\": \"\\u12\""), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"tab\": \"a\tb\""), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"nl\": \"a\nb\""), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"open\": \"abc"), SP_ERR_PARSE, 0);
    /* structure */
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"x\": [1, 2,]"), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"x\": {\"a\" 1}"), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"x\": {\"a\": 1,}"), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"x\": {1: 1}"), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"x\": [1 2]"), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"x\": [1]]"), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ",\n  \"x\": }"), SP_ERR_PARSE, 11);
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, K, ","), SP_ERR_PARSE, 11);
    /* unknown keys of any shape are ignored; the last of duplicate keys counts (as Python) */
    SP_CHECK(read_str(&p, tmpl(buf, E, "3", "-1.5", C, K,
                               ",\n  \"x\": [true, false, null, {}, [], \"\", -0.0e+0, 1E5, {\"a\": [{\"b\": 1}]}]"),
                      &d) == SP_OK);
    sp_pot_free(&p);
    SP_CHECK(read_str(&p, tmpl(buf, E, "2", "-1.5", C, K, ",\n  \"degree\": 3"), &d) == SP_OK);
    sp_pot_free(&p);
    /* after the end */
    tmpl(buf, E, "3", "-1.5", C, K, "");
    strcat(buf, " \n x");
    EXPECT_FAIL(buf, SP_ERR_PARSE, 13);
    tmpl(buf, E, "3", "-1.5", C, K, "");
    strcat(buf, "{}");
    EXPECT_FAIL(buf, SP_ERR_PARSE, 12);
    tmpl(buf, E, "3", "-1.5", C, K, "");
    strcat(buf, "  \r\n\t\n");
    SP_CHECK(read_str(&p, buf, &d) == SP_OK);
    sp_pot_free(&p);
    /* byte order mark */
    buf[0] = (char)0xEF; buf[1] = (char)0xBB; buf[2] = (char)0xBF;
    tmpl(buf + 3, E, "3", "-1.5", C, K, "");
    SP_CHECK(read_str(&p, buf, &d) == SP_OK);
    sp_pot_free(&p);
    /* nesting: 64 open containers in all are fine, 65 are not */
    {
        char extra[300];
        int depth;
        for (depth = 62; depth <= 64; ++depth) {
            int n = 0, i;
            n += sprintf(extra, ",\n  \"deep\": ");
            for (i = 0; i < depth; ++i) extra[n++] = '[';
            for (i = 0; i < depth; ++i) extra[n++] = ']';
            extra[n] = '\0';
            tmpl(buf, E, "3", "-1.5", C, K, extra);
            if (depth < 64) {
                SP_CHECK(read_str(&p, buf, &d) == SP_OK);
                sp_pot_free(&p);
            } else {
                EXPECT_FAIL(buf, SP_ERR_PARSE, 11);
            }
        }
        /* 300000 unclosed '[' and '{"a":' chains */
        memset(buf, '[', 300000);
        expect_fail(buf, 300000, SP_ERR_PARSE, 1, __LINE__);
        for (k = 0; k < 50000; ++k) memcpy(buf + 5 * k, "{\"a\":", 5);
        expect_fail(buf, 250000, SP_ERR_PARSE, 1, __LINE__);
    }
    /* whole-document cases */
    EXPECT_FAIL("", SP_ERR_PARSE, 1);
    EXPECT_FAIL(" \n ", SP_ERR_PARSE, 2);
    EXPECT_FAIL("null", SP_ERR_PARSE, 1);
    EXPECT_FAIL("[]", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{}", SP_ERR_PARSE, 1);
    EXPECT_FAIL("3", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{\"coefficients\": {}, \"knots\": {}}", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{\"coefficients\": [], \"knots\": {}}", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{\"coefficients\": {\"W\": 1}}", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{\"coefficients\": {\"W\": 1},\n \"knots\": 5}", SP_ERR_PARSE, 2);
    EXPECT_FAIL("{\"coefficients\": {\"W\": 1},\n \"knots\": {}}", SP_ERR_PARSE, 1);   /* no W-W */
    EXPECT_FAIL("{\"coefficients\": {\"W-W-W-W\": 1},\n \"knots\": {}}", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{\"coefficients\": {\"W-\": 1},\n \"knots\": {}}", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{\"coefficients\": {\"\": 1},\n \"knots\": {}}", SP_ERR_PARSE, 1);
    EXPECT_FAIL("{\"coefficients\": {\"Qq-W\": 1},\n \"knots\": {}}", SP_ERR_UNKNOWN_ELEMENT, 1);
    {
        static const char nul[] = "{\"coefficients\": {\"W\": 1}\0, \"knots\": {}}";
        expect_fail(nul, sizeof nul - 1, SP_ERR_PARSE, 1, __LINE__);
    }
    /* an escaped key is decoded: "W\u002dW" is "W-W"; no element_list: elements from the keys */
    SP_CHECK(read_str(&p, "{\"coefficients\": {\"W\\u002dW\": [1, 0.5, 0.25, 0]},\n"
                          " \"knots_map\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5]}}", &d) == SP_OK);
    SP_CHECK(p.kind == SP_POT_UF3 && p.nelem == 1 && p.uf3.e1[0] == 0.0 && p.uf3.pair[0].c[0] == 1.0);
    sp_pot_free(&p);
    /* the same interaction twice, in both orders */
    EXPECT_FAIL("{\"coefficients\": {\"Ne-Xe\": [1, 0.5, 0.25, 0],\n \"Xe-Ne\": [1, 0.5, 0.25, 0]},\n"
                " \"knots\": {}}", SP_ERR_PARSE, 2);
    /* a knots key naming an element the model does not have */
    EXPECT_FAIL(tmpl(buf, E, "3", "-1.5", C, "2, 2, 2, 2, 5, 5, 5, 5],\n    \"W-Mo\": [1", ""), SP_ERR_UNKNOWN_ELEMENT, 10);
}
#undef E
#undef C
#undef K

/* 3-body: missing trios, wrong grid shapes, legacy compressed vectors */
static void test_hostile_3body(void) {
    static char buf[20000];
    const char *k3 = "[[2, 2, 2, 2, 3, 3, 3, 3], [2, 2, 2, 2, 3, 3, 3, 3], [2, 2, 2, 2, 6, 6, 6, 6]]";
    const char *row = "[0, 0.1, 0, 0]";
    char grid[1000], plane[200];
    sp_pot_t p;
    sp_diag_t d;
    sprintf(plane, "[%s, %s, %s, %s]", row, row, row, row);
    sprintf(grid, "[%s, %s, %s, %s]", plane, plane, plane, plane);
    sprintf(buf, "{\"element_list\": [\"W\"], \"degree\": 3,\n\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0],\n"
                 "\"W-W-W\": %s},\n\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n\"W-W-W\": %s}}",
            grid, k3);
    SP_CHECK(read_str(&p, buf, &d) == SP_OK);
    SP_CHECK(p.kind == SP_POT_UF3 && p.uf3.has3 && p.uf3.trio[0].c[1] == 0.1);
    sp_pot_free(&p);
    /* legacy: a flat (compressed) 3-body vector under "solution" */
    sprintf(buf, "{\"solution\": {\"W\": -5.1, \"W-W\": [1, 0.5, 0.25, 0],\n"
                 "\"W-W-W\": [0.1, 0.2, 0.3]},\n\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n\"W-W-W\": %s}}",
            k3);
    EXPECT_FAIL(buf, SP_ERR_UNSUPPORTED, 2);
    /* legacy 2-body-only "solution" files are fine */
    SP_CHECK(read_str(&p, "{\"solution\": {\"W\": -5.1, \"W-W\": [1, 0.5, 0.25, 0]},\n"
                          "\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5]}}", &d) == SP_OK);
    SP_CHECK(p.kind == SP_POT_UF3 && p.uf3.e1[0] == -5.1);
    sp_pot_free(&p);
    /* grid with a short row / a short plane / too few planes */
    sprintf(grid, "[%s, %s, %s, [%s, %s, %s, [0, 0.1, 0]]]", plane, plane, plane, row, row, row);
    sprintf(buf, "{\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0],\n\"W-W-W\": %s},\n"
                 "\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n\"W-W-W\": %s}}", grid, k3);
    EXPECT_FAIL(buf, SP_ERR_PARSE, 2);
    sprintf(grid, "[%s, %s, %s, [%s, %s, %s]]", plane, plane, plane, row, row, row);
    sprintf(buf, "{\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0],\n\"W-W-W\": %s},\n"
                 "\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n\"W-W-W\": %s}}", grid, k3);
    EXPECT_FAIL(buf, SP_ERR_PARSE, 2);
    sprintf(grid, "[%s, %s, %s]", plane, plane, plane);
    sprintf(buf, "{\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0],\n\"W-W-W\": %s},\n"
                 "\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n\"W-W-W\": %s}}", grid, k3);
    EXPECT_FAIL(buf, SP_ERR_PARSE, 2);
    /* knots: two lists, or a non-clamped list */
    sprintf(grid, "[%s, %s, %s, %s]", plane, plane, plane, plane);
    sprintf(buf, "{\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0],\n\"W-W-W\": %s},\n"
                 "\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n\"W-W-W\": [[2, 2, 2, 2, 3, 3, 3, 3], [2, 2, 2, 2, 3, 3, 3, 3]]}}",
            grid);
    EXPECT_FAIL(buf, SP_ERR_PARSE, 4);
    sprintf(buf, "{\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0],\n\"W-W-W\": %s},\n"
                 "\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n\"W-W-W\": [[2, 2, 2, 2, 3, 3, 3, 3],\n"
                 "[2, 2, 2, 2, 3, 3, 3, 3],\n[2, 2, 2, 4, 6, 6, 6, 6]]}}",
            grid);
    EXPECT_FAIL(buf, SP_ERR_PARSE, 6);
    sprintf(buf, "{\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0],\n\"W-W-W\": %s},\n"
                 "\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5]}}", grid);
    EXPECT_FAIL(buf, SP_ERR_PARSE, 3);
    /* two elements, one trio given: the others are missing */
    sprintf(buf, "{\"coefficients\": {\"W-W\": [1, 0.5, 0.25, 0], \"Mo-W\": [1, 0.5, 0.25, 0],\n"
                 "\"Mo-Mo\": [1, 0.5, 0.25, 0],\n\"W-W-W\": %s},\n\"knots\": {\"W-W\": [2, 2, 2, 2, 5, 5, 5, 5],\n"
                 "\"Mo-W\": [2, 2, 2, 2, 5, 5, 5, 5], \"Mo-Mo\": [2, 2, 2, 2, 5, 5, 5, 5], \"W-W-W\": %s}}",
            grid, k3);
    {
        sp_result_t r = read_str(&p, buf, &d);
        SP_CHECK(r == SP_ERR_PARSE && d.line == 1 && strstr(d.msg, "Mo-Mo-Mo") && is_empty(&p));
        sp_pot_free(&p);
    }
}

/* every proper prefix of a valid file fails cleanly; random mutations and
   garbage never crash and always name a line when they fail */
static void test_truncation_and_fuzz(void) {
    static const int z1[1] = {74}, z2[2] = {42, 74};
    int v;
    for (v = 0; v < 2; ++v) {
        sp_pot_t a, p;
        sp_diag_t d;
        size_t n, cut, end;
        char *text;
        int bad = 0, it;
        tiny_model(&a, v + 1, v ? z2 : z1, 1);
        text = write_json(&a, &n);
        if (!text) continue;
        end = n;
        while (end > 0 && text[end - 1] != '}') --end; /* the prefix ending in the last '}' is complete */
        for (cut = 0; cut < end; ++cut) {
            sp_result_t r = read_json(&p, text, cut, &d);
            if (r == SP_OK || d.line <= 0 || !is_empty(&p)) {
                if (bad++ < 5) printf("  truncated at %d of %d: %s line %d\n", (int)cut, (int)n, sp_result_str(r), d.line);
            }
            sp_pot_free(&p);
        }
        SP_CHECK(bad == 0);
        SP_CHECK(read_json(&p, text, end, &d) == SP_OK && same_model(&a, &p));
        sp_pot_free(&p);
        /* random mutations, biased to JSON syntax */
        bad = 0;
        for (it = 0; it < 3000; ++it) {
            static const char alphabet[] = "{}[],:\"\\-+.0123456789eEtrufalsnNIy \n\t";
            char *m = (char *)malloc(n);
            int j, nm = 1 + (int)(4 * tu_urand());
            sp_result_t r;
            memcpy(m, text, n);
            for (j = 0; j < nm; ++j) {
                size_t at = (size_t)(tu_urand() * (double)n);
                m[at] = tu_urand() < 0.8 ? alphabet[(int)(tu_urand() * (sizeof alphabet - 1))]
                                         : (char)(int)(tu_urand() * 256);
            }
            r = read_json(&p, m, n, &d);
            if (r != SP_OK && (d.line <= 0 || !is_empty(&p))) bad++;
            if (r == SP_OK && p.kind != SP_POT_UF3) bad++;
            sp_pot_free(&p);
            free(m);
        }
        SP_CHECK(bad == 0);
        free(text);
        sp_pot_free(&a);
    }
    /* garbage */
    {
        int it, bad = 0;
        for (it = 0; it < 500; ++it) {
            size_t n = (size_t)(tu_urand() * 400), j;
            char *g = (char *)malloc(n ? n : 1);
            sp_pot_t p;
            sp_diag_t d;
            for (j = 0; j < n; ++j) g[j] = (char)(int)(tu_urand() * 256);
            if (it % 2 && n) g[0] = '{';
            if (read_json(&p, g, n, &d) == SP_OK || d.line <= 0 || !is_empty(&p)) bad++;
            sp_pot_free(&p);
            free(g);
        }
        SP_CHECK(bad == 0);
    }
}

/* the writer refuses what it cannot write */
static void test_writer_errors(void) {
    static const int z[1] = {14};
    sp_pot_t a;
    FILE *fp = tmpfile();
    tiny_model(&a, 1, z, 0);
    SP_CHECK(sp__uf3_write_json(NULL, fp) == SP_ERR_BAD_ARG);
    SP_CHECK(sp__uf3_write_json(&a, NULL) == SP_ERR_BAD_ARG);
    a.uf3.pair[0].c[2] = strtod("nan", NULL);
    SP_CHECK(sp__uf3_write_json(&a, fp) == SP_ERR_NOT_FINITE);
    sp_pot_free(&a);
    a.kind = SP_POT_MEAM;
    SP_CHECK(sp__uf3_write_json(&a, fp) == SP_ERR_UNSUPPORTED);
    fclose(fp);
    /* and the reader's own argument check */
    {
        sp_pot_t p;
        sp_diag_t d;
        memset(&p, 0, sizeof p);
        SP_CHECK(sp__uf3_read_json(NULL, "{}", 2, &d) == SP_ERR_BAD_ARG);
        SP_CHECK(sp__uf3_read_json(&p, NULL, 5, NULL) == SP_ERR_BAD_ARG);
        SP_CHECK(sp__uf3_read_json(&p, "{", 1, NULL) == SP_ERR_PARSE); /* diag may be NULL */
    }
}

int main(void) {
    test_round_trip();
    test_other_order();
    test_hostile_tokens();
    test_hostile_3body();
    test_truncation_and_fuzz();
    test_writer_errors();
    return sp_test_finish();
}
