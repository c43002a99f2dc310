/* Unit tests of outbox.c: what the queue holds while Redis is away. The
 * store points at a loopback port nothing listens on, so every write fails
 * as it does in an outage, and the queue keeps everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "outbox.h"
#include "store.h"

struct fixture {
    struct config cfg;
    struct store *st;
    struct outbox ob;
    char *results; /* what the results callback answers */
};

static const char *results_json(void *arg)
{
    return ((struct fixture *)arg)->results;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    char *argv[] = {"phasestream", "--redis",    "redis://127.0.0.1:1", "--redis-retry",
                    "1",           "--pipeline", "conf/workflow.json",  NULL};
    char err[512];
    if (config_load(&f->cfg, 7, argv, err, sizeof(err)) != CONFIG_OK) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    f->st = store_new(&f->cfg);
    outbox_init(&f->ob, f->st, "s1234567", &f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    outbox_free(&f->ob);
    store_free(f->st);
    config_free(&f->cfg);
    free(f->results);
    free(f);
    return 0;
}

/* A failed write, and the back-off forgotten so the next one is tried. */
static void write_fails(struct fixture *f)
{
    assert_false(outbox_flush(&f->ob, "generating"));
    f->ob.retry_at = 0;
}

static void results_change(struct fixture *f, char fill, size_t len)
{
    free(f->results);
    f->results = malloc(len + 1);
    assert_non_null(f->results);
    memset(f->results, fill, len);
    f->results[len] = '\0';
    outbox_results_changed(&f->ob, results_json, f);
}

/* The queue's bytes, counted from what it holds, and the results copies. */
static size_t queued_bytes(const struct outbox *ob, size_t *copies, const char **last)
{
    size_t bytes = 0;
    *copies = 0;
    for (size_t i = 0; i < ob->len; i++) {
        const struct outbox_event *e = &ob->ring[(ob->head + i) % ob->cap];
        bytes += strlen(e->payload);
        for (size_t k = 0; k < e->nfields; k += 2) {
            bytes += strlen(e->fields[k]) + strlen(e->fields[k + 1]);
            if (strcmp(e->fields[k], "results") == 0) {
                (*copies)++;
                *last = e->fields[k + 1];
            }
        }
    }
    return bytes;
}

static void test_an_outage_keeps_one_copy_of_the_results_the_newest(void **state)
{
    struct fixture *f = *state;
    for (int round = 0; round < 50; round++) {
        outbox_push(&f->ob, "log", strdup("{\"message\":\"a line\"}"), END_FIELDS);
        results_change(f, (char)('a' + round % 26), 64 << 10);
        write_fails(f);
    }
    size_t copies;
    const char *last = NULL;
    size_t bytes = queued_bytes(&f->ob, &copies, &last);
    assert_int_equal(f->ob.len, 50);
    assert_int_equal(copies, 1);
    assert_non_null(last);
    assert_int_equal(last[0], 'a' + 49 % 26);
    assert_int_equal(strlen(last), 64 << 10);
    assert_int_equal(f->ob.bytes, bytes);
}

static void test_the_byte_bound_counts_state_fields(void **state)
{
    struct fixture *f = *state;
    /* A big results copy counts: with it the queue is over its bound and
     * further lines are refused, as a full queue refuses them. */
    outbox_push(&f->ob, "status", strdup("{}"), "phase", "generating", END_FIELDS);
    results_change(f, 'r', OUTBOX_MAX_BYTES);
    write_fails(f);
    size_t copies;
    const char *last = NULL;
    assert_int_equal(f->ob.bytes, queued_bytes(&f->ob, &copies, &last));
    assert_true(f->ob.bytes > OUTBOX_MAX_BYTES);
    assert_false(outbox_line_room(&f->ob, "generating"));
    assert_int_equal(f->ob.dropped, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_an_outage_keeps_one_copy_of_the_results_the_newest,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_the_byte_bound_counts_state_fields, setup,
                                            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
