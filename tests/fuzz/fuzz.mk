# fuzz.mk: the server's own parsers under libFuzzer, and the server under
# ThreadSanitizer.
#
# Included by the root Makefile (it uses its SRCS, CPPFLAGS, CFLAGS and
# LDLIBS):
#
#   make fuzz                    every server fuzzer FUZZ_TIME seconds (120)
#                                from its corpus, with executions per second
#                                and in total; new inputs are kept under
#                                build/fuzz/corpus/ for the next run
#   make server-fuzz             the same for SERVER_FUZZ_CHECK_TIME seconds
#                                each (15), from the committed seeds only:
#                                the bounded run of make check
#   make build/tsan/phasestream  the server under ThreadSanitizer
#   make tsan                    test_stream and test_resilience against it
#
# One target per parser, tests/fuzz/server_NAME_fuzz.c, each with a
# hand-written seed corpus in tests/fuzz/corpus/NAME/. The targets link the
# server's own objects (all but main.o), built with clang for libFuzzer under
# build/fuzz/obj/ and archived, so a fuzzer tests the code the server runs
# and pulls in only the files it calls. A crash, a leak or a broken oracle
# fails the make target, prints the end of the log and leaves the
# reproducer as build/fuzz/NAME-crash-* (or -leak-, -timeout-, -oom-);
# `build/fuzz/server_NAME_fuzz FILE` replays it. Known reports in src/ that
# are not fixed yet are listed, one by one, in tests/fuzz/server_ubsan.supp
# and tests/fuzz/server_tsan.supp.
#
# Variables are prefixed SERVER_FUZZ_ or TSAN_; static pattern rules only,
# so nothing here can capture another fragment's files.

SERVER_FUZZ_CC ?= clang
FUZZ_TIME ?= 120
SERVER_FUZZ_CHECK_TIME ?= 15
SERVER_FUZZ_NAMES := request pipeline config lines extract readiness
SERVER_FUZZ_DIR := build/fuzz
# Any sanitizer report stops the fuzzer.
SERVER_FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all
SERVER_FUZZ_OBJ := $(filter-out $(SERVER_FUZZ_DIR)/obj/main.o,\
	$(SRCS:src/%.c=$(SERVER_FUZZ_DIR)/obj/%.o))
SERVER_FUZZ_LIB := $(SERVER_FUZZ_DIR)/libphasestream.a
SERVER_FUZZ_BIN := $(SERVER_FUZZ_NAMES:%=$(SERVER_FUZZ_DIR)/server_%_fuzz)
SERVER_FUZZ_OPTS := -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz server-fuzz server-fuzz-bin tsan

$(SERVER_FUZZ_OBJ): $(SERVER_FUZZ_DIR)/obj/%.o: src/%.c tests/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(SERVER_FUZZ_CC) $(CPPFLAGS) $(CFLAGS) $(SERVER_FUZZ_SAN) \
		-fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<

$(SERVER_FUZZ_LIB): $(SERVER_FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The extraction target applies the repository's own pipelines: it finds
# them from here.
$(SERVER_FUZZ_BIN): $(SERVER_FUZZ_DIR)/server_%_fuzz: tests/fuzz/server_%_fuzz.c \
		tests/fuzz/server_fuzz.h $(SERVER_FUZZ_LIB)
	$(SERVER_FUZZ_CC) $(CPPFLAGS) $(CFLAGS) $(SERVER_FUZZ_SAN) \
		-fsanitize=fuzzer,address,undefined -DSERVER_FUZZ_ROOT='"$(CURDIR)"' -Isrc \
		-o $@ $< $(SERVER_FUZZ_LIB) $(LDLIBS)

server-fuzz-bin: $(SERVER_FUZZ_BIN)

# $(call server_fuzz_run,SECONDS,WORK): runs every target in turn with WORK
# (a directory per target, first so new inputs land there, not in the
# committed seeds) and the seeds; stops at the first failure.
define server_fuzz_run
	@set -e; for n in $(SERVER_FUZZ_NAMES); do \
		w=$(2)/$$n; log=$(SERVER_FUZZ_DIR)/$$n.log; mkdir -p $$w; \
		echo "== server_$${n}_fuzz, $(1) s"; \
		$(SERVER_FUZZ_DIR)/server_$${n}_fuzz $(SERVER_FUZZ_OPTS) -max_total_time=$(1) \
			-artifact_prefix=$(SERVER_FUZZ_DIR)/$$n- $$w tests/fuzz/corpus/$$n \
			>$$log 2>&1 || { tail -60 $$log; \
			echo "server-fuzz: server_$${n}_fuzz failed; the input is in $(SERVER_FUZZ_DIR)/$$n-*"; \
			exit 1; }; \
		awk -v n=server_$${n}_fuzz '/^stat::number_of_executed_units/ { e = $$2 } \
			/^stat::average_exec_per_sec/ { s = $$2 } \
			END { printf "%s: %d executions, %d per second\n", n, e, s }' $$log; \
	done
endef

fuzz: $(SERVER_FUZZ_BIN)
	$(call server_fuzz_run,$(FUZZ_TIME),$(SERVER_FUZZ_DIR)/corpus)

server-fuzz: $(SERVER_FUZZ_BIN)
	@rm -rf $(SERVER_FUZZ_DIR)/check
	$(call server_fuzz_run,$(SERVER_FUZZ_CHECK_TIME),$(SERVER_FUZZ_DIR)/check)

# The server under ThreadSanitizer: its own objects, the integration suites
# that run the most threads at once (request threads, runners, the event
# loop, Redis going away) against it, about two minutes. harness.py counts
# a ThreadSanitizer warning in the server's log as a failure, like an ASan
# report; the known ones not fixed yet are listed in server_tsan.supp.
TSAN_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
TSAN_OBJ := $(SRCS:src/%.c=build/tsan/obj/%.o)

$(TSAN_OBJ): build/tsan/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(TSAN_SAN) -MMD -MP -c -o $@ $<

build/tsan/phasestream: $(TSAN_OBJ)
	$(CC) $(CFLAGS) $(TSAN_SAN) -o $@ $^ $(LDLIBS)

tsan: phasestream build/tsan/phasestream
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/fuzz/server_tsan.supp $$TSAN_OPTIONS" \
		PHASESTREAM_BIN=$(CURDIR)/build/tsan/phasestream \
		python3 tests/integration/run.py test_stream test_resilience

-include $(wildcard $(SERVER_FUZZ_DIR)/obj/*.d build/tsan/obj/*.d)
