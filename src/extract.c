/* extract.c -- extraction rules: see extract.h. */
#include "extract.h"
#include "alloc.h"
#include "events.h"
#include "hash.h"
#include "pipeline.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    const struct pipeline_rule *rule;
    char *value;
};

/* The seen captures are found through an open-addressing index of twice
 * their bound (never more than half full), so a unique rule costs a line
 * one hash and a probe or two, not a scan of every capture seen. */
#define SEEN_SLOTS (2 * EXTRACT_UNIQUE_MAX)

struct extract {
    const struct pipeline *pipeline;
    char *proof_type;
    struct json_object *results;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    struct seen *seen;
    size_t nseen;
    size_t seen_bytes; /* their text, at most EXTRACT_UNIQUE_BYTES */
    int *seen_slots;   /* SEEN_SLOTS indexes into seen, -1 when free */
    size_t bytes;      /* captured text kept in the results */
    struct extract_drops drops;
};

void extract_drops(const struct extract *x, struct extract_drops *out)
{
    *out = x->drops;
}

/* May a value of add bytes replace one of drop bytes in the results? Keeps
 * the count when it may, counts a dropped value when not. */
static bool extract_room(struct extract *x, size_t drop, size_t add)
{
    if (x->bytes - drop + add > EXTRACT_MAX_BYTES) {
        x->drops.values++;
        return false;
    }
    x->bytes = x->bytes - drop + add;
    return true;
}

struct extract *extract_new(const struct pipeline *p, const char *proof_type)
{
    struct extract *x = xcalloc(1, sizeof(*x));
    x->pipeline = p;
    x->proof_type = xstrdup(proof_type);
    x->results = pipeline_results_template(p);
    /* Room for 10 capture groups: $0-$9 are what templates can name. */
    x->md = pcre2_match_data_create(10, NULL);
    x->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(x->mctx, EXTRACT_MATCH_LIMIT);
    pcre2_set_depth_limit(x->mctx, EXTRACT_DEPTH_LIMIT);
    x->seen = xcalloc(EXTRACT_UNIQUE_MAX, sizeof(*x->seen));
    x->seen_slots = xmalloc(SEEN_SLOTS * sizeof(*x->seen_slots));
    memset(x->seen_slots, 0xff, SEEN_SLOTS * sizeof(*x->seen_slots));
    return x;
}

void extract_free(struct extract *x)
{
    if (!x)
        return;
    json_object_put(x->results);
    pcre2_match_data_free(x->md);
    pcre2_match_context_free(x->mctx);
    for (size_t i = 0; i < x->nseen; i++)
        free(x->seen[i].value);
    free(x->seen);
    free(x->seen_slots);
    free(x->proof_type);
    free(x);
}

const char *extract_results_json(struct extract *x)
{
    return json_object_to_json_string_ext(x->results,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

struct json_object *extract_results(struct extract *x)
{
    return x->results;
}

bool extract_parse_number(const char *s, double *out)
{
    char digits[64];
    size_t n = 0;
    while (isspace((unsigned char)*s))
        s++;
    /* Digits, one dot, thousands separators dropped. */
    for (; *s && n + 1 < sizeof(digits); s++) {
        if (isdigit((unsigned char)*s) || *s == '.' || (*s == '-' && n == 0))
            digits[n++] = *s;
        else if (*s != ',' && *s != '_')
            break;
    }
    digits[n] = '\0';
    if (n == 0)
        return false;
    char *end;
    double v = strtod(digits, &end);
    if (*end != '\0' || end == digits || !isfinite(v))
        return false;
    while (isspace((unsigned char)*s))
        s++;
    switch (*s) {
    case 'k':
    case 'K':
        v *= 1e3;
        break;
    case 'm':
    case 'M':
        v *= 1e6;
        break;
    case 'g':
    case 'G':
    case 'b':
    case 'B':
        v *= 1e9;
        break;
    default:
        break;
    }
    *out = v;
    return true;
}

/* The container that holds the last segment of path, created as needed;
 * *leaf gets the last segment. NULL if something else is in the way. */
static struct json_object *path_parent(struct json_object *root, const char *path, char *leaf,
                                       size_t leaflen)
{
    struct json_object *cur = root;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot) {
            snprintf(leaf, leaflen, "%s", p);
            return cur;
        }
        char seg[PIPELINE_MAX_PATH_EXPANDED + 1];
        snprintf(seg, sizeof(seg), "%.*s", (int)(dot - p), p);
        struct json_object *next;
        if (!json_object_object_get_ex(cur, seg, &next) || !next) {
            next = json_object_new_object();
            json_object_object_add(cur, seg, next);
        }
        if (!json_object_is_type(next, json_type_object))
            return NULL;
        cur = next;
        p = dot + 1;
    }
}

static struct json_object *path_get(struct json_object *root, const char *path)
{
    char leaf[PIPELINE_MAX_PATH_EXPANDED + 1];
    struct json_object *parent = path_parent(root, path, leaf, sizeof(leaf)), *v = NULL;
    if (parent)
        json_object_object_get_ex(parent, leaf, &v);
    return v;
}

bool extract_has(struct extract *x, const char *path)
{
    char *p = pipeline_expand(path, x->proof_type, "", "");
    struct json_object *v = path_get(x->results, p);
    free(p);
    if (!v)
        return false;
    switch (json_object_get_type(v)) {
    case json_type_array:
        return json_object_array_length(v) > 0;
    case json_type_int:
        return json_object_get_int64(v) != 0;
    case json_type_string:
        return json_object_get_string_len(v) > 0;
    default:
        return true;
    }
}

/* A number as an int when it is whole, else a double. */
static struct json_object *json_number(double v)
{
    if (v == floor(v) && fabs(v) < 9e15)
        return json_object_new_int64((int64_t)v);
    return json_object_new_double(v);
}

static bool apply_result(struct extract *x, const struct pipeline_rule *r, const char *value)
{
    bool changed = false;
    char leaf[PIPELINE_MAX_PATH_EXPANDED + 1];
    const char *paths[] = {r->append_path, r->count_path, r->set_path};
    for (int k = 0; k < 3; k++) {
        if (!paths[k])
            continue;
        char *path = pipeline_expand(paths[k], x->proof_type, "", "");
        struct json_object *parent = path_parent(x->results, path, leaf, sizeof(leaf));
        free(path);
        if (!parent)
            continue;
        struct json_object *cur = NULL;
        json_object_object_get_ex(parent, leaf, &cur);
        if (k == 0) {
            if (!cur || !json_object_is_type(cur, json_type_array)) {
                cur = json_object_new_array();
                json_object_object_add(parent, leaf, cur);
            }
            if (json_object_array_length(cur) >= EXTRACT_MAX_ITEMS) {
                x->drops.values++;
                continue;
            }
            if (!extract_room(x, 0, strlen(value)))
                continue;
            json_object_array_add(cur, json_object_new_string(value));
            changed = true;
        } else if (k == 1) {
            int64_t n =
                    cur && json_object_is_type(cur, json_type_int) ? json_object_get_int64(cur) : 0;
            json_object_object_add(parent, leaf, json_object_new_int64(n + 1));
            changed = true;
        } else {
            double v;
            if (r->set_number) {
                if (!extract_parse_number(value, &v))
                    continue;
                json_object_object_add(parent, leaf, json_number(v));
            } else {
                size_t old = cur && json_object_is_type(cur, json_type_string)
                                     ? (size_t)json_object_get_string_len(cur)
                                     : 0;
                if (!extract_room(x, old, strlen(value)))
                    continue;
                json_object_object_add(parent, leaf, json_object_new_string(value));
            }
            changed = true;
        }
    }
    return changed;
}

/* A deep copy of the event template with $0-$9 replaced by the captures. */
static struct json_object *template_fill(struct json_object *t, const char *line,
                                         const PCRE2_SIZE *ov, int groups)
{
    switch (json_object_get_type(t)) {
    case json_type_object: {
        struct json_object *o = json_object_new_object();
        json_object_object_foreach(t, key, val)
        {
            json_object_object_add(o, key, template_fill(val, line, ov, groups));
        }
        return o;
    }
    case json_type_array: {
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(t); i++)
            json_object_array_add(a,
                                  template_fill(json_object_array_get_idx(t, i), line, ov, groups));
        return a;
    }
    case json_type_string: {
        const char *s = json_object_get_string(t);
        size_t cap = strlen(s) + 1, len = 0;
        char *out = xmalloc(cap);
        for (; *s; s++) {
            const char *add = s;
            size_t addlen = 1;
            if (s[0] == '$' && isdigit((unsigned char)s[1])) {
                int g = s[1] - '0';
                add = "";
                addlen = 0;
                if (g < groups && ov[2 * g] != PCRE2_UNSET) {
                    add = line + ov[2 * g];
                    addlen = ov[2 * g + 1] - ov[2 * g];
                }
                s++;
            }
            if (len + addlen + 1 > cap) {
                cap = (len + addlen + 1) * 2;
                out = xrealloc(out, cap);
            }
            memcpy(out + len, add, addlen);
            len += addlen;
        }
        out[len] = '\0';
        struct json_object *str = json_object_new_string_len(out, (int)len);
        free(out);
        return str;
    }
    default: {
        /* Numbers, booleans, null: copied, never shared (the template is
         * read by every runner thread at once). */
        struct json_object *copy = NULL;
        if (t)
            json_object_deep_copy(t, &copy, NULL);
        return copy;
    }
    }
}

/* For unique rules: true the first time this capture is seen. */
static bool unique_first(struct extract *x, const struct pipeline_rule *r, const char *value)
{
    unsigned rule_hash = (unsigned)((uintptr_t)r >> 4) * 0x9e3779b9u;
    size_t slot = (hash_string(value) ^ rule_hash) % SEEN_SLOTS;
    for (; x->seen_slots[slot] >= 0; slot = (slot + 1) % SEEN_SLOTS) {
        const struct seen *s = &x->seen[x->seen_slots[slot]];
        if (s->rule == r && strcmp(s->value, value) == 0)
            return false;
    }
    size_t len = strlen(value);
    if (x->nseen >= EXTRACT_UNIQUE_MAX || x->seen_bytes + len > EXTRACT_UNIQUE_BYTES) {
        x->drops.values++; /* cannot tell whether it is new */
        return false;
    }
    x->seen_bytes += len;
    x->seen[x->nseen].rule = r;
    x->seen[x->nseen].value = xstrdup(value);
    x->seen_slots[slot] = (int)x->nseen++;
    return true;
}

bool extract_line(struct extract *x, const struct pipeline_phase *ph, const char *line, size_t len,
                  const struct extract_sink *sink, void *ctx)
{
    bool changed = false;
    for (size_t i = 0; i < ph->nrules; i++) {
        const struct pipeline_rule *r = &ph->rules[i];
        int rc = pcre2_match(r->re, (PCRE2_SPTR)line, len, 0, PCRE2_NO_UTF_CHECK, x->md, x->mctx);
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT)
            x->drops.match_limit++;
        if (rc <= 0)
            continue; /* no match, or a limit was hit: treated as no match */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
        int g = r->captures >= 1 && rc > 1 && ov[2] != PCRE2_UNSET ? 1 : 0;
        char *value = xstrndup(line + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        if (r->unique && !unique_first(x, r, value)) {
            free(value);
            continue;
        }
        if (apply_result(x, r, value))
            changed = true;
        if (r->progress && sink->progress) {
            double v;
            if (extract_parse_number(value, &v)) {
                if (v < 0)
                    v = 0;
                if (v > 100)
                    v = 100;
                int span = ph->progress_to - ph->progress_from;
                sink->progress(ctx, ph->progress_from + (int)lround(span * v / 100.0));
            }
        }
        if (r->event_type && sink->event) {
            struct json_object *data = template_fill(r->event_data, line, ov, rc);
            /* Like the server's own events, a rule's event says when it
             * happened, unless its template sets "timestamp" itself. */
            if (!json_object_object_get_ex(data, "timestamp", NULL)) {
                char ts[32];
                event_timestamp(ts);
                json_object_object_add(data, "timestamp", json_object_new_string(ts));
            }
            sink->event(ctx, r->event_type,
                        json_object_to_json_string_ext(
                                data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(data);
        }
        free(value);
    }
    return changed;
}
