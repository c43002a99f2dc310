/* extract.h -- the pipeline's extraction rules, applied to one line.
 *
 * A session's results object (generatedProofs, verificationResults, ...) is
 * owned by its runner and changed only here: append, count, set. The other
 * actions (progress, event) are handed to the caller through a sink, which
 * turns them into stored events. Matching runs on the cleaned and masked
 * line, so a rule can never capture a secret.
 *
 * Bounds (docs/design.md, invariant 4), each counted when hit (see
 * extract_drops) so that the caller can say so:
 *   - PCRE2 runs with a match limit, so a pathological pattern on a hostile
 *     line costs a bounded amount of work and does not match;
 *   - an appended result holds at most EXTRACT_MAX_ITEMS values, and all
 *     the captured text kept in the results is at most EXTRACT_MAX_BYTES;
 *     a value past either bound is not collected;
 *   - "unique" rules remember at most EXTRACT_UNIQUE_MAX captures, of at
 *     most EXTRACT_UNIQUE_BYTES in all (a capture may be a whole line);
 *     past either, a new capture of such a rule is not collected either. */
#ifndef PHASESTREAM_EXTRACT_H
#define PHASESTREAM_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#define EXTRACT_MATCH_LIMIT  200000      /* PCRE2 backtracking steps per match */
#define EXTRACT_DEPTH_LIMIT  10000       /* PCRE2 depth per match */
#define EXTRACT_UNIQUE_MAX   4096        /* remembered captures of unique rules */
#define EXTRACT_UNIQUE_BYTES (256 << 10) /* their text */
#define EXTRACT_MAX_ITEMS    1000        /* values in one appended result */
#define EXTRACT_MAX_BYTES    (64 << 10)  /* captured text kept in all results */

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

/* What the bounds above have dropped so far. */
struct extract_drops {
    long values;      /* captures not collected: a results bound was hit */
    long match_limit; /* matches given up at the PCRE2 limits */
};
void extract_drops(const struct extract *x, struct extract_drops *out);

/* The results object as JSON text (valid until the next change). */
const char *extract_results_json(struct extract *x);
struct json_object *extract_results(struct extract *x);

/* Is the result at path a non-empty array, a non-zero count, or set? */
bool extract_has(struct extract *x, const char *path);

/* Parses "250k", "1.5M", "42", "1,234" into *out; false if not a number. */
bool extract_parse_number(const char *s, double *out);

#endif
