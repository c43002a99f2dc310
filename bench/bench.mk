# The stream benchmark's C tools (bench/stream.py): the SSE load client, the
# HTTP publisher for nchan and the phase that prints timestamped lines.
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g

build/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

BENCH_TOOLS := build/bench/sseload build/bench/pubload build/bench/seqprint

.PHONY: bench-tools bench-check
bench-tools: $(BENCH_TOOLS)

# The stream benchmark's correctness run: phasestream behind nginx and behind
# lighttpd (and nginx + nchan when installed) under a few hundred viewers, a
# small storm, and a restart behind nginx; it asserts only that every event
# arrived exactly once and in order.
bench-check: phasestream $(BENCH_TOOLS)
	python3 bench/stream.py --check
