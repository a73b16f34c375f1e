# lesion: build, test, benchmark.
#
#   make            build/lesion and build/liblesion.a
#   make run        install missing Debian packages, build, run the main job
#                   (the seed experiment on the bundled model -> lesion-report/)
#   make test       install missing Debian packages, build, run every test
#   make test-asan  the same suite under AddressSanitizer + UBSan (build-asan/)
#   make bench      performance against PyTorch (see docs/performance.md)
#   make model      retrain the bundled model from scratch (about an hour)
#
# Sources are found by wildcard: one folder per layer under src/, tests under
# tests/ mirror them (tests/<layer>/test_*.c, one binary each).

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
  OPT    := -O3 -march=native -g
  LDSAN  :=
  OMPFLAGS := -fopenmp
endif

PKGS    := libpcre2-8 libcjson openblas
CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra $(OPT) $(OMPFLAGS) -Iinclude -Isrc \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
LDFLAGS := $(OMPFLAGS) $(LDSAN)

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/%,$(LIB_SRC))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*/test_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)

.PHONY: all run deps test-unit-only test test-unit test-asan bench model fuzz fuzz-ci clean
all: $(BUILD)/lesion $(BUILD)/liblesion.a

deps:
	@bash scripts/setup-deps.sh

$(BUILD)/%.o: %.c include/lesion.h $(wildcard include/lesion/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liblesion.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/lesion: $(CLI_OBJ) $(BUILD)/liblesion.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/liblesion.a tests/test_util.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(BUILD)/liblesion.a $(LDFLAGS) $(LDLIBS) -lcmocka -o $@

# The whole suite: unit tests (cmocka), then end-to-end tests (tests/e2e/*.sh:
# CLI behaviour, the PyTorch reference, the tokenizer differential test).
test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@BUILD=$(BUILD) bash tests/run.sh

test-asan: deps
	@$(MAKE) --no-print-directory SAN=1 test-unit-only

test-unit-only: $(BUILD)/lesion $(TEST_BIN)
	@BUILD=$(BUILD) LESION_SANITIZED=1 LSAN_OPTIONS=use_tls=0:print_suppressions=0:suppressions=$(CURDIR)/tests/lsan.supp bash tests/run.sh

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
FUZZ_TARGETS := safetensors config tokenizer_load tokenizer_encode lesion_spec store sweep_rows
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all -Wno-pass-failed -fopenmp=libomp -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build-fuzz/%.o)
.SECONDARY: $(FUZZ_LIB_OBJ)

build-fuzz/%.o: %.c include/lesion.h $(wildcard include/lesion/*.h src/*/*.h)
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

clean:
	rm -rf build build-asan build-fuzz
