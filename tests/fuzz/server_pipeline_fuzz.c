/*
 * server_pipeline_fuzz: libFuzzer target for the pipeline file (pipeline.c).
 *
 * Input: the file's text. It goes to pipeline_parse, the from-memory half of
 * pipeline_load, as the file /pipeline.json (so relative commands and
 * working directories resolve against /, which exists everywhere).
 *
 * The oracles: a rejection names the file and says why; an accepted
 * pipeline keeps the documented bounds (1 to 32 phases, at least one proof
 * type, a program for every phase, progress ranges within 0-100, absolute
 * working directories, an absolute readiness file when there is one, a
 * compiled pattern for every rule) and every proof
 * type is found by pipeline_has_proof_type. Its results template is an
 * object, and its rules then run on a few lines, the text itself among
 * them, under the match limit, without a memory error.
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "pipeline.h"
#include "server_fuzz.h"

#define PIPELINE_FUZZ_FILE "/pipeline.json"

static void sink_progress(void *ctx, int percent)
{
    const struct pipeline_phase *ph = ctx;
    if (percent < ph->progress_from || percent > ph->progress_to)
        fuzz_fail("progress %d outside [%d, %d]", percent, ph->progress_from, ph->progress_to);
}

static void sink_event(void *ctx, const char *type, const char *data)
{
    (void)ctx;
    struct json_object *o = json_tokener_parse(data);
    if (!type[0] || !json_object_is_type(o, json_type_object))
        fuzz_fail("event %s with data %s", type, data);
    json_object_put(o);
}

static void check_phase(const struct pipeline_phase *ph)
{
    if (ph->progress_from < 0 || ph->progress_from > ph->progress_to || ph->progress_to > 100)
        fuzz_fail("phase %s: progress [%d, %d]", ph->name, ph->progress_from, ph->progress_to);
    if (ph->argc == 0 || !ph->argv[0][0] || ph->argv[ph->argc] != NULL)
        fuzz_fail("phase %s: no program, or argv not NULL-terminated", ph->name);
    if (ph->cwd[0] != '/' || ph->timeout < 1)
        fuzz_fail("phase %s: cwd %s, timeout %d", ph->name, ph->cwd, ph->timeout);
    for (size_t i = 0; i < ph->nrules; i++)
        if (!ph->rules[i].re)
            fuzz_fail("phase %s: rule %zu has no compiled pattern", ph->name, i);
}

/* Runs every phase's rules on the lines, for the first proof type. */
static void run_rules(const struct pipeline *p, const char *text)
{
    static const char *const fixed[] = {
            "circuits/file1_groth16_proof.json",
            "\xe2\x9c\x85 Verified, 250k gas; Circuits verified: 3 progress 50%",
            ("Transaction sent: 0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
             " https://explorer/tx"),
    };
    static const struct extract_sink sink = {sink_progress, sink_event};
    struct extract *x = extract_new(p, p->proof_types[0]);
    size_t tlen = strnlen(text, 512);
    while (tlen > 0 && (text[tlen] & 0xc0) == 0x80)
        tlen--; /* a whole character */
    for (size_t i = 0; i < p->nphases; i++) {
        const struct pipeline_phase *ph = &p->phases[i];
        for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
            extract_line(x, ph, fixed[k], strlen(fixed[k]), &sink, (void *)ph);
        if (fuzz_utf8_clean(text, tlen, false)) /* lines are UTF-8 by then */
            extract_line(x, ph, text, tlen, &sink, (void *)ph);
        if (ph->exit_ok_if)
            (void)extract_has(x, ph->exit_ok_if);
    }
    struct json_object *back = json_tokener_parse(extract_results_json(x));
    if (!json_object_is_type(back, json_type_object))
        fuzz_fail("results are not a JSON object: %s", extract_results_json(x));
    json_object_put(back);
    extract_free(x);
}

static void check_pipeline(const struct pipeline *p, const char *text)
{
    if (p->nproof_types == 0 || p->nphases == 0 || p->nphases > 32)
        fuzz_fail("%zu proof types, %zu phases", p->nproof_types, p->nphases);
    if (p->readiness && p->readiness[0] != '/')
        fuzz_fail("readiness file %s is not absolute", p->readiness);
    for (size_t i = 0; i < p->nproof_types; i++)
        if (!pipeline_has_proof_type(p, p->proof_types[i]))
            fuzz_fail("proof type %s listed but not found", p->proof_types[i]);
    char list[4096];
    pipeline_proof_type_list(p, list, sizeof(list));
    for (size_t i = 0; i < p->nphases; i++) {
        check_phase(&p->phases[i]);
        for (size_t a = 0; a < p->phases[i].argc; a++)
            free(pipeline_expand(p->phases[i].argv[a], p->proof_types[0], "abcdefgh12345678",
                                 "/tmp/w"));
    }
    struct json_object *t = pipeline_results_template(p);
    if (!json_object_is_type(t, json_type_object))
        fuzz_fail("the results template is not an object");
    json_object_put(t);
    run_rules(p, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    char err[1024] = "";
    struct pipeline *p = pipeline_parse(text, PIPELINE_FUZZ_FILE, err, sizeof(err));
    if (!p) {
        if (strncmp(err, PIPELINE_FUZZ_FILE ": ", strlen(PIPELINE_FUZZ_FILE) + 2) != 0 ||
            strlen(err) <= strlen(PIPELINE_FUZZ_FILE) + 2)
            fuzz_fail("rejected with \"%s\"", err);
    } else {
        check_pipeline(p, text);
        pipeline_free(p);
    }
    free(text);
    return 0;
}
