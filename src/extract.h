/* extract.h -- the pipeline's extraction rules, applied to one line.
 *
 * A session's results object (generatedProofs, verificationResults, ...) is
 * owned by its runner and changed only here: append, count, set. The other
 * actions (progress, event) are handed to the caller through a sink, which
 * turns them into stored events. Matching runs on the cleaned and masked
 * line, so a rule can never capture a secret. PCRE2 runs with a match limit,
 * so a pathological pattern on a hostile line costs a bounded amount of work
 * and simply does not match. */
#ifndef PHASESTREAM_EXTRACT_H
#define PHASESTREAM_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct pipeline;
struct pipeline_phase;

struct extract_sink {
    /* A progress figure, already mapped into the phase's range. */
    void (*progress)(void *ctx, int percent);
    /* An extra event; data is JSON text. */
    void (*event)(void *ctx, const char *type, const char *data);
};

struct extract;

struct extract *extract_new(const struct pipeline *p, const char *proof_type);
void extract_free(struct extract *x);

/* Applies every rule of the phase to the line. Returns true when the
 * results object changed. */
bool extract_line(struct extract *x, const struct pipeline_phase *ph, const char *line, size_t len,
                  const struct extract_sink *sink, void *ctx);

/* The results object as JSON text (valid until the next change). */
const char *extract_results_json(struct extract *x);
struct json_object *extract_results(struct extract *x);

/* Is the result at path a non-empty array, a non-zero count, or set? */
bool extract_has(struct extract *x, const char *path);

/* Parses "250k", "1.5M", "42", "1,234" into *out; false if not a number. */
bool extract_parse_number(const char *s, double *out);

#endif
