/*
 * server_extract_fuzz: libFuzzer target for the extraction rules
 * (extract.c), applied as the runner applies them: to a phase's output
 * lines once line_sanitize has cleaned and masked them.
 *
 * The rules are the repository's own pipelines (conf/workflow.json and the
 * test pipelines), loaded once. Input: [pipeline and proof type] then the
 * output, one line per '\n'; every line goes through every phase's rules.
 *
 * The oracles: a progress figure stays within its phase's range; a rule's
 * event has a type the phase names and data that is a JSON object with a
 * timestamp; the results stay a JSON object of the template's shape (arrays
 * of strings, whole counts, set values that are strings, numbers or null)
 * and an array only unique rules fill holds no value twice; whenever the
 * results change, extract_line says so; the masked secret is never in the
 * results or an event; extract_parse_number gives finite numbers.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "lines.h"
#include "pipeline.h"
#include "server_fuzz.h"

#define EXTRACT_FUZZ_SECRET "S3cr3t-Fuzz-Value"

static const char *const pipeline_files[] = {"conf/workflow.json", "tests/pipelines/basic.json",
                                             "tests/pipelines/browser.json"};
#define EXTRACT_FUZZ_PIPELINES (sizeof(pipeline_files) / sizeof(pipeline_files[0]))
static struct pipeline *pipelines[EXTRACT_FUZZ_PIPELINES];
static struct json_object *templates[EXTRACT_FUZZ_PIPELINES];

struct run {
    const struct pipeline_phase *phase;
};

static void load_pipelines(void)
{
    for (size_t i = 0; i < EXTRACT_FUZZ_PIPELINES; i++) {
        char path[4096], err[1024];
        snprintf(path, sizeof(path), "%s/%s", SERVER_FUZZ_ROOT, pipeline_files[i]);
        pipelines[i] = pipeline_load(path, err, sizeof(err));
        if (!pipelines[i])
            fuzz_fail("%s", err);
        templates[i] = pipeline_results_template(pipelines[i]);
    }
}

static void sink_progress(void *ctx, int percent)
{
    const struct run *run = ctx;
    if (percent < run->phase->progress_from || percent > run->phase->progress_to)
        fuzz_fail("progress %d outside [%d, %d]", percent, run->phase->progress_from,
                  run->phase->progress_to);
}

static void sink_event(void *ctx, const char *type, const char *data)
{
    const struct run *run = ctx;
    bool named = false;
    for (size_t i = 0; i < run->phase->nrules; i++)
        if (run->phase->rules[i].event_type && strcmp(run->phase->rules[i].event_type, type) == 0)
            named = true;
    struct json_object *o = json_tokener_parse(data), *ts;
    if (!named || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "timestamp", &ts) || strstr(data, EXTRACT_FUZZ_SECRET))
        fuzz_fail("event %s with data %s", type, data);
    json_object_put(o);
}

static bool unique_only(const struct pipeline *p, const char *path)
{
    bool any = false;
    for (size_t i = 0; i < p->nphases; i++)
        for (size_t j = 0; j < p->phases[i].nrules; j++) {
            const struct pipeline_rule *r = &p->phases[i].rules[j];
            if (r->append_path && strcmp(r->append_path, path) == 0) {
                if (!r->unique)
                    return false;
                any = true;
            }
        }
    return any;
}

static void check_array(const struct pipeline *p, const char *path, struct json_object *a)
{
    size_t n = json_object_array_length(a);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        if (!json_object_is_type(e, json_type_string))
            fuzz_fail("%s[%zu] is not a string", path, i);
    }
    if (!unique_only(p, path))
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)),
                       json_object_get_string(json_object_array_get_idx(a, j))) == 0)
                fuzz_fail("%s holds \"%s\" twice", path,
                          json_object_get_string(json_object_array_get_idx(a, i)));
}

/* Results against the template: same keys, same shapes. Paths are matched
 * as written in the pipeline (the proof type is expanded in both). */
static void check_shape(const struct pipeline *p, struct json_object *tmpl, struct json_object *res,
                        const char *path)
{
    json_object_object_foreach(tmpl, key, want)
    {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
        struct json_object *got;
        if (!json_object_object_get_ex(res, key, &got))
            fuzz_fail("results lost %s", sub);
        switch (json_object_get_type(want)) {
        case json_type_object:
            if (!json_object_is_type(got, json_type_object))
                fuzz_fail("%s is no longer an object", sub);
            check_shape(p, want, got, sub);
            break;
        case json_type_array:
            if (!json_object_is_type(got, json_type_array))
                fuzz_fail("%s is no longer an array", sub);
            check_array(p, sub, got);
            break;
        case json_type_int:
            if (!json_object_is_type(got, json_type_int) || json_object_get_int64(got) < 0)
                fuzz_fail("%s is no longer a count", sub);
            break;
        default:
            if (got && !json_object_is_type(got, json_type_string) &&
                !json_object_is_type(got, json_type_int) &&
                !json_object_is_type(got, json_type_double))
                fuzz_fail("%s is set to %s", sub, json_object_to_json_string(got));
            break;
        }
    }
}

static void check_results(struct extract *x, size_t which)
{
    const char *json = extract_results_json(x);
    if (strstr(json, EXTRACT_FUZZ_SECRET))
        fuzz_fail("the secret is in the results: %s", json);
    struct json_object *back = json_tokener_parse(json);
    if (!json_object_is_type(back, json_type_object))
        fuzz_fail("results are not a JSON object: %s", json);
    json_object_put(back);
    check_shape(pipelines[which], templates[which], extract_results(x), "");
}

static void run_line(struct extract *x, const struct pipeline *p, const char *line, size_t len)
{
    static const struct extract_sink sink = {sink_progress, sink_event};
    char *before = strdup(extract_results_json(x));
    for (size_t i = 0; i < p->nphases; i++) {
        struct run run = {&p->phases[i]};
        if (extract_line(x, &p->phases[i], line, len, &sink, &run)) {
            free(before);
            before = strdup(extract_results_json(x));
        } else if (strcmp(before, extract_results_json(x)) != 0) {
            fuzz_fail("the results changed, but extract_line says not");
        }
    }
    free(before);
    double v;
    if (extract_parse_number(line, &v) && !isfinite(v))
        fuzz_fail("\"%s\" read as %g", line, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pipelines[0])
        load_pipelines();
    if (size < 1)
        return 0;
    size_t which = data[0] % EXTRACT_FUZZ_PIPELINES;
    const struct pipeline *p = pipelines[which];
    struct extract *x =
            extract_new(p, p->proof_types[(data[0] / EXTRACT_FUZZ_PIPELINES) % p->nproof_types]);
    const char *secrets[] = {EXTRACT_FUZZ_SECRET};
    const struct line_rules rules = {8192, secrets, 1};

    const uint8_t *in = data + 1;
    size_t n = size - 1;
    char *raw;
    size_t rawlen;
    while ((raw = fuzz_field(&in, &n, '\n', &rawlen)) != NULL) {
        size_t len;
        char *line = line_sanitize(&rules, raw, rawlen, LINE_WHOLE, &len);
        run_line(x, p, line, len);
        free(line);
        free(raw);
    }
    check_results(x, which);
    extract_free(x);
    return 0;
}
