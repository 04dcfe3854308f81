# splinepot - build, test, demo, benchmarks.
#   make          the tool (build/splinepot) and the test programs
#   make demo     the main job on built-in defaults
#   make test     builds and runs every test; last line "N passed, N failed"
#   make sanitize the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make cuda     compiles the CUDA layer with nvcc (when present)
#   make bench    benchmarks (neighbour lists; see README for the others)
CC      ?= cc
CXX     ?= c++
NVCC    ?= $(shell command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)
OPT     ?= -O3 -march=native
WARN    := -Wall -Wextra -pedantic -Werror
# -ffp-contract=off: no fused multiply-add, so splines are bit-identical to LAMMPS
FP      := -ffp-contract=off
OMP     := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)
CFLAGS  ?= $(OPT) $(FP) $(WARN) $(OMP)
LDLIBS  := -lm
B       := build

TESTS   := $(B)/test_spline $(B)/test_bspline $(B)/test_cells $(B)/test_meam $(B)/test_io $(B)/test_cmaes $(B)/test_uf3 $(B)/test_ridge $(B)/test_json $(B)/test_sv $(B)/test_lammps \
           $(B)/test_cpp $(B)/test_static $(B)/test_c11
HDR     := splinepot.h tests/sp_test.h tests/test_util.h

EXAMPLES := $(B)/01_meam_forces

all: $(B)/splinepot $(TESTS) $(EXAMPLES)

$(B)/01_%: examples/01_%.c splinepot.h | $(B)
	$(CC) -std=c99 $(CFLAGS) -I. $< -o $@ $(LDLIBS)

examples: $(EXAMPLES)
	./$(B)/01_meam_forces

$(B):
	mkdir -p $(B)

$(B)/splinepot: tools/splinepot.c tools/bench_cmaes.c tools/bench_ridge.c splinepot.h | $(B)
	$(CC) -std=c99 $(CFLAGS) $< -o $@ $(LDLIBS) -ldl

$(B)/test_%: tests/test_%.c $(HDR) | $(B)
	$(CC) -std=c99 $(CFLAGS) $< -o $@ $(LDLIBS)

$(B)/test_c11: tests/test_meam.c $(HDR) | $(B)
	$(CC) -std=c11 $(CFLAGS) $< -o $@ $(LDLIBS)

$(B)/test_cpp: tests/test_cpp.cpp $(HDR) | $(B)
	$(CXX) -std=c++11 $(OPT) $(FP) $(WARN) $< -o $@ $(LDLIBS)

$(B)/test_static: tests/test_static.c tests/static_b.c $(HDR) | $(B)
	$(CC) -std=c99 $(CFLAGS) tests/test_static.c tests/static_b.c -o $@ $(LDLIBS)

test: all
	@./tests/run.sh $(TESTS)

# ASan + UBSan build of the same tests (separate directory)
sanitize:
	$(MAKE) B=build/san OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all $(FP) $(WARN)" \
	    LDLIBS="-lm -fsanitize=address,undefined" test

# replays tests/fuzz/regressions and the seed corpora through every parser harness (ASan+UBSan)
fuzz-regressions:
	sh tests/fuzz/run_regressions.sh

demo: $(B)/splinepot
	./$(B)/splinepot demo

bench: $(B)/splinepot
	./$(B)/splinepot bench cells

cuda:
	@if [ -x "$(NVCC)" ]; then \
	    echo "nvcc: compiling the header's implementation as CUDA C++ host code"; \
	    mkdir -p $(B) && $(NVCC) -x cu -std=c++14 -O2 tests/test_cpp.cpp -o $(B)/test_cpp_nvcc && ./$(B)/test_cpp_nvcc; \
	else echo "nvcc not found: CUDA layer skipped"; fi

clean:
	rm -rf build

.PHONY: all test sanitize demo bench cuda clean examples fuzz-regressions
