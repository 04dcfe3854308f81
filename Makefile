# splinepot - build, test, demo, benchmarks.
#   make          the tool (build/splinepot), the test programs and the examples
#   make demo     the main job on built-in defaults
#   make test     builds and runs every test; last line "N passed, N failed"
#   make sanitize the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make matrix   gcc/clang, C99/C11/C++, -O0/-O3, OpenMP on/off; valgrind; cppcheck
#   make cuda     the CUDA layer with nvcc (when present): build/splinepot_cuda,
#                 build/cuda/test_cuda (GPU against CPU; skips without a device) and
#                 build/cuda/test_cuda_host (the structure-vector kernels' code on the CPU)
#   make bench    benchmarks (neighbour lists; see README for the others)
#   make python   build/libsplinepot_py.so for tools/python/splinepot.py (ctypes, ASE calculator)
CC      ?= cc
CXX     ?= c++
NVCC    ?= $(shell command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)
# (not NVARCH: CUDA containers set that to the CPU architecture)
# sm_90 (H100) code, plus sm_80 code and compute_80 PTX that newer GPUs JIT-compile
CUDA_ARCH  ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=[sm_80,compute_80]
# -fmad=false: no fused multiply-add, the arithmetic of the CPU build (-ffp-contract=off)
NVFLAGS ?= -O3 -std=c++14 -fmad=false $(CUDA_ARCH)
OPT     ?= -O3 -march=native
WARN    := -Wall -Wextra -pedantic -Werror
# -ffp-contract=off: no fused multiply-add, so splines are bit-identical to LAMMPS
FP      := -ffp-contract=off
OMP     := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)
CFLAGS  ?= $(OPT) $(FP) $(WARN) $(OMP)
LDLIBS  := -lm
B       := build

TESTS   := $(B)/test_spline $(B)/test_bspline $(B)/test_cells $(B)/test_meam $(B)/test_io $(B)/test_cmaes $(B)/test_uf3 $(B)/test_ridge $(B)/test_json $(B)/test_sv $(B)/test_lammps \
           $(B)/test_cpp $(B)/test_static $(B)/test_c11 $(B)/test_cuda $(B)/test_smfit $(B)/test_snnp $(B)/test_uf3_fast $(B)/test_props
# shell tests, run on $(B)/splinepot (they close with "N passed, N failed" too)
TEST_SCRIPTS := tests/test_determinism.sh tests/test_melt.sh tests/test_kim.sh tests/test_python.sh
HDR     := splinepot.h tests/sp_test.h tests/test_util.h tests/uf3_ref.h

EXAMPLES := $(B)/01_meam_forces $(B)/02_md_loop $(B)/03_uf3_fit $(B)/04_crystal $(B)/05_snnp_filters $(B)/06_monte_carlo \
            $(B)/07_npt

all: tests $(EXAMPLES)

# what `make test` runs: the tool, the test programs and the library of the
# Python layer (the examples are built by `make` and run by `make examples`)
PYLIB   := $(B)/libsplinepot_py.so
tests: $(B)/splinepot $(TESTS) $(PYLIB)

$(B)/0%: examples/0%.c splinepot.h examples/sw_silicon.h examples/sw_cells.h | $(B)
	$(CC) -std=c99 $(CFLAGS) -I. $< -o $@ $(LDLIBS)

examples: $(EXAMPLES) $(PYLIB)
	./$(B)/01_meam_forces
	./$(B)/02_md_loop
	./$(B)/03_uf3_fit
	./$(B)/04_crystal
	./$(B)/05_snnp_filters
	./$(B)/06_monte_carlo
	./$(B)/07_npt
	@py=$$(for p in python3 /usr/bin/python3; do $$p -c 'import numpy, ase' 2>/dev/null && echo $$p && break; done); \
	if [ -n "$$py" ]; then echo "$$py examples/08_ase.py"; SPLINEPOT=$(B)/splinepot SPLINEPOT_LIB=$(PYLIB) $$py examples/08_ase.py; \
	else echo "examples/08_ase.py: skipped (no python3 with numpy and ASE)"; fi

$(B):
	mkdir -p $(B)

$(B)/splinepot: tools/splinepot.c tools/bench_cmaes.c tools/bench_ridge.c tools/fit_snnp.c tools/melt.c splinepot.h | $(B)
	$(CC) -std=c99 $(CFLAGS) $< -o $@ $(LDLIBS) -ldl

# the shared library tools/python/splinepot.py loads
$(B)/libsplinepot_py.so: tools/python/splinepot_py.c splinepot.h | $(B)
	$(CC) -std=c99 $(CFLAGS) -fPIC -shared $< -o $@ $(LDLIBS)

python: $(PYLIB)

# The implementation compiled once (tests/sp_impl.c), for the test programs
# that use only the public API. The others compile it themselves: test_uf3
# and test_json call private functions, test_cpp, test_static and test_c11
# test how it compiles.
LINKED  := test_spline test_bspline test_cells test_meam test_io test_cmaes test_ridge test_sv test_lammps \
           test_cuda test_smfit test_snnp test_uf3_fast test_props

$(B)/sp_impl.o: tests/sp_impl.c splinepot.h | $(B)
	$(CC) -std=c99 $(CFLAGS) -c $< -o $@

$(addprefix $(B)/,$(LINKED)): $(B)/test_%: tests/test_%.c $(HDR) $(B)/sp_impl.o | $(B)
	$(CC) -std=c99 $(CFLAGS) $< $(B)/sp_impl.o -o $@ $(LDLIBS)

$(B)/test_%: tests/test_%.c $(HDR) | $(B)
	$(CC) -std=c99 $(CFLAGS) $< -o $@ $(LDLIBS)

$(B)/test_c11: tests/test_meam.c $(HDR) | $(B)
	$(CC) -std=c11 $(CFLAGS) -DSPLINEPOT_IMPLEMENTATION $< -o $@ $(LDLIBS)

$(B)/test_cpp: tests/test_cpp.cpp $(HDR) | $(B)
	$(CXX) -std=c++11 $(OPT) $(FP) $(WARN) $< -o $@ $(LDLIBS)

$(B)/test_static: tests/test_static.c tests/static_b.c $(HDR) | $(B)
	$(CC) -std=c99 $(CFLAGS) tests/test_static.c tests/static_b.c -o $@ $(LDLIBS)

test: tests
	@SPLINEPOT=$(B)/splinepot ./tests/run.sh $(TESTS) $(TEST_SCRIPTS)

# ASan + UBSan build of the same tests (separate directory; without OpenMP, so two run at a time;
# SP_TEST_QUICK: the long sweeps and fits take their subsets, the code paths stay the same).
# -g1: line tables for the reports without the variable tracking that made every compile of the
# header 35 s instead of 24. test_cpp, test_static and test_c11 are left out: they test how the
# header compiles (the matrix builds those languages and standards), and test_c11 is test_meam;
# test_kim.sh and test_python.sh too (LAMMPS and Python load code built outside this build).
SAN_B     := build/san
SAN_FLAGS := -O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_TESTS := $(filter-out $(B)/test_cpp $(B)/test_static $(B)/test_c11,$(TESTS))
SAN_MAKE  := $(MAKE) B=$(SAN_B) OPT="$(SAN_FLAGS)" CFLAGS="$(SAN_FLAGS) $(FP) $(WARN)" LDLIBS="-lm -fsanitize=address,undefined"
sanitize:
	+SP_TEST_QUICK=1 RUN_JOBS=2 $(SAN_MAKE) TESTS="$(subst $(B)/,$(SAN_B)/,$(SAN_TESTS))" TEST_SCRIPTS=tests/test_determinism.sh PYLIB= test

# compilers x standards x -O x OpenMP, valgrind memcheck, cppcheck (.ci/matrix.sh; build/matrix/)
matrix:
	bash .ci/matrix.sh

# the names of the test programs, and of those linked with sp_impl.o, for .ci/matrix.sh
list-tests:
	@echo $(notdir $(TESTS))
list-linked:
	@echo $(LINKED)

# replays tests/fuzz/regressions and the seed corpora through every parser harness (ASan+UBSan),
# linked with the sanitizer build's implementation (built here if `make sanitize` has not)
fuzz-regressions:
	+$(SAN_MAKE) $(SAN_B)/sp_impl.o
	SP_IMPL_O=$(SAN_B)/sp_impl.o sh tests/fuzz/run_regressions.sh

demo: $(B)/splinepot
	./$(B)/splinepot demo

bench: $(B)/splinepot
	./$(B)/splinepot bench cells

cuda:
	@if [ -x "$(NVCC)" ]; then \
	    $(MAKE) --no-print-directory $(B)/test_cpp_nvcc cuda-build && ./$(B)/test_cpp_nvcc && ./$(B)/cuda/test_cuda_host && \
	    ./$(B)/cuda/test_cuda; \
	else echo "nvcc not found: CUDA layer skipped"; fi

# the header's implementation compiled by nvcc as CUDA C++ host code
$(B)/test_cpp_nvcc: tests/test_cpp.cpp $(HDR) | $(B)
	$(NVCC) -x cu -std=c++14 -O2 $< -o $@

# the CUDA layer: splinepot_cuda.cu with nvcc, the C side with -DSPLINEPOT_CUDA, linked by nvcc
NVLINK  := $(CUDA_ARCH) $(if $(OMP),-Xcompiler $(OMP))
cuda-build: $(B)/splinepot_cuda $(B)/cuda/test_cuda $(B)/cuda/test_cuda_host

$(B)/cuda:
	mkdir -p $(B)/cuda

$(B)/cuda/splinepot_cuda.o: splinepot_cuda.cu splinepot.h | $(B)/cuda
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(B)/cuda/sp_impl.o: tests/sp_impl.c splinepot.h | $(B)/cuda
	$(CC) -std=c99 $(CFLAGS) -DSPLINEPOT_CUDA -c $< -o $@

$(B)/cuda/test_cuda: tests/test_cuda.c $(HDR) $(B)/cuda/sp_impl.o $(B)/cuda/splinepot_cuda.o | $(B)/cuda
	$(CC) -std=c99 $(CFLAGS) -DSPLINEPOT_CUDA -c $< -o $(B)/cuda/test_cuda.o
	$(NVCC) $(NVLINK) $(B)/cuda/test_cuda.o $(B)/cuda/sp_impl.o $(B)/cuda/splinepot_cuda.o -o $@ $(LDLIBS)

# the .cu included whole, its kernels as PTX only (never run: no SASS to build)
$(B)/cuda/test_cuda_host: tests/test_cuda_host.cu splinepot_cuda.cu $(HDR) $(B)/cuda/sp_impl.o | $(B)/cuda
	$(NVCC) -O2 -std=c++14 -fmad=false -gencode arch=compute_80,code=compute_80 $(if $(OMP),-Xcompiler $(OMP)) \
	    $< $(B)/cuda/sp_impl.o -o $@ $(LDLIBS)

$(B)/splinepot_cuda: tools/splinepot.c tools/bench_cmaes.c tools/bench_ridge.c tools/fit_snnp.c splinepot.h $(B)/cuda/splinepot_cuda.o | $(B)/cuda
	$(CC) -std=c99 $(CFLAGS) -DSPLINEPOT_CUDA -c $< -o $(B)/cuda/splinepot.o
	$(NVCC) $(NVLINK) $(B)/cuda/splinepot.o $(B)/cuda/splinepot_cuda.o -o $@ $(LDLIBS) -ldl

clean:
	rm -rf build

.PHONY: all tests test sanitize demo bench python cuda cuda-build clean examples fuzz-regressions matrix list-tests list-linked
