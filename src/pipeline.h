/* pipeline.h -- the workflow's phases, loaded from the pipeline file.
 *
 * The file (schema in docs/api.md) is untrusted input: pipeline_load() validates
 * all of it into the typed structs below and reports the first problem as
 * "FILE: phases[2].extract[0].pattern: <reason>". Nothing else in the server
 * looks at the JSON. Patterns are compiled once here with PCRE2 (UTF mode);
 * match data is per runner, not stored here, so a pipeline is read-only after
 * loading and shared by all threads. */
#ifndef PHASESTREAM_PIPELINE_H
#define PHASESTREAM_PIPELINE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

/* The limits of a pipeline file, each refused at load with its key. */
#define PIPELINE_MAX_FILE    (1 << 20)
#define PIPELINE_MAX_PHASES  32
#define PIPELINE_MAX_RULES   64 /* per phase */
#define PIPELINE_MAX_ARGS    256
#define PIPELINE_MAX_ENV     64 /* variables a phase's env may name */
#define PIPELINE_MAX_STRING  4096
#define PIPELINE_MAX_TYPES   64  /* proof types */
#define PIPELINE_MAX_SECRETS 64  /* secret variables */
#define PIPELINE_MAX_PATH    200 /* a result path, as written */
/* ... once {proofType} (11 bytes) is replaced by a proof type (at most 32). */
#define PIPELINE_MAX_PATH_EXPANDED (PIPELINE_MAX_PATH * 3)

struct json_object;

enum pipeline_action_kind {
    ACTION_APPEND, /* push the capture onto the array at path */
    ACTION_COUNT,  /* add 1 to the integer at path */
    ACTION_SET,    /* store the capture (string or number) at path */
};

struct pipeline_rule {
    char *pattern; /* the source, for messages */
    pcre2_code *re;
    int captures; /* capture groups in the pattern */
    /* Result actions; path NULL when absent. Paths may contain {proofType}. */
    char *append_path;
    char *count_path;
    char *set_path;
    bool set_number;                /* "as": "number" */
    bool progress;                  /* the capture is a 0-100 figure within the phase */
    bool unique;                    /* fire at most once per distinct capture per session */
    char *event_type;               /* extra event, or NULL */
    struct json_object *event_data; /* template; "$N" replaced by capture N */
};

struct pipeline_env {
    char *name;
    char *value; /* may contain placeholders */
};

struct pipeline_phase {
    char *name;
    char *step;
    int progress_from, progress_to;
    char **argv; /* NULL-terminated; may contain placeholders */
    size_t argc;
    char *cwd;   /* absolute */
    int timeout; /* seconds */
    struct pipeline_env *env;
    size_t nenv;
    char *skip_unless_env;
    char *skip_message;
    char *exit_ok_if; /* result path */
    struct pipeline_rule *rules;
    size_t nrules;
};

struct pipeline {
    char *path; /* the file, absolute */
    char *dir;  /* its directory: base of relative command[0] and cwd */
    char **proof_types;
    size_t nproof_types;
    char **secrets; /* names of variables whose values are masked */
    size_t nsecrets;
    struct pipeline_phase *phases;
    size_t nphases;
    char *readiness; /* the readiness file (readiness.h), absolute; NULL: none */
};

/* Loads and validates. Returns NULL with err filled on any problem. */
struct pipeline *pipeline_load(const char *path, char *err, size_t errlen);
/* Validates a pipeline from a JSON text (path is used for messages and as the
 * base of relative paths). */
struct pipeline *pipeline_parse(const char *text, const char *path, char *err, size_t errlen);
void pipeline_free(struct pipeline *p);

bool pipeline_has_proof_type(const struct pipeline *p, const char *type);
/* "groth16, plonk, stark" into buf. */
void pipeline_proof_type_list(const struct pipeline *p, char *buf, size_t len);

/* The initial results object: every path an action names, as [] for append,
 * 0 for count and null for set, so a session's state has the configured
 * shape before any rule has fired. `proof_types` expand {proofType} paths.
 * Returns a new json object. */
struct json_object *pipeline_results_template(const struct pipeline *p);

/* Replaces {proofType}, {sessionId} and {workdir} in s. */
char *pipeline_expand(const char *s, const char *proof_type, const char *session_id,
                      const char *workdir);

#endif
