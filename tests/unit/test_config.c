/* Unit tests of config.c: Redis addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"

static void test_redis_urls(void **state)
{
    (void)state;
    struct redis_addr a;
    char err[256];
    assert_int_equal(config_parse_redis_url("redis://localhost", &a, err, sizeof(err)), 0);
    assert_string_equal(a.host, "localhost");
    assert_int_equal(a.port, 6379);
    assert_null(a.password);
    config_free_redis(&a);

    assert_int_equal(
            config_parse_redis_url("redis://:p%40ss@10.0.0.1:6380/2", &a, err, sizeof(err)), 0);
    assert_string_equal(a.host, "10.0.0.1");
    assert_int_equal(a.port, 6380);
    assert_string_equal(a.password, "p@ss");
    assert_null(a.user);
    assert_int_equal(a.db, 2);
    config_free_redis(&a);

    assert_int_equal(config_parse_redis_url("redis://app:secret@[::1]:7000", &a, err, sizeof(err)),
                     0);
    assert_string_equal(a.host, "::1");
    assert_string_equal(a.user, "app");
    assert_string_equal(a.password, "secret");
    assert_int_equal(a.port, 7000);
    config_free_redis(&a);

    assert_int_equal(config_parse_redis_url("unix:///run/redis.sock?db=4", &a, err, sizeof(err)),
                     0);
    assert_string_equal(a.path, "/run/redis.sock");
    assert_null(a.host);
    assert_int_equal(a.db, 4);
    config_free_redis(&a);

    const char *bad[] = {"http://x",      "redis://x:0",          "redis://x:70000",
                         "redis://x/abc", "unix://relative.sock", "unix:///x?y=1",
                         "redis://[::1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(config_parse_redis_url(bad[i], &a, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_redis_urls)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
