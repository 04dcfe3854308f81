/* splinepot as a KIM API model driver (https://openkim.org/kim-api/): any
   potential file the header reads (meam/spline, meam/sw/spline, LAMMPS or
   uf3-JSON UF3, s-NNP) becomes a KIM portable model, so that LAMMPS
   (`kim init` / `pair_style kim`), ASE (kimpy) and the other KIM
   simulators run it, in parallel where they are.

   The simulator hands in its contributing particles and, around them, the
   padding particles (its ghosts) within the influence distance. The driver
   lists all of them itself, as a cluster, with a skin of SPK_SKIN (the list
   is kept while the particle count stays and no particle has moved half the
   skin: valid whatever the simulator's numbering), and evaluates with
   sp_out_t.contributing set to the simulator's flags: the energy is
   that of the contributing particles, the forces its derivatives on every
   particle (the simulator adds the padding ones back to their owners). The
   simulator's neighbour lists are not used (one is declared, as the API
   asks). No parameter is published (so no Refresh routine). Units: A and
   eV, as the files. A second parameter file, when
   there is one, names the elements of a file that does not (the first
   meam/spline format): symbols separated by blanks, in the file's order.

   Install with tools/kim/install.sh (README). */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include "KIM_ModelDriverHeaders.h"
#include <stdlib.h>
#include <string.h>

typedef struct spk_buffer_t {
    sp_pot_t pot;
    double influence, cutoff;
    int no_padding_neighbours; /* the API's modelWillNotRequestNeighborsOfNoncontributingParticles */
    sp_nlist_t nl;
    sp_work_t ws;
    double *virials; /* 9 per particle, when the per-particle virial is asked for */
    int cap;
} spk_buffer_t;

int model_driver_create(KIM_ModelDriverCreate *const create, KIM_LengthUnit const length, KIM_EnergyUnit const energy,
                        KIM_ChargeUnit const charge, KIM_TemperatureUnit const temperature, KIM_TimeUnit const time);

#define SPK_SKIN 0.3 /* A beyond the cutoff in splinepot's own list, which is kept while no particle moved half of it */
#define SPK_LOG(obj, fn, msg) fn(obj, KIM_LOG_VERBOSITY_error, msg, __LINE__, __FILE__)

static int spk_compute(KIM_ModelCompute const *const mc, KIM_ModelComputeArguments const *const ma) {
    spk_buffer_t *b;
    int *np = NULL, *codes = NULL, *contributing = NULL, n, i, a;
    double *x = NULL, *energy = NULL, *forces = NULL, *penergy = NULL, *virial = NULL, *pvirial = NULL;
    static const int voigt[6] = {0, 4, 8, 5, 2, 1}; /* xx yy zz yz xz xy of the 3x3 row-major tensor */
    sp_cell_t cell;
    sp_out_t out;
    sp_diag_t d;
    sp_result_t r;
    KIM_ModelCompute_GetModelBufferPointer(mc, (void **)&b);
    if (KIM_ModelComputeArguments_GetArgumentPointerInteger(ma, KIM_COMPUTE_ARGUMENT_NAME_numberOfParticles, &np) ||
        KIM_ModelComputeArguments_GetArgumentPointerInteger(ma, KIM_COMPUTE_ARGUMENT_NAME_particleSpeciesCodes, &codes) ||
        KIM_ModelComputeArguments_GetArgumentPointerInteger(ma, KIM_COMPUTE_ARGUMENT_NAME_particleContributing,
                                                            &contributing) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(ma, KIM_COMPUTE_ARGUMENT_NAME_coordinates, &x) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(ma, KIM_COMPUTE_ARGUMENT_NAME_partialEnergy, &energy) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(ma, KIM_COMPUTE_ARGUMENT_NAME_partialForces, &forces) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(ma, KIM_COMPUTE_ARGUMENT_NAME_partialParticleEnergy, &penergy) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(ma, KIM_COMPUTE_ARGUMENT_NAME_partialVirial, &virial) ||
        KIM_ModelComputeArguments_GetArgumentPointerDouble(ma, KIM_COMPUTE_ARGUMENT_NAME_partialParticleVirial, &pvirial)) {
        SPK_LOG(mc, KIM_ModelCompute_LogEntry, "splinepot: the compute arguments could not be read");
        return 1;
    }
    n = *np;
    for (i = 0; i < n; ++i)
        if (codes[i] < 0 || codes[i] >= b->pot.nelem) {
            SPK_LOG(mc, KIM_ModelCompute_LogEntry, "splinepot: a particle of a species the model does not have");
            return 1;
        }
    if (pvirial && n > b->cap) {
        double *v = (double *)realloc(b->virials, 9 * (size_t)n * sizeof(double));
        if (!v) {
            SPK_LOG(mc, KIM_ModelCompute_LogEntry, "splinepot: out of memory");
            return 1;
        }
        b->virials = v;
        b->cap = n;
    }
    memset(&cell, 0, sizeof cell); /* a cluster: no periodic direction */
    memset(&out, 0, sizeof out);
    memset(&d, 0, sizeof d);
    out.forces = forces;
    out.energies = penergy;
    out.virials = pvirial ? b->virials : NULL;
    out.contributing = contributing;
    /* the list of the last call while no particle has moved half the skin from where it was built */
    r = SP_OK;
    if (n != b->nl.natoms || n == 0 || (sp_nlist_update(&b->nl, x), sp_nlist_stale(&b->nl, x, b->cutoff)))
        r = sp_nlist_build(&b->nl, &cell, x, n, b->cutoff + SPK_SKIN, &d);
    if (r == SP_OK) r = sp_pot_compute(&b->pot, &b->nl, codes, &b->ws, &out);
    if (r != SP_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "splinepot: %s%s%s", sp_result_str(r), d.msg[0] ? ": " : "", d.msg);
        SPK_LOG(mc, KIM_ModelCompute_LogEntry, msg);
        return 1;
    }
    /* the KIM virial is -sum r (x) F (KIM's sign), splinepot's W = sum r (x) F (LAMMPS's) */
    if (energy) *energy = out.energy;
    if (virial)
        for (a = 0; a < 6; ++a) virial[a] = -out.virial[voigt[a]];
    if (pvirial)
        for (i = 0; i < n; ++i)
            for (a = 0; a < 6; ++a) pvirial[6 * (size_t)i + a] = -b->virials[9 * (size_t)i + voigt[a]];
    return 0;
}

static int spk_arguments_create(KIM_ModelCompute const *const mc, KIM_ModelComputeArgumentsCreate *const ac) {
    (void)mc;
    return KIM_ModelComputeArgumentsCreate_SetArgumentSupportStatus(ac, KIM_COMPUTE_ARGUMENT_NAME_partialEnergy,
                                                                    KIM_SUPPORT_STATUS_optional) ||
           KIM_ModelComputeArgumentsCreate_SetArgumentSupportStatus(ac, KIM_COMPUTE_ARGUMENT_NAME_partialForces,
                                                                    KIM_SUPPORT_STATUS_optional) ||
           KIM_ModelComputeArgumentsCreate_SetArgumentSupportStatus(ac, KIM_COMPUTE_ARGUMENT_NAME_partialParticleEnergy,
                                                                    KIM_SUPPORT_STATUS_optional) ||
           KIM_ModelComputeArgumentsCreate_SetArgumentSupportStatus(ac, KIM_COMPUTE_ARGUMENT_NAME_partialVirial,
                                                                    KIM_SUPPORT_STATUS_optional) ||
           KIM_ModelComputeArgumentsCreate_SetArgumentSupportStatus(ac, KIM_COMPUTE_ARGUMENT_NAME_partialParticleVirial,
                                                                    KIM_SUPPORT_STATUS_optional);
}

static int spk_arguments_destroy(KIM_ModelCompute const *const mc, KIM_ModelComputeArgumentsDestroy *const ad) {
    (void)mc;
    (void)ad;
    return 0;
}

static int spk_destroy(KIM_ModelDestroy *const md) {
    spk_buffer_t *b;
    KIM_ModelDestroy_GetModelBufferPointer(md, (void **)&b);
    if (b) {
        sp_pot_free(&b->pot);
        sp_nlist_free(&b->nl);
        sp_work_free(&b->ws);
        free(b->virials);
        free(b);
    }
    return 0;
}

int model_driver_create(KIM_ModelDriverCreate *const create, KIM_LengthUnit const length, KIM_EnergyUnit const energy,
                        KIM_ChargeUnit const charge, KIM_TemperatureUnit const temperature, KIM_TimeUnit const time) {
    int nfiles = 0, k;
    char const *dir = NULL, *base = NULL, *base2 = NULL;
    char path[4096], msg[600], names[SP_MAX_ELEMENTS][8];
    spk_buffer_t *b;
    sp_diag_t d;
    sp_result_t r;
    (void)length;
    (void)energy;
    (void)charge;
    (void)temperature;
    (void)time;
    if (KIM_ModelDriverCreate_SetUnits(create, KIM_LENGTH_UNIT_A, KIM_ENERGY_UNIT_eV, KIM_CHARGE_UNIT_unused,
                                       KIM_TEMPERATURE_UNIT_unused, KIM_TIME_UNIT_unused) ||
        KIM_ModelDriverCreate_SetModelNumbering(create, KIM_NUMBERING_zeroBased)) {
        SPK_LOG(create, KIM_ModelDriverCreate_LogEntry, "splinepot: units or numbering refused");
        return 1;
    }
    KIM_ModelDriverCreate_GetNumberOfParameterFiles(create, &nfiles);
    if (nfiles != 1 && nfiles != 2) {
        SPK_LOG(create, KIM_ModelDriverCreate_LogEntry,
                "splinepot: a model has the potential file and, for one that names no elements, their symbols");
        return 1;
    }
    KIM_ModelDriverCreate_GetParameterFileDirectoryName(create, &dir);
    if (KIM_ModelDriverCreate_GetParameterFileBasename(create, 0, &base) || !dir || !base ||
        (size_t)snprintf(path, sizeof path, "%s/%s", dir, base) >= sizeof path) {
        SPK_LOG(create, KIM_ModelDriverCreate_LogEntry, "splinepot: no parameter file name");
        return 1;
    }
    b = (spk_buffer_t *)calloc(1, sizeof *b);
    if (!b) {
        SPK_LOG(create, KIM_ModelDriverCreate_LogEntry, "splinepot: out of memory");
        return 1;
    }
    memset(&d, 0, sizeof d);
    if ((r = sp_pot_read_file(&b->pot, path, &d)) != SP_OK) {
        snprintf(msg, sizeof msg, "splinepot: %s: %s (line %d): %s", base, sp_result_str(r), d.line, d.msg);
        SPK_LOG(create, KIM_ModelDriverCreate_LogEntry, msg);
        free(b);
        return 1;
    }
    for (k = 0; k < b->pot.nelem; ++k) {
        memcpy(names[k], b->pot.elem[k], sizeof names[k]);
        names[k][sizeof names[k] - 1] = '\0';
    }
    if (nfiles == 2) { /* the elements' symbols */
        FILE *fp = NULL;
        int ok = !KIM_ModelDriverCreate_GetParameterFileBasename(create, 1, &base2) && base2 &&
                 (size_t)snprintf(path, sizeof path, "%s/%s", dir, base2) < sizeof path && (fp = fopen(path, "r")) != NULL;
        for (k = 0; ok && k < b->pot.nelem; ++k) ok = fscanf(fp, "%7s", names[k]) == 1;
        if (fp) fclose(fp);
        if (!ok) {
            snprintf(msg, sizeof msg, "splinepot: %s: fewer than %d element symbols", base2 ? base2 : "?", b->pot.nelem);
            SPK_LOG(create, KIM_ModelDriverCreate_LogEntry, msg);
            sp_pot_free(&b->pot);
            free(b);
            return 1;
        }
    }
    for (k = 0; k < b->pot.nelem; ++k) {
        KIM_SpeciesName sn = KIM_SpeciesName_FromString(names[k]);
        if (!KIM_SpeciesName_Known(sn) || KIM_ModelDriverCreate_SetSpeciesCode(create, sn, k)) {
            snprintf(msg, sizeof msg, "splinepot: %s: element '%s' is not a KIM species%s", base, names[k],
                     names[k][0] ? "" : " (the file names none: install it with --element)");
            SPK_LOG(create, KIM_ModelDriverCreate_LogEntry, msg);
            sp_pot_free(&b->pot);
            free(b);
            return 1;
        }
    }
    b->influence = b->cutoff = b->pot.cutoff;
    b->no_padding_neighbours = 1;
    KIM_ModelDriverCreate_SetModelBufferPointer(create, b);
    KIM_ModelDriverCreate_SetInfluenceDistancePointer(create, &b->influence);
    KIM_ModelDriverCreate_SetNeighborListPointers(create, 1, &b->cutoff, &b->no_padding_neighbours);
    if (KIM_ModelDriverCreate_SetRoutinePointer(create, KIM_MODEL_ROUTINE_NAME_ComputeArgumentsCreate, KIM_LANGUAGE_NAME_c, 1,
                                                (KIM_Function *)spk_arguments_create) ||
        KIM_ModelDriverCreate_SetRoutinePointer(create, KIM_MODEL_ROUTINE_NAME_Compute, KIM_LANGUAGE_NAME_c, 1,
                                                (KIM_Function *)spk_compute) ||
        KIM_ModelDriverCreate_SetRoutinePointer(create, KIM_MODEL_ROUTINE_NAME_ComputeArgumentsDestroy,
                                                KIM_LANGUAGE_NAME_c, 1, (KIM_Function *)spk_arguments_destroy) ||
        KIM_ModelDriverCreate_SetRoutinePointer(create, KIM_MODEL_ROUTINE_NAME_Destroy, KIM_LANGUAGE_NAME_c, 1,
                                                (KIM_Function *)spk_destroy)) {
        SPK_LOG(create, KIM_ModelDriverCreate_LogEntry, "splinepot: routines refused");
        sp_pot_free(&b->pot);
        free(b);
        return 1;
    }
    return 0;
}
