/* readiness.h -- which proof types can run now, from the pipeline's
 * readiness file.
 *
 * Some proof types need something built before they can run (a setup made
 * in the background after the server starts, say). The pipeline may name a
 * readiness file (its "readiness" key) that whoever builds it keeps up to
 * date; phasestream only reads it, at request time:
 *
 *   {"proofTypes": {"<type>": {"ready": bool, "state": "ready" | "preparing"
 *                              | "failed", "step": k, "steps": n,
 *                              "doing": "..."}}, "updated": "..."}
 *
 * The file is untrusted input, like the pipeline: readiness_parse() reads
 * at most READINESS_MAX_FILE bytes of strict JSON into one typed entry per
 * proof type of the pipeline, checking the type and range of every field it
 * knows and ignoring the others. A type the file does not name is ready;
 * so is every type when the file is missing, unreadable or malformed (the
 * problem goes to the server's log once per change, never into an answer
 * as a failure), and when the pipeline names no file at all.
 *
 * A struct readiness is shared by the request threads: it caches the last
 * parse under a mutex, keyed by the file's identity, size and modification
 * time, so a request costs one stat() unless the file changed. */
#ifndef PHASESTREAM_READINESS_H
#define PHASESTREAM_READINESS_H

#include <stdbool.h>
#include <stddef.h>

struct pipeline;

#define READINESS_MAX_FILE  (64 * 1024) /* a larger file is malformed */
#define READINESS_MAX_DOING 200         /* bytes of "doing" kept (cut at a character) */
#define READINESS_MAX_STEPS 1000        /* "step" and "steps" are 0..this */

enum readiness_state { READINESS_READY, READINESS_PREPARING, READINESS_FAILED };

struct readiness_entry {
    bool ready;
    enum readiness_state state;
    int step, steps;                     /* 0 when the file gives none */
    char doing[READINESS_MAX_DOING + 1]; /* what the preparation is doing, or "";
                                             UTF-8 without control characters but tab */
};

/* Parses text[0..len) into out[i] for each of the n proof types in types
 * (every entry ready when the file does not name its type). Returns 0, or
 * -1 with the reason in err (keys and positions, never the file's text);
 * out is then every type ready. */
int readiness_parse(const char *text, size_t len, char *const *types, size_t n,
                    struct readiness_entry *out, char *err, size_t errlen);

/* The refusal for a type that is not ready: "groth16 is not ready yet:
 * waiting for the setup (preparing, step 4 of 8: ...); try again when it is
 * ready" or "groth16 cannot run: its setup failed (...)". */
void readiness_describe(const char *type, const struct readiness_entry *e, char *buf, size_t len);

struct readiness;

/* For the pipeline's proof types, from its readiness file (p->readiness,
 * NULL for none: everything is ready). The first read happens here, so the
 * file's state is in the log from the start. */
struct readiness *readiness_new(const struct pipeline *p);
void readiness_free(struct readiness *r);

/* The readiness of every proof type as a JSON object {"<type>": {"ready",
 * "state"[, "step", "steps", "doing"]}} as of now: a new string. */
char *readiness_json(struct readiness *r);

/* True when the type can run now; else false, with the refusal in msg. */
bool readiness_check(struct readiness *r, const char *type, char *msg, size_t len);

#endif
