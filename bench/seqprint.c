/* seqprint COUNTxRATE [SESSION]: COUNT lines "t=<ns CLOCK_REALTIME> seq=<n>",
 * RATE per second on absolute deadlines (0: flat out), stdout line-buffered.
 *
 * With SEQ_GO_DIR set and SESSION given, it first waits (polling every 5 ms,
 * at most 600 s) until SEQ_GO_DIR/SESSION exists: the benchmark creates that
 * file once its viewers are attached. Single-threaded; no bounds but COUNT. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void wait_go(const char *dir, const char *session)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, session);
    struct timespec tick = {0, 5000000};
    for (int i = 0; i < 600 * 200 && access(path, F_OK) != 0; i++)
        nanosleep(&tick, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: seqprint COUNTxRATE [SESSION]\n");
        return 2;
    }
    char *x;
    unsigned long long count = strtoull(argv[1], &x, 10);
    double rate = *x == 'x' ? atof(x + 1) : 0;
    const char *dir = getenv("SEQ_GO_DIR");
    if (dir && argc > 2)
        wait_go(dir, argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct timespec next, now;
    clock_gettime(CLOCK_MONOTONIC, &next);
    uint64_t step = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
    for (unsigned long long i = 0; i < count; i++) {
        if (step) {
            next.tv_nsec += (long)step;
            while (next.tv_nsec >= 1000000000L) {
                next.tv_nsec -= 1000000000L;
                next.tv_sec++;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
        clock_gettime(CLOCK_REALTIME, &now);
        printf("t=%lld%09ld seq=%llu\n", (long long)now.tv_sec, now.tv_nsec, i);
    }
    return 0;
}
