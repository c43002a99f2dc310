/* alloc.h -- allocation that does not fail.
 *
 * Like Redis' zmalloc, running out of memory is not an error the server tries
 * to recover from: every bound in phasestream (line length, events, viewers'
 * buffers, request bodies) is enforced where the data enters, so an allocation
 * failure means the machine is out of memory and the process aborts with a
 * message rather than limping on with half-built state. */
#ifndef PHASESTREAM_ALLOC_H
#define PHASESTREAM_ALLOC_H

#include <stddef.h>
#include <stdlib.h> /* free() goes with these */

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
