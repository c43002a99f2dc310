/* ident.h -- the one charset of names that travel in URLs, Redis keys and
 * argv: session ids, proof types, phase names and event types.
 *
 * A name is 1..max bytes of A-Z, a-z, 0-9, '_' and '-' (session ids:
 * ^[A-Za-z0-9_-]{8,64}$, docs/api.md). The length is passed in, not taken from
 * a NUL, so a JSON string with an embedded NUL ("groth16\u0000") is refused
 * rather than read as its prefix. */
#ifndef PHASESTREAM_IDENT_H
#define PHASESTREAM_IDENT_H

#include <stdbool.h>
#include <stddef.h>

#define IDENT_SID_MIN  8
#define IDENT_SID_MAX  64
#define IDENT_NAME_MAX 32 /* proof types, phase names, event types */

/* True when s[0..len) is min..max bytes of the charset above. */
bool ident_valid(const char *s, size_t len, size_t min, size_t max);

#endif
