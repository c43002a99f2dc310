# phasestream -- build, test, install, run.
#
#   make            build ./phasestream
#   make run        install what is missing, start Redis, phasestream and
#                   nginx on loopback, print the demo page's URL
#   make check      install what is missing, build, run every test suite
#                   (unit tests and the server under ASan+UBSan, integration
#                   tests against real redis-server and nginx)
#   make bench      the benchmarks under bench/ (bench/run)
#   make clean

VERSION   := 0.1.0
CC        ?= cc
PKGS      := fcgi hiredis json-c libpcre2-8
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS  += -D_GNU_SOURCE -DPHASESTREAM_VERSION='"$(VERSION)"'
CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 $(WARN) $(shell pkg-config --cflags $(PKGS))
LDLIBS    += $(shell pkg-config --libs $(PKGS)) -lpthread -lm

SRCS      := $(wildcard src/*.c)
OBJS      := $(SRCS:src/%.c=build/obj/%.o)
LIBOBJS   := $(filter-out build/obj/main.o,$(OBJS))

# The sanitizer build: same sources, its own objects.
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_OBJS := $(SRCS:src/%.c=build/asan/%.o)
ASAN_LIB  := $(filter-out build/asan/main.o,$(ASAN_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)

.PHONY: all deps run check unit integration clean bench format
all: phasestream build/stark

phasestream: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

build/asan/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -O1 -MMD -MP -c -o $@ $<

build/asan/phasestream: $(ASAN_OBJS)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

build/tests/%: tests/unit/%.c $(ASAN_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -O1 -Isrc -o $@ $< $(ASAN_LIB) $(LDLIBS) -lcmocka

deps:
	@./scripts/install-deps

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: phasestream build/asan/phasestream
	PHASESTREAM_BIN=$(CURDIR)/build/asan/phasestream python3 tests/integration/run.py

check: deps
	$(MAKE) all build/asan/phasestream $(UNIT_BINS)
	$(MAKE) unit
	$(MAKE) stark-test
	$(MAKE) integration

run: deps all
	./scripts/run-stack

bench: deps all
	./bench/run

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c src/stark/*.[ch] tests/stark/*.[ch] \
		tests/fuzz/stark_*.c bench/stark_bench.c

clean:
	rm -rf build phasestream

# The STARK prover and verifier (src/stark): its own fragment and targets.
include src/stark/stark.mk

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d)
