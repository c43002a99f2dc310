/* readiness.c -- the pipeline's readiness file: see readiness.h.
 *
 * The file changes while the server runs (its writer renames a new version
 * over the old one), so it is read at request time, not at load. A request
 * costs one stat(): the last parse is kept with the file's device, inode,
 * size and modification time, and read again only when one of them moved.
 * A file modified within READINESS_RACY_S of its read is read again at the
 * next request whatever its stat says, as git does for its index: a clock
 * tick is coarser than two writes in place, which would otherwise leave
 * the same size and time behind two different texts.
 *
 * Everything that can go wrong with the file -- missing, a directory or a
 * FIFO, unreadable, over 64 KiB, not JSON, a field of the wrong type --
 * means "every proof type is ready": the file only holds back what it says,
 * positively and well-formed, is not ready. The pipeline's phases stay free
 * to refuse a type themselves. The problem is logged when it changes (and
 * when it is gone), not at every request. */
#include "readiness.h"
#include "alloc.h"
#include "json_strict.h"
#include "lines.h"
#include "log.h"
#include "pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READINESS_RACY_S 2
#define READINESS_DEPTH  16 /* JSON nesting; the schema needs 3 */

/* What identifies one version of the file, or the error stat() gave. */
struct readiness_key {
    int err;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct readiness {
    char *const *types; /* the pipeline's proof types */
    size_t ntypes;
    char *path; /* absolute; NULL when the pipeline names none */
    pthread_mutex_t lock;
    /* Under the lock: the last read and what it gave. */
    bool racy; /* read again at the next request (see the top) */
    struct readiness_key key;
    struct readiness_entry *entries; /* one per proof type */
    char *json;                      /* entries as readiness_json() gives them */
    char problem[320];               /* the problem last logged, "" for none */
};

static int perr(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int perr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void all_ready(struct readiness_entry *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].ready = true;
        out[i].state = READINESS_READY;
    }
}

static const char *state_name(enum readiness_state s)
{
    return s == READINESS_READY ? "ready" : s == READINESS_FAILED ? "failed" : "preparing";
}

/* An optional member; NULL when absent or null. */
static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

static int parse_count(struct json_object *o, const char *type, const char *key, int *out,
                       char *err, size_t errlen)
{
    struct json_object *v = member(o, key);
    *out = 0;
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return perr(err, errlen, "proofTypes.%s.%s must be a whole number", type, key);
    int64_t n = json_object_get_int64(v);
    if (n < 0 || n > READINESS_MAX_STEPS)
        return perr(err, errlen, "proofTypes.%s.%s must be from 0 to %d", type, key,
                    READINESS_MAX_STEPS);
    *out = (int)n;
    return 0;
}

/* "doing", cleaned as a phase's output line is (lines.h: ill-formed UTF-8
 * becomes U+FFFD, escape sequences and control characters but tab go) and
 * cut to READINESS_MAX_DOING bytes at a character boundary: it ends up in
 * answers, in the refusal's message and on a page. */
static int parse_doing(struct json_object *o, const char *type, char *out, char *err, size_t errlen)
{
    struct json_object *v = member(o, "doing");
    out[0] = '\0';
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return perr(err, errlen, "proofTypes.%s.doing must be a string", type);
    static const struct line_rules clean = {.limit = (size_t)-1};
    size_t n;
    char *s = line_sanitize(&clean, json_object_get_string(v),
                            (size_t)json_object_get_string_len(v), LINE_WHOLE, &n);
    n = line_utf8_prefix(s, n, READINESS_MAX_DOING);
    memcpy(out, s, n);
    out[n] = '\0';
    free(s);
    return 0;
}

static int parse_entry(struct json_object *o, const char *type, struct readiness_entry *e,
                       char *err, size_t errlen)
{
    if (!json_object_is_type(o, json_type_object))
        return perr(err, errlen, "proofTypes.%s must be an object", type);
    struct json_object *ready = member(o, "ready");
    if (!ready || !json_object_is_type(ready, json_type_boolean))
        return perr(err, errlen, "proofTypes.%s.ready must be true or false", type);
    e->ready = json_object_get_boolean(ready);
    e->state = e->ready ? READINESS_READY : READINESS_PREPARING;
    struct json_object *state = member(o, "state");
    if (state) {
        const char *s =
                json_object_is_type(state, json_type_string) ? json_object_get_string(state) : "";
        if (strcmp(s, "ready") == 0)
            e->state = READINESS_READY;
        else if (strcmp(s, "preparing") == 0)
            e->state = READINESS_PREPARING;
        else if (strcmp(s, "failed") == 0)
            e->state = READINESS_FAILED;
        else
            return perr(err, errlen,
                        "proofTypes.%s.state must be \"ready\", \"preparing\" or \"failed\"", type);
        if ((e->state == READINESS_READY) != e->ready)
            return perr(err, errlen, "proofTypes.%s: ready is %s but state is \"%s\"", type,
                        e->ready ? "true" : "false", s);
    }
    if (parse_count(o, type, "step", &e->step, err, errlen) < 0 ||
        parse_count(o, type, "steps", &e->steps, err, errlen) < 0 ||
        parse_doing(o, type, e->doing, err, errlen) < 0)
        return -1;
    if (e->steps > 0 && e->step > e->steps)
        return perr(err, errlen, "proofTypes.%s: step %d is beyond steps %d", type, e->step,
                    e->steps);
    if (e->ready) { /* what a ready type was doing is of no interest */
        e->step = e->steps = 0;
        e->doing[0] = '\0';
    }
    return 0;
}

static int parse_root(struct json_object *root, char *const *types, size_t n,
                      struct readiness_entry *out, char *err, size_t errlen)
{
    if (!json_object_is_type(root, json_type_object))
        return perr(err, errlen, "the top level must be an object");
    struct json_object *pt = member(root, "proofTypes");
    if (!pt || !json_object_is_type(pt, json_type_object))
        return perr(err, errlen, "\"proofTypes\" must be an object");
    for (size_t i = 0; i < n; i++) {
        struct json_object *e;
        if (json_object_object_get_ex(pt, types[i], &e) &&
            parse_entry(e, types[i], &out[i], err, errlen) < 0)
            return -1;
    }
    return 0;
}

int readiness_parse(const char *text, size_t len, char *const *types, size_t n,
                    struct readiness_entry *out, char *err, size_t errlen)
{
    all_ready(out, n);
    if (len > READINESS_MAX_FILE)
        return perr(err, errlen, "larger than %d KiB", READINESS_MAX_FILE / 1024);
    if (memchr(text, '\0', len))
        return perr(err, errlen, "holds a NUL byte");
    char why[256];
    struct json_object *root = json_strict_parse(text, len, READINESS_DEPTH,
                                                 JSON_TOKENER_VALIDATE_UTF8, why, sizeof(why));
    int rc = root ? parse_root(root, types, n, out, err, errlen)
                  : perr(err, errlen, "not JSON: %s", why);
    json_object_put(root);
    if (rc < 0)
        all_ready(out, n);
    return rc;
}

void readiness_describe(const char *type, const struct readiness_entry *e, char *buf, size_t len)
{
    const char *doing = e->doing;
    if (e->state == READINESS_FAILED) {
        snprintf(buf, len, "%s cannot run: its setup failed%s%s%s", type, *doing ? " (" : "", doing,
                 *doing ? ")" : "");
        return;
    }
    char where[64] = "";
    if (e->steps > 0)
        snprintf(where, sizeof(where), ", step %d of %d", e->step, e->steps);
    snprintf(buf, len,
             "%s is not ready yet: waiting for the setup (preparing%s%s%s); try again when it is "
             "ready",
             type, where, *doing ? ": " : "", doing);
}

/* ---- the file, cached ---- */

static char *render(const struct readiness *r)
{
    struct json_object *o = json_object_new_object();
    for (size_t i = 0; i < r->ntypes; i++) {
        const struct readiness_entry *e = &r->entries[i];
        struct json_object *t = json_object_new_object();
        json_object_object_add(t, "ready", json_object_new_boolean(e->ready));
        json_object_object_add(t, "state", json_object_new_string(state_name(e->state)));
        if (!e->ready && e->steps > 0) {
            json_object_object_add(t, "step", json_object_new_int(e->step));
            json_object_object_add(t, "steps", json_object_new_int(e->steps));
        }
        if (!e->ready && e->doing[0])
            json_object_object_add(t, "doing", json_object_new_string(e->doing));
        json_object_object_add(o, r->types[i], t);
    }
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

static bool key_equal(const struct readiness_key *a, const struct readiness_key *b)
{
    if (a->err || b->err)
        return a->err == b->err;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void key_of(struct readiness_key *k, const struct stat *st)
{
    memset(k, 0, sizeof(*k));
    k->dev = st->st_dev;
    k->ino = st->st_ino;
    k->size = st->st_size;
    k->mtime = st->st_mtim;
}

/* Reads and parses the file into r->entries; the problem, or "", into
 * problem. The key becomes that of the version read. Lock held. */
static void read_file(struct readiness *r, struct readiness_key *key, char *problem, size_t len)
{
    problem[0] = '\0';
    r->racy = false;
    all_ready(r->entries, r->ntypes);
    if (key->err) {
        snprintf(problem, len, "%s", strerror(key->err));
        return;
    }
    /* Not blocking: a FIFO put there must not hold a request thread. */
    int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        key->err = errno;
        snprintf(problem, len, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    key_of(key, &st);
    if (!S_ISREG(st.st_mode)) {
        snprintf(problem, len, "not a regular file");
    } else if (st.st_size > READINESS_MAX_FILE) {
        snprintf(problem, len, "larger than %d KiB", READINESS_MAX_FILE / 1024);
    } else {
        char *text = xmalloc(READINESS_MAX_FILE + 1);
        size_t n = 0;
        ssize_t got = 1;
        while (n <= READINESS_MAX_FILE && got > 0) {
            got = read(fd, text + n, READINESS_MAX_FILE + 1 - n);
            if (got < 0 && errno == EINTR)
                got = 1;
            else if (got > 0)
                n += (size_t)got;
        }
        if (got < 0)
            snprintf(problem, len, "%s", strerror(errno));
        else
            (void)readiness_parse(text, n, r->types, r->ntypes, r->entries, problem, len);
        free(text);
    }
    close(fd);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    r->racy = st.st_mtim.tv_sec + READINESS_RACY_S >= now.tv_sec;
}

/* Brings the cache up to date with the file. Lock held. */
static void refresh(struct readiness *r)
{
    if (!r->path)
        return;
    struct readiness_key key;
    struct stat st;
    if (stat(r->path, &st) < 0) {
        memset(&key, 0, sizeof(key));
        key.err = errno;
    } else {
        key_of(&key, &st);
    }
    if (r->json && !r->racy && key_equal(&key, &r->key))
        return;
    char problem[sizeof(r->problem)];
    read_file(r, &key, problem, sizeof(problem));
    r->key = key;
    free(r->json);
    r->json = render(r);
    if (strcmp(problem, r->problem) != 0) {
        if (problem[0])
            log_msg(key.err == ENOENT ? LOG_INFO : LOG_WARN,
                    "readiness file %s: %s: every proof type counts as ready", r->path, problem);
        else
            log_info("readiness file %s: read", r->path);
        snprintf(r->problem, sizeof(r->problem), "%s", problem);
    }
}

struct readiness *readiness_new(const struct pipeline *p)
{
    struct readiness *r = xcalloc(1, sizeof(*r));
    r->types = p->proof_types;
    r->ntypes = p->nproof_types;
    r->path = p->readiness ? xstrdup(p->readiness) : NULL;
    r->entries = xcalloc(r->ntypes ? r->ntypes : 1, sizeof(*r->entries));
    all_ready(r->entries, r->ntypes);
    pthread_mutex_init(&r->lock, NULL);
    if (r->path)
        refresh(r);
    else
        r->json = render(r);
    return r;
}

void readiness_free(struct readiness *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->entries);
    free(r->json);
    free(r->path);
    free(r);
}

char *readiness_json(struct readiness *r)
{
    pthread_mutex_lock(&r->lock);
    refresh(r);
    char *s = xstrdup(r->json);
    pthread_mutex_unlock(&r->lock);
    return s;
}

bool readiness_check(struct readiness *r, const char *type, char *msg, size_t len)
{
    struct readiness_entry e = {.ready = true};
    pthread_mutex_lock(&r->lock);
    refresh(r);
    for (size_t i = 0; i < r->ntypes; i++)
        if (strcmp(r->types[i], type) == 0)
            e = r->entries[i];
    pthread_mutex_unlock(&r->lock);
    if (e.ready)
        return true;
    readiness_describe(type, &e, msg, len);
    return false;
}
