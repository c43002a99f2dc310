/* pipeline.c -- load and validate the pipeline file: see pipeline.h.
 *
 * Validation is strict on purpose: an unknown key is an error (a typo such as
 * "timout" would otherwise silently give a phase the default timeout), every
 * number has a range, every pattern must compile, every result path must have
 * one shape. The server refuses to start on a bad file and names the file,
 * the key and the reason. */
#include "pipeline.h"
#include "alloc.h"
#include "ident.h"
#include "json_strict.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Validation context: the file name and where the error message goes. */
struct vctx {
    const char *file;
    char *err;
    size_t errlen;
    const struct pipeline *p; /* as far as it is parsed */
};

static int verr(struct vctx *v, const char *where, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int verr(struct vctx *v, const char *where, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(v->err, v->errlen, "%s: %s: %s", v->file, where, why);
    return -1;
}

static bool name_ok(const char *s, size_t maxlen)
{
    return ident_valid(s, strlen(s), 1, maxlen);
}

static bool env_name_ok(const char *s)
{
    if (!*s || strlen(s) > 128 || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* A result path: dot-separated segments of [A-Za-z0-9_] or {proofType}. */
static bool path_ok(const char *s)
{
    if (!*s || strlen(s) > PIPELINE_MAX_PATH)
        return false;
    const char *p = s;
    while (*p) {
        const char *seg = p;
        if (strncmp(p, "{proofType}", 11) == 0) {
            p += 11;
        } else {
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
        }
        if (p == seg)
            return false;
        if (*p == '.') {
            p++;
            if (!*p)
                return false;
        } else if (*p) {
            return false;
        }
    }
    return true;
}

/* Checks that every key of obj is one of the allowed names. */
static int only_keys(struct vctx *v, const char *where, struct json_object *obj,
                     const char *const *allowed)
{
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = true;
        if (!ok)
            return verr(v, where, "unknown key \"%s\"", key);
    }
    return 0;
}

/* Fetches an optional string member; *out stays NULL when absent. */
static int get_string(struct vctx *v, const char *where, struct json_object *obj, const char *key,
                      bool required, char **out)
{
    struct json_object *val;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &val) || json_object_is_type(val, json_type_null)) {
        if (required)
            return verr(v, where, "\"%s\" is required", key);
        return 0;
    }
    if (!json_object_is_type(val, json_type_string))
        return verr(v, where, "\"%s\" must be a string", key);
    const char *s = json_object_get_string(val);
    size_t n = (size_t)json_object_get_string_len(val);
    if (n > PIPELINE_MAX_STRING || strlen(s) != n)
        return verr(v, where, "\"%s\" is longer than %d bytes or holds a NUL", key,
                    PIPELINE_MAX_STRING);
    *out = xstrdup(s);
    return 0;
}

static int get_int(struct vctx *v, const char *where, struct json_object *obj, const char *key,
                   int min, int max, int dflt, int *out)
{
    struct json_object *val;
    *out = dflt;
    if (!json_object_object_get_ex(obj, key, &val))
        return 0;
    if (!json_object_is_type(val, json_type_int))
        return verr(v, where, "\"%s\" must be a whole number", key);
    int64_t n = json_object_get_int64(val);
    if (n < min || n > max)
        return verr(v, where, "\"%s\" must be from %d to %d", key, min, max);
    *out = (int)n;
    return 0;
}

static int get_bool(struct vctx *v, const char *where, struct json_object *obj, const char *key,
                    bool *out)
{
    struct json_object *val;
    *out = false;
    if (!json_object_object_get_ex(obj, key, &val))
        return 0;
    if (!json_object_is_type(val, json_type_boolean))
        return verr(v, where, "\"%s\" must be true or false", key);
    *out = json_object_get_boolean(val);
    return 0;
}

/* An array of strings, each checked by ok() when given. */
static int get_string_array(struct vctx *v, const char *where, struct json_object *obj,
                            const char *key, bool required, size_t maxn, bool (*ok)(const char *),
                            char ***out, size_t *count)
{
    struct json_object *arr;
    *out = NULL;
    *count = 0;
    if (!json_object_object_get_ex(obj, key, &arr)) {
        if (required)
            return verr(v, where, "\"%s\" is required", key);
        *out = xcalloc(1, sizeof(char *));
        return 0;
    }
    if (!json_object_is_type(arr, json_type_array))
        return verr(v, where, "\"%s\" must be an array of strings", key);
    size_t n = json_object_array_length(arr);
    if (n > maxn)
        return verr(v, where, "\"%s\" has more than %zu entries", key, maxn);
    char **list = xcalloc(n + 1, sizeof(char *));
    *out = list;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_string))
            return verr(v, where, "\"%s\"[%zu] must be a string", key, i);
        const char *s = json_object_get_string(e);
        if ((size_t)json_object_get_string_len(e) != strlen(s) || strlen(s) > PIPELINE_MAX_STRING)
            return verr(v, where, "\"%s\"[%zu] is too long or holds a NUL", key, i);
        if (ok && !ok(s))
            return verr(v, where, "\"%s\"[%zu] \"%s\" is not a valid name", key, i, s);
        list[i] = xstrdup(s);
        *count = i + 1;
    }
    return 0;
}

static bool proof_type_ok(const char *s)
{
    return name_ok(s, IDENT_NAME_MAX);
}

static bool secret_ok(const char *s)
{
    return env_name_ok(s);
}

/* Joins a relative path onto the pipeline's directory. */
static char *resolve(const struct pipeline *p, const char *path)
{
    if (path[0] == '/')
        return xstrdup(path);
    if (strcmp(path, ".") == 0)
        return xstrdup(p->dir);
    return xasprintf("%s/%s", p->dir, path);
}

/* Highest $N referenced in the string values of an event data template. */
static int template_max_ref(struct json_object *o)
{
    int max = -1;
    switch (json_object_get_type(o)) {
    case json_type_string: {
        const char *s = json_object_get_string(o);
        for (const char *d = strchr(s, '$'); d; d = strchr(d + 1, '$'))
            if (isdigit((unsigned char)d[1]) && d[1] - '0' > max)
                max = d[1] - '0';
        break;
    }
    case json_type_object: {
        json_object_object_foreach(o, k, val)
        {
            (void)k;
            int m = template_max_ref(val);
            if (m > max)
                max = m;
        }
        break;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            int m = template_max_ref(json_object_array_get_idx(o, i));
            if (m > max)
                max = m;
        }
        break;
    default:
        break;
    }
    return max;
}

/* A rule's pattern, compiled (JIT where the platform has it). */
static int parse_rule_pattern(struct vctx *v, const char *where, struct json_object *obj,
                              struct pipeline_rule *r)
{
    if (get_string(v, where, obj, "pattern", true, &r->pattern) < 0)
        return -1;
    int errcode;
    PCRE2_SIZE erroff;
    r->re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &errcode,
                          &erroff, NULL);
    if (!r->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        return verr(v, where, "pattern does not compile: %s at offset %zu", (char *)msg,
                    (size_t)erroff);
    }
    /* JIT where the platform has it; the interpreter is the fallback. */
    (void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
    uint32_t caps = 0;
    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &caps);
    r->captures = (int)caps;
    return 0;
}

/* The top-level fields of a WorkflowState (events.c, event_state_json).
 * Results are merged into the state beside them, so a result may not take
 * one of their names: a script's output would rewrite the session's own
 * status, id or progress. */
static const char *const state_fields[] = {
        "sessionId",  "proofType",     "status", "phase", "currentStep",
        "progress",   "queuePosition", "logs",   "error", "startTime",
        "lastUpdate", "lastEventId",   NULL};

static const char *state_field(const char *name, size_t len)
{
    for (const char *const *f = state_fields; *f; f++)
        if (strlen(*f) == len && strncmp(name, *f, len) == 0)
            return *f;
    return NULL;
}

/* The state field a result path's first segment would take, or NULL; a
 * {proofType} segment takes each proof type's name. */
static const char *path_state_field(const struct pipeline *p, const char *path)
{
    size_t len = strcspn(path, ".");
    if (len == 11 && strncmp(path, "{proofType}", 11) == 0) {
        for (size_t i = 0; i < p->nproof_types; i++) {
            const char *f = state_field(p->proof_types[i], strlen(p->proof_types[i]));
            if (f)
                return f;
        }
        return NULL;
    }
    return state_field(path, len);
}

/* A rule's result actions: append, count, set (as), progress, unique. */
static int parse_rule_actions(struct vctx *v, const char *where, struct json_object *obj,
                              struct pipeline_rule *r)
{
    if (get_string(v, where, obj, "append", false, &r->append_path) < 0 ||
        get_string(v, where, obj, "count", false, &r->count_path) < 0 ||
        get_string(v, where, obj, "set", false, &r->set_path) < 0)
        return -1;
    const char *paths[] = {r->append_path, r->count_path, r->set_path};
    for (int i = 0; i < 3; i++) {
        if (paths[i] && !path_ok(paths[i]))
            return verr(v, where, "\"%s\" is not a result path (dotted names)", paths[i]);
        const char *field = paths[i] ? path_state_field(v->p, paths[i]) : NULL;
        if (field)
            return verr(v, where, "\"%s\" would take the state's own field \"%s\"", paths[i],
                        field);
    }

    char *as = NULL;
    if (get_string(v, where, obj, "as", false, &as) < 0)
        return -1;
    if (as) {
        bool num = strcmp(as, "number") == 0, str = strcmp(as, "string") == 0;
        free(as);
        if (!num && !str)
            return verr(v, where, "\"as\" must be \"number\" or \"string\"");
        if (!r->set_path)
            return verr(v, where, "\"as\" only goes with \"set\"");
        r->set_number = num;
    }
    if (get_bool(v, where, obj, "progress", &r->progress) < 0 ||
        get_bool(v, where, obj, "unique", &r->unique) < 0)
        return -1;
    return 0;
}

/* A rule's event action: {"type": name, "data": template}. */
static int parse_rule_event(struct vctx *v, const char *where, struct json_object *ev,
                            struct pipeline_rule *r)
{
    static const char *const evkeys[] = {"type", "data", NULL};
    char evwhere[256];
    snprintf(evwhere, sizeof(evwhere), "%s.event", where);
    if (!json_object_is_type(ev, json_type_object))
        return verr(v, evwhere, "must be an object with \"type\" and \"data\"");
    if (only_keys(v, evwhere, ev, evkeys) < 0 ||
        get_string(v, evwhere, ev, "type", true, &r->event_type) < 0)
        return -1;
    static const char *const reserved[] = {"status", "log", "complete", "error", NULL};
    for (const char *const *res = reserved; *res; res++)
        if (strcmp(r->event_type, *res) == 0)
            return verr(v, evwhere, "type \"%s\" is the server's own", *res);
    if (!name_ok(r->event_type, IDENT_NAME_MAX) || !islower((unsigned char)r->event_type[0]))
        return verr(v, evwhere, "type must be a lower-case name");
    struct json_object *data;
    if (!json_object_object_get_ex(ev, "data", &data) ||
        !json_object_is_type(data, json_type_object))
        return verr(v, evwhere, "\"data\" must be an object");
    int ref = template_max_ref(data);
    if (ref > r->captures)
        return verr(v, evwhere, "\"data\" uses $%d but the pattern has %d group(s)", ref,
                    r->captures);
    r->event_data = json_object_get(data);
    return 0;
}

static int parse_rule(struct vctx *v, const char *where, struct json_object *obj,
                      struct pipeline_rule *r)
{
    static const char *const keys[] = {"pattern",  "append", "count", "set", "as",
                                       "progress", "unique", "event", NULL};
    if (!json_object_is_type(obj, json_type_object))
        return verr(v, where, "a rule must be an object");
    if (only_keys(v, where, obj, keys) < 0 || parse_rule_pattern(v, where, obj, r) < 0 ||
        parse_rule_actions(v, where, obj, r) < 0)
        return -1;
    struct json_object *ev;
    if (json_object_object_get_ex(obj, "event", &ev) && parse_rule_event(v, where, ev, r) < 0)
        return -1;
    if (!r->append_path && !r->count_path && !r->set_path && !r->progress && !r->event_type)
        return verr(v, where, "a rule needs an action: append, count, set, progress or event");
    return 0;
}

/* A phase's name (unique, not a reserved one) and step. */
static int parse_phase_name(struct vctx *v, const char *where, struct pipeline *p, size_t idx,
                            struct json_object *obj)
{
    struct pipeline_phase *ph = &p->phases[idx];
    if (get_string(v, where, obj, "name", true, &ph->name) < 0)
        return -1;
    if (!name_ok(ph->name, IDENT_NAME_MAX) || strcmp(ph->name, "queued") == 0 ||
        strcmp(ph->name, "complete") == 0)
        return verr(v, where, "name \"%s\" must be 1-32 of [A-Za-z0-9_-], not queued/complete",
                    ph->name);
    for (size_t i = 0; i < idx; i++)
        if (strcmp(p->phases[i].name, ph->name) == 0)
            return verr(v, where, "name \"%s\" is used twice", ph->name);
    return get_string(v, where, obj, "step", true, &ph->step);
}

/* Progress: default an even share of 0-100 per phase. */
static int parse_phase_progress(struct vctx *v, const char *where, struct pipeline *p, size_t idx,
                                struct json_object *obj)
{
    struct pipeline_phase *ph = &p->phases[idx];
    ph->progress_from = (int)(100 * idx / p->nphases);
    ph->progress_to = (int)(100 * (idx + 1) / p->nphases);
    struct json_object *prog;
    if (json_object_object_get_ex(obj, "progress", &prog)) {
        if (!json_object_is_type(prog, json_type_array) || json_object_array_length(prog) != 2 ||
            !json_object_is_type(json_object_array_get_idx(prog, 0), json_type_int) ||
            !json_object_is_type(json_object_array_get_idx(prog, 1), json_type_int))
            return verr(v, where, "\"progress\" must be [from, to]");
        int64_t a = json_object_get_int64(json_object_array_get_idx(prog, 0));
        int64_t b = json_object_get_int64(json_object_array_get_idx(prog, 1));
        if (a < 0 || b > 100 || a > b)
            return verr(v, where, "\"progress\" must satisfy 0 <= from <= to <= 100");
        ph->progress_from = (int)a;
        ph->progress_to = (int)b;
    }
    return 0;
}

/* The command, its directory and its timeout. */
static int parse_phase_command(struct vctx *v, const char *where, struct pipeline *p,
                               struct pipeline_phase *ph, struct json_object *obj)
{
    if (get_string_array(v, where, obj, "command", true, PIPELINE_MAX_ARGS, NULL, &ph->argv,
                         &ph->argc) < 0)
        return -1;
    if (ph->argc == 0 || ph->argv[0][0] == '\0')
        return verr(v, where, "\"command\" must name a program");
    /* command[0] with a slash is a path: relative ones resolve against the
     * pipeline file's directory; a bare name is looked up in PATH. */
    if (strchr(ph->argv[0], '/') && ph->argv[0][0] != '/') {
        char *abs = resolve(p, ph->argv[0]);
        free(ph->argv[0]);
        ph->argv[0] = abs;
    }

    char *cwd = NULL;
    if (get_string(v, where, obj, "cwd", false, &cwd) < 0)
        return -1;
    ph->cwd = resolve(p, cwd ? cwd : ".");
    free(cwd);
    struct stat st;
    if (stat(ph->cwd, &st) < 0 || !S_ISDIR(st.st_mode))
        return verr(v, where, "cwd \"%s\" is not a directory", ph->cwd);

    return get_int(v, where, obj, "timeout", 1, 86400, 60, &ph->timeout);
}

static int parse_phase_env(struct vctx *v, const char *where, struct pipeline_phase *ph,
                           struct json_object *obj)
{
    struct json_object *env;
    if (!json_object_object_get_ex(obj, "env", &env))
        return 0;
    if (!json_object_is_type(env, json_type_object))
        return verr(v, where, "\"env\" must be an object of strings");
    if (json_object_object_length(env) > PIPELINE_MAX_ENV)
        return verr(v, where, "\"env\" has more than %d variables", PIPELINE_MAX_ENV);
    ph->env = xcalloc((size_t)json_object_object_length(env) + 1, sizeof(*ph->env));
    json_object_object_foreach(env, k, val)
    {
        if (!env_name_ok(k))
            return verr(v, where, "env name \"%s\" is not a variable name", k);
        if (!json_object_is_type(val, json_type_string))
            return verr(v, where, "env \"%s\" must be a string", k);
        ph->env[ph->nenv].name = xstrdup(k);
        if ((size_t)json_object_get_string_len(val) != strlen(json_object_get_string(val)))
            return verr(v, where, "env \"%s\" holds a NUL", k);
        ph->env[ph->nenv].value = xstrdup(json_object_get_string(val));
        ph->nenv++;
    }
    return 0;
}

/* skipUnlessEnv, skipMessage and exitOkIf. */
static int parse_phase_conditions(struct vctx *v, const char *where, struct pipeline_phase *ph,
                                  struct json_object *obj)
{
    if (get_string(v, where, obj, "skipUnlessEnv", false, &ph->skip_unless_env) < 0 ||
        get_string(v, where, obj, "skipMessage", false, &ph->skip_message) < 0 ||
        get_string(v, where, obj, "exitOkIf", false, &ph->exit_ok_if) < 0)
        return -1;
    if (ph->skip_unless_env && !env_name_ok(ph->skip_unless_env))
        return verr(v, where, "\"skipUnlessEnv\" must be a variable name");
    if (ph->skip_message && !ph->skip_unless_env)
        return verr(v, where, "\"skipMessage\" only goes with \"skipUnlessEnv\"");
    if (ph->skip_unless_env && !ph->skip_message)
        ph->skip_message =
                xasprintf("Skipping phase %s: %s is not set.", ph->name, ph->skip_unless_env);
    if (ph->exit_ok_if && !path_ok(ph->exit_ok_if))
        return verr(v, where, "\"exitOkIf\" is not a result path");
    return 0;
}

static int parse_phase_extract(struct vctx *v, const char *where, struct pipeline_phase *ph,
                               struct json_object *obj)
{
    struct json_object *ex;
    if (!json_object_object_get_ex(obj, "extract", &ex))
        return 0;
    if (!json_object_is_type(ex, json_type_array))
        return verr(v, where, "\"extract\" must be an array of rules");
    size_t n = json_object_array_length(ex);
    if (n > PIPELINE_MAX_RULES)
        return verr(v, where, "more than %d rules", PIPELINE_MAX_RULES);
    ph->rules = xcalloc(n + 1, sizeof(*ph->rules));
    for (size_t i = 0; i < n; i++) {
        char rwhere[96];
        snprintf(rwhere, sizeof(rwhere), "%s.extract[%zu]", where, i);
        ph->nrules = i + 1;
        if (parse_rule(v, rwhere, json_object_array_get_idx(ex, i), &ph->rules[i]) < 0)
            return -1;
    }
    return 0;
}

static int parse_phase(struct vctx *v, struct pipeline *p, size_t idx, struct json_object *obj)
{
    static const char *const keys[] = {"name",        "step",     "progress", "command",
                                       "cwd",         "timeout",  "env",      "skipUnlessEnv",
                                       "skipMessage", "exitOkIf", "extract",  NULL};
    struct pipeline_phase *ph = &p->phases[idx];
    char where[64];
    snprintf(where, sizeof(where), "phases[%zu]", idx);

    if (!json_object_is_type(obj, json_type_object))
        return verr(v, where, "a phase must be an object");
    if (only_keys(v, where, obj, keys) < 0 || parse_phase_name(v, where, p, idx, obj) < 0 ||
        parse_phase_progress(v, where, p, idx, obj) < 0 ||
        parse_phase_command(v, where, p, ph, obj) < 0 || parse_phase_env(v, where, ph, obj) < 0 ||
        parse_phase_conditions(v, where, ph, obj) < 0 || parse_phase_extract(v, where, ph, obj) < 0)
        return -1;
    return 0;
}

/* Puts an empty value of the action's shape at path in the template; fails
 * when the path already holds another shape. */
static int template_put(struct json_object *root, const char *path, json_type want)
{
    char *copy = xstrdup(path);
    struct json_object *cur = root;
    char *save = NULL;
    int rc = 0;
    for (char *seg = strtok_r(copy, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
        bool last = save == NULL || *save == '\0';
        struct json_object *next;
        if (!json_object_is_type(cur, json_type_object)) {
            rc = -1;
            break;
        }
        if (!json_object_object_get_ex(cur, seg, &next)) {
            if (!last)
                next = json_object_new_object();
            else if (want == json_type_array)
                next = json_object_new_array();
            else if (want == json_type_int)
                next = json_object_new_int(0);
            else
                next = NULL; /* set: null until a value arrives */
            json_object_object_add(cur, seg, next);
            if (last)
                break;
        } else if (last) {
            /* Same shape again is fine (two rules append to one list). */
            json_type have = next ? json_object_get_type(next) : json_type_null;
            if (have != want)
                rc = -1;
            break;
        }
        cur = next;
    }
    free(copy);
    return rc;
}

struct json_object *pipeline_results_template(const struct pipeline *p)
{
    struct json_object *root = json_object_new_object();
    for (size_t i = 0; i < p->nphases; i++) {
        const struct pipeline_phase *ph = &p->phases[i];
        for (size_t j = 0; j < ph->nrules; j++) {
            const struct pipeline_rule *r = &ph->rules[j];
            const char *paths[] = {r->append_path, r->count_path, r->set_path};
            const json_type kinds[] = {json_type_array, json_type_int, json_type_null};
            for (int k = 0; k < 3; k++) {
                if (!paths[k])
                    continue;
                for (size_t t = 0; t < p->nproof_types; t++) {
                    char *path = pipeline_expand(paths[k], p->proof_types[t], "", "");
                    (void)template_put(root, path, kinds[k]);
                    free(path);
                    if (!strstr(paths[k], "{proofType}"))
                        break;
                }
            }
        }
    }
    return root;
}

/* Checks that result paths agree on their shapes, and that exitOkIf names a
 * result some rule fills. */
static int check_results(struct vctx *v, struct pipeline *p)
{
    struct json_object *root = json_object_new_object();
    int rc = 0;
    for (size_t i = 0; i < p->nphases && rc == 0; i++) {
        const struct pipeline_phase *ph = &p->phases[i];
        for (size_t j = 0; j < ph->nrules && rc == 0; j++) {
            const struct pipeline_rule *r = &ph->rules[j];
            const char *paths[] = {r->append_path, r->count_path, r->set_path};
            const json_type kinds[] = {json_type_array, json_type_int, json_type_null};
            for (int k = 0; k < 3 && rc == 0; k++) {
                if (!paths[k])
                    continue;
                char *path = pipeline_expand(paths[k], "T", "", "");
                if (template_put(root, path, kinds[k]) < 0) {
                    char where[96];
                    snprintf(where, sizeof(where), "phases[%zu].extract[%zu]", i, j);
                    rc = verr(v, where, "result \"%s\" is used with two different shapes",
                              paths[k]);
                }
                free(path);
            }
        }
    }
    json_object_put(root);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < p->nphases; i++) {
        const char *want = p->phases[i].exit_ok_if;
        bool found = false;
        for (size_t a = 0; want && a < p->nphases && !found; a++)
            for (size_t j = 0; j < p->phases[a].nrules && !found; j++) {
                const struct pipeline_rule *r = &p->phases[a].rules[j];
                found = (r->append_path && strcmp(r->append_path, want) == 0) ||
                        (r->count_path && strcmp(r->count_path, want) == 0) ||
                        (r->set_path && strcmp(r->set_path, want) == 0);
            }
        if (want && !found) {
            char where[64];
            snprintf(where, sizeof(where), "phases[%zu]", i);
            return verr(v, where, "\"exitOkIf\" names \"%s\", which no rule fills", want);
        }
    }
    return 0;
}

/* Strict JSON, the whole text. Returns the root, or NULL with the error. */
static struct json_object *parse_json(struct vctx *v, const char *text)
{
    char why[256];
    struct json_object *root = json_strict_parse(text, strlen(text), 0, 0, why, sizeof(why));
    if (!root)
        verr(v, "JSON", "%s", why);
    return root;
}

/* The readiness file: a path, relative to the pipeline's directory like a
 * command. It need not exist yet (its writer may start after the server),
 * but a directory there is a mistake worth stopping for. */
static int parse_readiness(struct vctx *v, struct pipeline *p, struct json_object *root)
{
    char *file = NULL;
    if (get_string(v, "top level", root, "readiness", false, &file) < 0)
        return -1;
    if (!file)
        return 0;
    if (!file[0]) {
        free(file);
        return verr(v, "readiness", "must name a file");
    }
    p->readiness = resolve(p, file);
    free(file);
    struct stat st;
    if (stat(p->readiness, &st) == 0 && S_ISDIR(st.st_mode))
        return verr(v, "readiness", "\"%s\" is a directory, not a file", p->readiness);
    return 0;
}

/* The top level's keys, proofTypes (distinct), secrets and readiness. */
static int parse_top(struct vctx *v, struct pipeline *p, struct json_object *root)
{
    static const char *const keys[] = {"proofTypes", "secrets", "readiness", "phases", NULL};
    if (!json_object_is_type(root, json_type_object))
        return verr(v, "top level", "must be an object");
    if (only_keys(v, "top level", root, keys) < 0)
        return -1;
    if (get_string_array(v, "top level", root, "proofTypes", true, PIPELINE_MAX_TYPES,
                         proof_type_ok, &p->proof_types, &p->nproof_types) < 0)
        return -1;
    if (p->nproof_types == 0)
        return verr(v, "proofTypes", "must list at least one proof type");
    for (size_t i = 0; i < p->nproof_types; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->proof_types[i], p->proof_types[j]) == 0)
                return verr(v, "proofTypes", "\"%s\" is listed twice", p->proof_types[i]);
    if (get_string_array(v, "top level", root, "secrets", false, PIPELINE_MAX_SECRETS, secret_ok,
                         &p->secrets, &p->nsecrets) < 0)
        return -1;
    return parse_readiness(v, p, root);
}

static int parse_phases(struct vctx *v, struct pipeline *p, struct json_object *root)
{
    struct json_object *phases;
    if (!json_object_object_get_ex(root, "phases", &phases) ||
        !json_object_is_type(phases, json_type_array) || json_object_array_length(phases) == 0)
        return verr(v, "phases", "must be a non-empty array of phases");
    size_t n = json_object_array_length(phases);
    if (n > PIPELINE_MAX_PHASES)
        return verr(v, "phases", "more than %d phases", PIPELINE_MAX_PHASES);
    p->phases = xcalloc(n, sizeof(*p->phases));
    p->nphases = n;
    for (size_t i = 0; i < n; i++)
        if (parse_phase(v, p, i, json_object_array_get_idx(phases, i)) < 0)
            return -1;
    return 0;
}

struct pipeline *pipeline_parse(const char *text, const char *path, char *err, size_t errlen)
{
    struct pipeline *p = xcalloc(1, sizeof(*p));
    struct vctx v = {path, err, errlen, p};

    /* Absolute file path and directory, for resolving relative paths. */
    char *abs = realpath(path, NULL);
    p->path = abs ? abs : xstrdup(path);
    char *slash = strrchr(p->path, '/');
    p->dir = slash ? xstrndup(p->path, slash == p->path ? 1 : (size_t)(slash - p->path))
                   : xstrdup(".");

    struct json_object *root = parse_json(&v, text);
    if (!root || parse_top(&v, p, root) < 0 || parse_phases(&v, p, root) < 0 ||
        check_results(&v, p) < 0) {
        json_object_put(root);
        pipeline_free(p);
        return NULL;
    }
    json_object_put(root);
    return p;
}

struct pipeline *pipeline_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = xmalloc(PIPELINE_MAX_FILE + 1);
    size_t n = fread(text, 1, PIPELINE_MAX_FILE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || n > PIPELINE_MAX_FILE) {
        snprintf(err, errlen, "%s: %s", path, rerr ? "read error" : "larger than 1 MiB");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    if (strlen(text) != n) {
        snprintf(err, errlen, "%s: holds a NUL byte", path);
        free(text);
        return NULL;
    }
    struct pipeline *p = pipeline_parse(text, path, err, errlen);
    free(text);
    return p;
}

static void free_list(char **list)
{
    for (char **s = list; s && *s; s++)
        free(*s);
    free(list);
}

void pipeline_free(struct pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nphases; i++) {
        struct pipeline_phase *ph = &p->phases[i];
        free(ph->name);
        free(ph->step);
        free_list(ph->argv);
        free(ph->cwd);
        for (size_t j = 0; j < ph->nenv; j++) {
            free(ph->env[j].name);
            free(ph->env[j].value);
        }
        free(ph->env);
        free(ph->skip_unless_env);
        free(ph->skip_message);
        free(ph->exit_ok_if);
        for (size_t j = 0; j < ph->nrules; j++) {
            struct pipeline_rule *r = &ph->rules[j];
            free(r->pattern);
            pcre2_code_free(r->re);
            free(r->append_path);
            free(r->count_path);
            free(r->set_path);
            free(r->event_type);
            json_object_put(r->event_data);
        }
        free(ph->rules);
    }
    free(p->phases);
    free_list(p->proof_types);
    free_list(p->secrets);
    free(p->readiness);
    free(p->path);
    free(p->dir);
    free(p);
}

bool pipeline_has_proof_type(const struct pipeline *p, const char *type)
{
    for (size_t i = 0; i < p->nproof_types; i++)
        if (strcmp(p->proof_types[i], type) == 0)
            return true;
    return false;
}

void pipeline_proof_type_list(const struct pipeline *p, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->nproof_types && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", p->proof_types[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

char *pipeline_expand(const char *s, const char *proof_type, const char *session_id,
                      const char *workdir)
{
    static const char *names[] = {"{proofType}", "{sessionId}", "{workdir}"};
    const char *values[] = {proof_type, session_id, workdir};
    size_t cap = strlen(s) + 1, len = 0;
    for (int i = 0; i < 3; i++)
        cap += strlen(values[i]) * 8; /* generous; grown below if needed */
    char *out = xmalloc(cap);
    while (*s) {
        int hit = -1;
        for (int i = 0; i < 3 && hit < 0; i++)
            if (strncmp(s, names[i], strlen(names[i])) == 0)
                hit = i;
        const char *add = hit >= 0 ? values[hit] : s;
        size_t addlen = hit >= 0 ? strlen(values[hit]) : 1;
        if (len + addlen + 1 > cap) {
            cap = (len + addlen + 1) * 2;
            out = xrealloc(out, cap);
        }
        memcpy(out + len, add, addlen);
        len += addlen;
        s += hit >= 0 ? strlen(names[hit]) : 1;
    }
    out[len] = '\0';
    return out;
}
