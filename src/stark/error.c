/*
 * error: formatting of the one-line failure messages (see error.h).
 *
 * A NULL buffer is allowed so callers that only want the verdict (the fuzz
 * target, benchmarks) need not provide one.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

void error_set(char *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err, ERROR_MAX, fmt, ap);
    va_end(ap);
}
