# phasestream -- build, test, install, run.
#
#   make            build ./phasestream
#   make run        install what is missing, start Redis, phasestream and
#                   nginx on loopback, print the demo page's URL
#   make check      install what is missing, build, run every test suite
#                   (unit tests and the server under ASan+UBSan, bounded
#                   fuzzing, integration tests against real redis-server and
#                   nginx, the stream and resilience ones also under TSan)
#   make fuzz       the server's fuzzers, FUZZ_TIME seconds each (120)
#   make bench      the benchmarks under bench/ (bench/run)
#   make bench-check  the stream benchmark's correctness run (part of check)
#   make clean

VERSION   := 0.1.0
CC        ?= cc
PKGS      := fcgi hiredis json-c libpcre2-8 liburing
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

.PHONY: all deps run check unit integration browser pipeline clean bench format
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

# The proof pipeline: the phase scripts' own tests (which make the cached
# zero-knowledge setup first), then the default pipeline end to end through
# phasestream and nginx on a local chain.
pipeline: phasestream build/asan/phasestream build/stark
	tests/scripts/run
	PHASESTREAM_BIN=$(CURDIR)/build/asan/phasestream python3 tests/workflow/run.py

# The demo page in headless Chromium against the real stack.
browser: phasestream build/asan/phasestream build/stark
	PHASESTREAM_BIN=$(CURDIR)/build/asan/phasestream tests/browser/run

check: deps
	$(MAKE) all build/asan/phasestream $(UNIT_BINS)
	$(MAKE) unit
	$(MAKE) server-fuzz
	$(MAKE) stark-test
	$(MAKE) integration
	$(MAKE) bench-check
	$(MAKE) tsan
	$(MAKE) browser
	$(MAKE) pipeline

run: deps all
	./scripts/run-stack

bench: deps all bench-tools
	./bench/run

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c src/stark/*.[ch] tests/stark/*.[ch] \
		tests/fuzz/stark_*.c tests/fuzz/server_*.[ch] bench/stark_bench.c \
		bench/sseload.c bench/pubload.c bench/seqprint.c

clean:
	rm -rf build phasestream

# The STARK prover and verifier (src/stark): its own fragment and targets.
include src/stark/stark.mk
# The stream benchmark's tools and its correctness run (make bench-check).
include bench/bench.mk
# The server's parsers under libFuzzer (make fuzz), the server under
# ThreadSanitizer (make tsan).
include tests/fuzz/fuzz.mk

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d)

# ---- install ----
# make install / make uninstall, honouring PREFIX and DESTDIR (see INSTALL):
#
#   make install                      everything under /usr/local
#   make install PREFIX=/usr          the same under /usr, settings in /etc
#   make install DESTDIR=/tmp/stage   staged, e.g. for a package
#
# Layout, with PREFIX=/usr/local:
#   bin/phasestream                      built with the installed pipeline
#                                        as its default
#   etc/phasestream/                     phasestream.conf, workflow.json,
#                                        nginx/, lighttpd/ (a file you
#                                        changed is kept; the new version
#                                        goes next to it as NAME.new)
#   share/phasestream/www, scripts       the page and the phase scripts
#   libexec/phasestream/stark            the STARK prover and verifier
#   lib/systemd/system/phasestream.service
#   share/man/man8/phasestream.8, share/doc/phasestream/
# The installed configuration names the installed paths: the shipped files
# say /usr/local/..., rewritten here for PREFIX.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/phasestream
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install

PS_CONFDIR    := $(SYSCONFDIR)/phasestream
PS_SHAREDIR   := $(DATADIR)/phasestream
PS_LIBEXECDIR := $(LIBEXECDIR)/phasestream
INST_DIR      := build/install
INST_DOCS     := INSTALL README.md stark.md
INST_CONF     := phasestream.conf workflow.json nginx/phasestream.conf nginx/upstream.conf \
                 lighttpd/phasestream.conf lighttpd/phasestream-spawn.conf
INST_SED      := -e 's|/usr/local/etc/phasestream|@CONFDIR@|g' -e 's|/etc/phasestream|@CONFDIR@|g' \
                 -e 's|@CONFDIR@|$(PS_CONFDIR)|g' -e 's|/usr/local/bin/phasestream|$(BINDIR)/phasestream|g' \
                 -e 's|/usr/local/share/phasestream|$(PS_SHAREDIR)|g' \
                 -e 's|/usr/local/share/doc/phasestream|$(DOCDIR)|g' \
                 -e 's|/usr/local/libexec/phasestream|$(PS_LIBEXECDIR)|g' \
                 -e 's|/usr/local/lib/systemd/system|$(UNITDIR)|g'
# The pipeline names its commands relative to its own directory: the
# repository root (conf/..) becomes share/phasestream, seen from etc/phasestream,
# which holds in a DESTDIR as well as in place. Its readiness file is the
# local stack's (make run builds the setup behind the page): an installed
# server has none, and every proof type is ready.
INST_REL      := $(shell realpath -m --relative-to=$(PS_CONFDIR) $(PS_SHAREDIR))
INST_PIPESED  := -e '/^  "readiness": /d' \
                 -e 's|"\.\./|"$(INST_REL)/|g' -e 's|"\.\."|"$(INST_REL)"|g'

.PHONY: install uninstall install-generate inst-force
inst-force: ;

# The binary differs from ./phasestream only in its default pipeline path:
# its own config.o, rebuilt when that path changes.
$(INST_DIR)/confdir: inst-force
	@mkdir -p $(@D)
	@echo '$(PS_CONFDIR)' | cmp -s - $@ || echo '$(PS_CONFDIR)' >$@

$(INST_DIR)/config.o: src/config.c $(INST_DIR)/confdir
	$(CC) $(CPPFLAGS) -DPHASESTREAM_PIPELINE_DEFAULT='"$(PS_CONFDIR)/workflow.json"' $(CFLAGS) \
		-MMD -MP -c -o $@ $<

$(INST_DIR)/phasestream: $(filter-out build/obj/config.o,$(OBJS)) $(INST_DIR)/config.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The configuration, unit and man page with the installed paths.
install-generate:
	@set -e; rm -rf $(INST_DIR)/etc; mkdir -p $(INST_DIR)/etc/nginx $(INST_DIR)/etc/lighttpd; \
	for f in $(filter-out workflow.json,$(INST_CONF)); do sed $(INST_SED) conf/$$f >$(INST_DIR)/etc/$$f; done; \
	sed $(INST_SED) $(INST_PIPESED) conf/workflow.json >$(INST_DIR)/etc/workflow.json; \
	sed $(INST_SED) conf/systemd/phasestream.service >$(INST_DIR)/phasestream.service; \
	sed $(INST_SED) docs/phasestream.8 >$(INST_DIR)/phasestream.8

install: $(INST_DIR)/phasestream build/stark install-generate
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PS_LIBEXECDIR) $(DESTDIR)$(PS_CONFDIR)/nginx \
		$(DESTDIR)$(PS_CONFDIR)/lighttpd $(DESTDIR)$(PS_SHAREDIR)/scripts \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(INST_DIR)/phasestream $(DESTDIR)$(BINDIR)/phasestream
	$(INSTALL) -m 755 build/stark $(DESTDIR)$(PS_LIBEXECDIR)/stark
	@set -e; for f in $(INST_CONF); do \
		src=$(INST_DIR)/etc/$$f; dst=$(DESTDIR)$(PS_CONFDIR)/$$f; \
		if [ -e "$$dst" ] && ! cmp -s "$$src" "$$dst"; then \
			$(INSTALL) -m 644 "$$src" "$$dst.new"; \
			echo "install: $$dst differs from this version: kept; the new one is $$dst.new"; \
		else \
			rm -f "$$dst.new"; $(INSTALL) -m 644 "$$src" "$$dst"; \
		fi; \
	done
	tar -C scripts --exclude=./node_modules --exclude=./install-deps --exclude=./run-stack -cf - . \
		| tar -C $(DESTDIR)$(PS_SHAREDIR)/scripts --no-same-owner -xf -
	@if [ -d www ]; then \
		echo "install: the page, www/, into $(DESTDIR)$(PS_SHAREDIR)/www"; \
		$(INSTALL) -d $(DESTDIR)$(PS_SHAREDIR)/www && \
		tar -C www -cf - . | tar -C $(DESTDIR)$(PS_SHAREDIR)/www --no-same-owner -xf -; \
	else \
		echo "install: www/ is missing: the demo page is not installed" >&2; \
	fi
	$(INSTALL) -m 644 $(INST_DIR)/phasestream.service $(DESTDIR)$(UNITDIR)/phasestream.service
	$(INSTALL) -m 644 $(INST_DIR)/phasestream.8 $(DESTDIR)$(MANDIR)/man8/phasestream.8
	$(INSTALL) -m 644 INSTALL README.md docs/stark.md $(DESTDIR)$(DOCDIR)
	@echo "install: done. The phase scripts need their Node.js packages once:"
	@echo "    cd $(DESTDIR)$(PS_SHAREDIR)/scripts && npm ci --omit=dev"

# Removes what install put there; a configuration file you changed is kept
# (and said so), like the directories that then still hold something.
uninstall: install-generate
	rm -f $(DESTDIR)$(BINDIR)/phasestream $(DESTDIR)$(MANDIR)/man8/phasestream.8 \
		$(DESTDIR)$(UNITDIR)/phasestream.service $(DESTDIR)$(PS_LIBEXECDIR)/stark \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(INST_DOCS))
	rm -rf $(DESTDIR)$(PS_SHAREDIR)
	@set -e; for f in $(INST_CONF); do \
		dst=$(DESTDIR)$(PS_CONFDIR)/$$f; rm -f "$$dst.new"; \
		if [ ! -e "$$dst" ] || cmp -s $(INST_DIR)/etc/$$f "$$dst"; then rm -f "$$dst"; \
		else echo "uninstall: $$dst was changed: kept"; fi; \
	done; \
	for d in $(PS_CONFDIR)/nginx $(PS_CONFDIR)/lighttpd $(PS_CONFDIR) $(PS_LIBEXECDIR) $(DOCDIR); do \
		if [ -d $(DESTDIR)$$d ]; then rmdir --ignore-fail-on-non-empty $(DESTDIR)$$d; fi; \
	done

-include $(INST_DIR)/config.d
