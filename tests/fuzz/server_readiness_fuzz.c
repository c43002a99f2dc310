/*
 * server_readiness_fuzz: libFuzzer target for the pipeline's readiness file
 * (readiness.c), which its writer may leave in any state.
 *
 * Input: the file's text, parsed for four proof types, then each type that
 * is not ready described as the 409 that refuses it.
 *
 * The oracles: a rejection says why and leaves every type ready; an
 * accepted file gives entries whose state agrees with "ready", whose steps
 * are within 0..READINESS_MAX_STEPS with the step not beyond the steps,
 * whose "doing" is at most READINESS_MAX_DOING bytes of well-formed UTF-8
 * without control characters but tab, and a ready type carries no steps or
 * doing.
 * The refusal names the type and fits its buffer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "readiness.h"
#include "server_fuzz.h"

static char *TYPES[] = {"groth16", "plonk", "stark", "slow"};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static void check_entry(const char *type, const struct readiness_entry *e)
{
    if ((e->state == READINESS_READY) != e->ready)
        fuzz_fail("%s: ready %d with state %d", type, e->ready, (int)e->state);
    if (e->step < 0 || e->steps < 0 || e->step > READINESS_MAX_STEPS ||
        e->steps > READINESS_MAX_STEPS || (e->steps > 0 && e->step > e->steps))
        fuzz_fail("%s: step %d of %d", type, e->step, e->steps);
    size_t n = strnlen(e->doing, sizeof(e->doing));
    if (n > READINESS_MAX_DOING || !fuzz_utf8_clean(e->doing, n, true))
        fuzz_fail("%s: doing of %zu bytes, not UTF-8 or with a control character", type, n);
    if (e->ready && (e->step || e->steps || n))
        fuzz_fail("%s: ready with step %d of %d, doing \"%s\"", type, e->step, e->steps, e->doing);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct readiness_entry e[NTYPES];
    char err[256] = "";
    int rc = readiness_parse((const char *)data, size, TYPES, NTYPES, e, err, sizeof(err));
    if (rc != 0 && (rc != -1 || !err[0]))
        fuzz_fail("returned %d with \"%s\"", rc, err);
    for (size_t i = 0; i < NTYPES; i++) {
        if (rc < 0 && !e[i].ready)
            fuzz_fail("rejected (%s), yet %s is not ready", err, TYPES[i]);
        check_entry(TYPES[i], &e[i]);
        if (e[i].ready)
            continue;
        char msg[512];
        readiness_describe(TYPES[i], &e[i], msg, sizeof(msg));
        if (strncmp(msg, TYPES[i], strlen(TYPES[i])) != 0 || strlen(msg) >= sizeof(msg) - 1)
            fuzz_fail("refusal \"%s\" for %s", msg, TYPES[i]);
    }
    return 0;
}
