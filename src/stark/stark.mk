# stark.mk: build, test and benchmark the STARK prover/verifier (src/stark).
#
# Included by the root Makefile, or used alone from the repository root:
#
#   make -f src/stark/stark.mk build/stark   the tool (-O2)
#   make -f src/stark/stark.mk stark-test    unit, property and CLI tests
#                                            under ASan+UBSan, then bounded
#                                            libFuzzer runs (clang)
#   make -f src/stark/stark.mk stark-bench   the benchmark (bench/stark-bench)
#
# Every variable and target is prefixed STARK_/stark; objects live under
# build/stark-obj/ (build/stark itself is the tool). Static pattern rules
# only, so nothing here can capture another fragment's files.

STARK_SAVED_GOAL := $(.DEFAULT_GOAL)

STARK_CC ?= $(CC)
STARK_FUZZ_CC ?= clang
STARK_FUZZ_TIME ?= 20
STARK_CRYPTO_CFLAGS := $(shell pkg-config --cflags libcrypto)
STARK_CRYPTO_LIBS := $(shell pkg-config --libs libcrypto) -lm
STARK_CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

STARK_WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
STARK_CFLAGS := -std=c11 -D_GNU_SOURCE $(STARK_WARN) -g $(STARK_CRYPTO_CFLAGS)
STARK_OPT := -O2
STARK_SAN := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
STARK_FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

STARK_DIR := build/stark-obj
STARK_SRC := $(sort $(wildcard src/stark/*.c))
STARK_LIB_SRC := $(filter-out src/stark/main.c,$(STARK_SRC))
STARK_OBJ := $(STARK_SRC:src/stark/%.c=$(STARK_DIR)/%.o)
STARK_LIB_OBJ := $(STARK_LIB_SRC:src/stark/%.c=$(STARK_DIR)/%.o)
STARK_SAN_OBJ := $(STARK_LIB_SRC:src/stark/%.c=$(STARK_DIR)/san/%.o)

STARK_TESTS := field ntt merkle transcript fri air statement stark
STARK_TEST_BIN := $(STARK_TESTS:%=$(STARK_DIR)/test_%)
STARK_FUZZERS := stark_proof_fuzz stark_statement_fuzz
STARK_FUZZ_BIN := $(STARK_FUZZERS:%=$(STARK_DIR)/fuzz/%)
STARK_BENCH_BIN := $(STARK_DIR)/stark_bench

.PHONY: stark stark-test stark-unit-test stark-cli-test stark-fuzz stark-bench \
	stark-clean

stark: build/stark

build/stark: $(STARK_OBJ)
	$(STARK_CC) $(STARK_OPT) -o $@ $(STARK_OBJ) $(STARK_CRYPTO_LIBS)

$(STARK_OBJ): $(STARK_DIR)/%.o: src/stark/%.c
	@mkdir -p $(@D)
	$(STARK_CC) $(STARK_CFLAGS) $(STARK_OPT) -MMD -MP -c -o $@ $<

$(STARK_SAN_OBJ): $(STARK_DIR)/san/%.o: src/stark/%.c
	@mkdir -p $(@D)
	$(STARK_CC) $(STARK_CFLAGS) $(STARK_SAN) -MMD -MP -c -o $@ $<

$(STARK_TEST_BIN): $(STARK_DIR)/test_%: tests/stark/test_%.c \
		tests/stark/test_util.h $(STARK_SAN_OBJ)
	$(STARK_CC) $(STARK_CFLAGS) $(STARK_SAN) -Isrc/stark -MMD -MP -o $@ $< \
		$(STARK_SAN_OBJ) $(STARK_CMOCKA_LIBS) $(STARK_CRYPTO_LIBS)

$(STARK_FUZZ_BIN): $(STARK_DIR)/fuzz/%: tests/fuzz/%.c $(STARK_LIB_SRC)
	@mkdir -p $(@D)
	$(STARK_FUZZ_CC) -std=c11 -D_GNU_SOURCE $(STARK_WARN) $(STARK_CRYPTO_CFLAGS) \
		$(STARK_FUZZ_FLAGS) -Isrc/stark -o $@ $< $(STARK_LIB_SRC) \
		$(STARK_CRYPTO_LIBS)

$(STARK_BENCH_BIN): bench/stark_bench.c $(STARK_LIB_OBJ)
	$(STARK_CC) $(STARK_CFLAGS) $(STARK_OPT) -Isrc/stark -MMD -MP -o $@ $< \
		$(STARK_LIB_OBJ) $(STARK_CRYPTO_LIBS)

stark-test: stark-unit-test stark-cli-test stark-fuzz

stark-unit-test: $(STARK_TEST_BIN)
	@set -e; for t in $(STARK_TEST_BIN); do echo "== $$t"; $$t; done

stark-cli-test: build/stark
	sh tests/stark/test_cli.sh build/stark

# Seed corpora are made fresh by the tool: real proofs and statement files
# of two sizes, no committed binaries. The proof fuzzer runs
# STARK_FUZZ_TIME seconds, the statement fuzzer half as long; a failure
# prints the end of its log and leaves the input under $(STARK_DIR)/fuzz/.
STARK_FUZZ_CORPUS := $(STARK_DIR)/fuzz/corpus

stark-fuzz: build/stark $(STARK_FUZZ_BIN)
	@rm -rf $(STARK_FUZZ_CORPUS)-proof $(STARK_FUZZ_CORPUS)-statement
	@mkdir -p $(STARK_FUZZ_CORPUS)-proof $(STARK_FUZZ_CORPUS)-statement
	@for n in 64 128; do \
		build/stark prove --steps $$n --random \
			--out $(STARK_FUZZ_CORPUS)-proof/seed-$$n.ub \
			--statement-out $(STARK_FUZZ_CORPUS)-statement/seed-$$n.json \
			>/dev/null || exit 1; \
	done
	@set -e; for f in proof statement; do \
		t=$(STARK_FUZZ_TIME); [ $$f = proof ] || t=$$(( t / 2 )); \
		echo "== stark_$${f}_fuzz, $$t s"; \
		$(STARK_DIR)/fuzz/stark_$${f}_fuzz -max_total_time=$$t -max_len=65536 \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(STARK_DIR)/fuzz/ $(STARK_FUZZ_CORPUS)-$$f \
			>$(STARK_DIR)/fuzz/$$f.log 2>&1 || { \
			tail -40 $(STARK_DIR)/fuzz/$$f.log; \
			echo "stark-fuzz: stark_$${f}_fuzz failed"; exit 1; }; \
		grep -E '^(Done|stat::number_of_executed_units)' $(STARK_DIR)/fuzz/$$f.log; \
	done

stark-bench: $(STARK_BENCH_BIN)
	$(STARK_BENCH_BIN)

stark-clean:
	rm -rf $(STARK_DIR) build/stark

-include $(wildcard $(STARK_DIR)/*.d $(STARK_DIR)/san/*.d)

# Standalone, the tool is the default goal; included, the includer's
# default goal is left as it was.
ifeq ($(firstword $(MAKEFILE_LIST)),src/stark/stark.mk)
.DEFAULT_GOAL := build/stark
else
.DEFAULT_GOAL := $(STARK_SAVED_GOAL)
endif
