# lesion: build, test, benchmark.
#
#   make            build/lesion, build/liblesion.a and build/liblesion.so
#   make install    the CLI, both libraries, the headers, lesion.pc and the
#                   bundled model under $(DESTDIR)$(PREFIX) (default /usr/local)
#   make python     the shared library placed inside python/lesion/ (import lesion)
#   make MPI=1      also build/lesion-mpi (Open MPI: mpirun -n N build/lesion-mpi sweep ...)
#   make run        install missing Debian packages, build, run the main job
#                   (the seed experiment on the bundled model -> lesion-report/)
#   make test       install missing Debian packages, build, run every test
#   make test-asan  the same suite under AddressSanitizer + UBSan (build-asan/)
#   make bench      performance against PyTorch (see docs/performance.md)
#   make model      retrain the bundled model from scratch (about an hour)
#
# Sources are found by wildcard: one folder per layer under src/, tests under
# tests/ mirror them (tests/<layer>/test_*.c, one binary each).
#
# The build is portable: no -march=native, so build/lesion runs on any
# x86-64 CPU. The files of src/kernels/simd/ are compiled once per ISA path
# (generic, avx2, avx512, avx512bf16) with that path's flags, and the kernels pick a
# path at run time from CPUID (src/kernels/simd.h; LESION_ISA forces one).

SAN ?=
ifeq ($(SAN),1)
  BUILD  ?= build-asan
  CC     := clang
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -Wno-pass-failed
  LDSAN  := -fsanitize=address,undefined
  OMPFLAGS := -fopenmp=libomp
else
  BUILD  ?= build
  CC     ?= gcc
  OPT    := -O3 -g
  LDSAN  :=
  OMPFLAGS := -fopenmp
endif

PKGS    := libpcre2-8 libcjson openblas
# -ffp-contract=off: no fused multiply-adds behind our back, so every ISA
# path computes the same bits (-std=c11 implies it; this keeps it explicit).
# One set of objects serves both libraries, so they are position independent
# (-fPIC) and hide every symbol the public headers do not declare
# (-fvisibility=hidden; include/lesion.h pushes default visibility around
# the API). -fno-semantic-interposition lets gcc inline public functions
# within their file as it did before -fPIC; with -ffp-contract=off inlining
# changes no bits.
PIC     := -fPIC -fvisibility=hidden -fno-semantic-interposition
CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -ffp-contract=off $(OPT) $(PIC) $(OMPFLAGS) -Iinclude -Isrc \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# LIBLINEAR (the probes' classifier): Debian's liblinear-dev ships no
# pkg-config file (only /usr/include/linear.h and liblinear.so), so it is
# linked by name, as its README.Debian says to.
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -llinear -lm
LDFLAGS := $(OMPFLAGS) $(LDSAN)

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/% src/mpi/%,$(LIB_SRC))
# One object per (file of src/kernels/simd/, ISA path): build/src/kernels/simd/gemv.avx2.o, ...
ISA_PATHS := generic avx2 avx512 avx512bf16
# -fno-trapping-math: lesion never reads floating-point exception flags, and
# without it gcc vectorises the clamps in ls_expf (GELU, softmax) only with
# AVX-512's masks: GELU ran 10x slower on the avx2 path. Values are unchanged.
SIMD_FLAGS := -fno-trapping-math
ISA_FLAGS_generic :=
ISA_FLAGS_avx2    := -mavx2 -mfma -mf16c
ISA_FLAGS_avx512  := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512cd
ISA_FLAGS_avx512bf16 := $(ISA_FLAGS_avx512) -mavx512bf16
SIMD_SRC := $(sort $(wildcard src/kernels/simd/*.c))
SIMD_OBJ := $(foreach p,$(ISA_PATHS),$(SIMD_SRC:%.c=$(BUILD)/%.$(p).o))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*/test_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(SIMD_OBJ)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)

# The shared library's names: the version is LS_VERSION of include/lesion.h;
# the soname carries its major number (an incompatible API bumps it).
VERSION := $(shell sed -n 's/^\#define LS_VERSION "\(.*\)"/\1/p' include/lesion.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME  := liblesion.so.$(SOMAJOR)

# MPI (optional): build/lesion-mpi runs `lesion sweep` over the ranks of an
# MPI job (src/mpi/, the only code that includes mpi.h). Open MPI comes from
# Debian's libopenmpi-dev and is found by pkg-config (ompi-c). `make MPI=1`
# builds it; `make test` builds and tests it whenever Open MPI is installed,
# and skips those tests otherwise. Sanitized builds leave it out (Open MPI's
# own allocations would drown the leak report).
MPI ?=
HAVE_MPI   := $(if $(SAN),,$(shell pkg-config --exists ompi-c 2>/dev/null && echo 1))
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null) -lpthread
MPI_SRC    := $(sort $(wildcard src/mpi/*.c))
MPI_OBJ    := $(MPI_SRC:%.c=$(BUILD)/%.o)
MPI_BIN    := $(if $(HAVE_MPI),$(BUILD)/lesion-mpi)

.PHONY: all run deps mpi-if-present test-unit-only test test-unit test-asan bench model fuzz fuzz-ci clean install python
all: $(BUILD)/lesion $(BUILD)/liblesion.a $(BUILD)/liblesion.so $(if $(MPI),$(BUILD)/lesion-mpi)

deps:
	@bash scripts/setup-deps.sh

$(BUILD)/%.o: %.c include/lesion.h $(wildcard include/lesion/*.h src/*/*.h src/*/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

define simd_rule
$(BUILD)/src/kernels/simd/%.$(1).o: src/kernels/simd/%.c include/lesion.h $(wildcard include/lesion/*.h src/*/*.h src/*/*/*.h)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(SIMD_FLAGS) $$(ISA_FLAGS_$(1)) -DLS_SIMD_PATH=$(1) -c $$< -o $$@
endef
$(foreach p,$(ISA_PATHS),$(eval $(call simd_rule,$(p))))

$(BUILD)/liblesion.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# liblesion.so -> liblesion.so.MAJOR -> liblesion.so.MAJOR.MINOR.PATCH (the file).
# --no-undefined: every symbol the library uses resolves against the
# libraries named here, so a program needs only -llesion. pkg/liblesion.map
# keeps compiler-made globals out of the exports (it says which).
$(BUILD)/liblesion.so.$(VERSION): $(LIB_OBJ) pkg/liblesion.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -Wl,--version-script=pkg/liblesion.map $(LDFLAGS) \
	    $(LIB_OBJ) $(LDLIBS) -o $@

$(BUILD)/liblesion.so: $(BUILD)/liblesion.so.$(VERSION)
	ln -sf liblesion.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/lesion: $(CLI_OBJ) $(BUILD)/liblesion.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/src/mpi/%.o: src/mpi/%.c include/lesion.h $(wildcard include/lesion/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) -c $< -o $@

$(BUILD)/lesion-mpi: $(MPI_OBJ) $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ)) $(BUILD)/liblesion.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) $(MPI_LIBS) -o $@

# Evaluated by the sub-make of `make test`, after deps: a clean machine has
# Open MPI only once scripts/setup-deps.sh has run.
mpi-if-present: $(MPI_BIN)

$(BUILD)/tests/%: tests/%.c $(BUILD)/liblesion.a tests/test_util.h $(wildcard tests/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(BUILD)/liblesion.a $(LDFLAGS) $(LDLIBS) -lcmocka -o $@

# The whole suite: unit tests (cmocka), then end-to-end tests (tests/e2e/*.sh:
# CLI behaviour, the PyTorch reference, the tokenizer differential test).
test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN) mpi-if-present
	@BUILD=$(BUILD) bash tests/run.sh

test-asan: deps
	@$(MAKE) --no-print-directory SAN=1 test-unit-only

test-unit-only: $(BUILD)/lesion $(TEST_BIN)
	@BUILD=$(BUILD) LESION_SANITIZED=1 LSAN_OPTIONS=use_tls=0:print_suppressions=0:suppressions=$(CURDIR)/tests/lsan.supp bash tests/run.sh

# make install PREFIX=/usr/local DESTDIR=: the installed CLI finds the
# bundled model at $(PREFIX)/share/lesion/models/kjv-gpt2 (next to its bin/,
# src/cli/common.c), and so does pkg-config --variable=modeldir lesion.
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
MODEL_FILES := config.json model.safetensors vocab.json merges.txt heldout.txt README.md
install: $(BUILD)/lesion $(BUILD)/liblesion.a $(BUILD)/liblesion.so
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include/lesion \
	           $(DESTDIR)$(PREFIX)/share/lesion/models/kjv-gpt2
	install -m 755 $(BUILD)/lesion $(DESTDIR)$(PREFIX)/bin/lesion
	install -m 644 $(BUILD)/liblesion.a $(DESTDIR)$(LIBDIR)/liblesion.a
	install -m 755 $(BUILD)/liblesion.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liblesion.so.$(VERSION)
	ln -sf liblesion.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblesion.so
	install -m 644 include/lesion.h $(DESTDIR)$(PREFIX)/include/lesion.h
	install -m 644 include/lesion/*.h $(DESTDIR)$(PREFIX)/include/lesion/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@VERSION@|$(VERSION)|' pkg/lesion.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/lesion.pc
	install -m 644 $(MODEL_FILES:%=models/kjv-gpt2/%) $(DESTDIR)$(PREFIX)/share/lesion/models/kjv-gpt2/

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/lesion sweep

bench: deps all
	@bash bench/run.sh

model: deps all
	@bash tools/make_model.sh

# Fuzzing (fuzz/): one libFuzzer target per parser of untrusted input, with
# the library rebuilt by clang under ASan + UBSan into build-fuzz/ (never
# reusing build/). `make fuzz` runs each target FUZZ_SECS seconds (default
# 300), `make fuzz-ci` 30 s. Seeds: fuzz/corpus/<target> and
# fuzz/regress/<target>; new inputs go to build-fuzz/corpus/<target>, crashes
# to build-fuzz/crashes/<target>/ (keep each as fuzz/regress/<target>/NAME).
FUZZ_SECS    ?= 300
FUZZ_TARGETS := safetensors config tokenizer_load tokenizer_json tokenizer_encode lesion_spec store sweep_rows probe_input plan_file
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all -Wno-pass-failed -fopenmp=libomp -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build-fuzz/%.o) $(foreach p,$(ISA_PATHS),$(SIMD_SRC:%.c=build-fuzz/%.$(p).o))
.SECONDARY: $(FUZZ_LIB_OBJ)

define fuzz_simd_rule
build-fuzz/src/kernels/simd/%.$(1).o: src/kernels/simd/%.c include/lesion.h $(wildcard include/lesion/*.h src/*/*.h src/*/*/*.h)
	@mkdir -p $$(dir $$@)
	clang $$(FUZZ_CFLAGS) $$(SIMD_FLAGS) $$(ISA_FLAGS_$(1)) -DLS_SIMD_PATH=$(1) -fsanitize=fuzzer-no-link -c $$< -o $$@
endef
$(foreach p,$(ISA_PATHS),$(eval $(call fuzz_simd_rule,$(p))))

build-fuzz/%.o: %.c include/lesion.h $(wildcard include/lesion/*.h src/*/*.h src/*/*/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build-fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(FUZZ_LIB_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJ) $(LDLIBS) -o $@

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
	@pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/crashes/$$t; \
	  if build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECS) -timeout=10 -print_final_stats=1 \
	      -artifact_prefix=build-fuzz/crashes/$$t/ $$(test -f fuzz/$$t.dict && echo -dict=fuzz/$$t.dict) \
	      build-fuzz/corpus/$$t fuzz/corpus/$$t $$(test -d fuzz/regress/$$t && echo fuzz/regress/$$t) \
	      >build-fuzz/$$t.log 2>&1; then \
	    pass=$$((pass + 1)); printf 'PASS  fuzz_%-18s %s s, %s runs, %s MB peak\n' $$t $(FUZZ_SECS) \
	      "$$(sed -n 's/^stat::number_of_executed_units: *//p' build-fuzz/$$t.log)" \
	      "$$(sed -n 's/^stat::peak_rss_mb: *//p' build-fuzz/$$t.log)"; \
	  else \
	    fail=$$((fail + 1)); echo "FAIL  fuzz_$$t: crash input in build-fuzz/crashes/$$t/ (log build-fuzz/$$t.log)"; \
	    grep -E 'ERROR|fuzz check|SUMMARY|^    #[0-9]' build-fuzz/$$t.log | head -n 20 | sed 's/^/      /'; \
	  fi; \
	done; echo "fuzz: $$pass passed, $$fail failed"; test $$fail -eq 0

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECS=30

# The Python binding (python/lesion/, ctypes) loads the shared library from
# its own folder: PYTHONPATH=python python3 -c "import lesion" then works,
# and pip install ./python packs the library into the wheel.
python: $(BUILD)/liblesion.so
	cp -f $(BUILD)/liblesion.so.$(VERSION) python/lesion/liblesion.so

clean:
	rm -rf build build-asan build-fuzz python/lesion/liblesion.so
