/* json_strict.h -- one whole text as one strict JSON value.
 *
 * json-c's tokener stops at the end of the first value and leaves what
 * follows to its caller. The files phasestream reads as JSON (the pipeline,
 * the readiness file) must each be exactly one value, in strict syntax,
 * with nothing after it but JSON's own whitespace (space, tab, CR, LF).
 * This is that check, in one place, with a message that says where the
 * text went wrong. */
#ifndef PHASESTREAM_JSON_STRICT_H
#define PHASESTREAM_JSON_STRICT_H

#include <json-c/json.h>
#include <stddef.h>

/* Parses text[0..len) with JSON_TOKENER_STRICT plus flags, nesting at most
 * depth deep (0: json-c's default). Returns the root (the caller puts it),
 * or NULL with err holding "<reason> near byte N", "trailing data at byte
 * N", or, for a text that is just null, "null where a value was expected"
 * (every caller wants an object). */
struct json_object *json_strict_parse(const char *text, size_t len, int depth, int flags, char *err,
                                      size_t errlen);

#endif
