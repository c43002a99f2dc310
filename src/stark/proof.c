/*
 * proof: layout arithmetic, allocation, and the one walk over a proof's
 * fields that both encoding and decoding use.
 *
 * proof_walk() visits the body fields in format order through a cursor that
 * either writes or reads. Writing and reading therefore cannot drift apart:
 * there is a single description of the format. The cursor checks bounds on
 * every access and, when reading, that each field element is canonical; the
 * first failure sticks and names the byte offset.
 *
 * Memory: a proof's variable-size arrays are carved from one arena whose
 * size follows from the layout alone (about the proof's own size, at most
 * ~150 KB for 2^20 steps), and decoding allocates it only after the input's
 * length matched the layout: nothing is ever sized from a value in the bytes.
 */
#include "proof.h"

#include <stdlib.h>
#include <string.h>

int proof_layout_init(struct proof_layout *l, const struct params *p, unsigned log_steps, char *err)
{
    size_t fold, per_query;

    if (params_check(p, err) != 0)
        return -1;
    if (log_steps < AIR_LOG_STEPS_MIN || log_steps > AIR_LOG_STEPS_MAX) {
        error_set(err, "steps 2^%u outside 2^%d..2^%d", log_steps, AIR_LOG_STEPS_MIN,
                  AIR_LOG_STEPS_MAX);
        return -1;
    }
    l->params = p;
    l->log_steps = log_steps;
    l->log_lde = log_steps + p->log_blowup;
    if (fri_config_init(&l->fri, l->log_lde, FIELD_GENERATOR, log_steps, p->log_fold,
                        p->log_remainder) != 0) {
        error_set(err, "FRI configuration out of range");
        return -1;
    }
    fold = (size_t)1 << p->log_fold;
    per_query =
            PROOF_TRACE_LEAF_BYTES + PROOF_CHUNKS_LEAF_BYTES + 2 * (size_t)l->log_lde * SHA256_LEN;
    for (unsigned k = 0; k < l->fri.layers; k++)
        per_query += fold * FIELD_EXT_BYTES + (size_t)fri_layer_depth(&l->fri, k) * SHA256_LEN;
    l->bytes = PROOF_HEADER_BYTES + 2 * FIELD_BYTES + 2 * SHA256_LEN +
               (2 * AIR_WIDTH + AIR_CHUNKS) * FIELD_EXT_BYTES + l->fri.layers * SHA256_LEN +
               ((size_t)1 << l->fri.log_remainder) * FIELD_EXT_BYTES + 8 + p->queries * per_query;
    return 0;
}

/* Bump allocation from the arena; with base == NULL it only measures. */
static void *proof_take(uint8_t *base, size_t *used, size_t bytes)
{
    void *p = base == NULL ? NULL : base + *used;

    *used += (bytes + 15) & ~(size_t)15;
    return p;
}

static void proof_carve(struct proof *pr, uint8_t *base, size_t *used)
{
    const struct proof_layout *l = &pr->layout;
    size_t fold = (size_t)1 << l->fri.log_fold;
    unsigned q = l->params->queries;

    pr->fri.roots = proof_take(base, used, l->fri.layers * SHA256_LEN);
    pr->fri.remainder =
            proof_take(base, used, ((size_t)1 << l->fri.log_remainder) * sizeof(struct field_ext));
    pr->queries = proof_take(base, used, q * sizeof(struct proof_query));
    for (unsigned i = 0; i < q; i++) {
        struct proof_query *pq = base == NULL ? NULL : &pr->queries[i];
        void *p;

        p = proof_take(base, used, l->log_lde * SHA256_LEN);
        if (pq != NULL)
            pq->trace_path = p;
        p = proof_take(base, used, l->log_lde * SHA256_LEN);
        if (pq != NULL)
            pq->chunks_path = p;
        for (unsigned k = 0; k < l->fri.layers; k++) {
            p = proof_take(base, used, fold * sizeof(struct field_ext));
            if (pq != NULL)
                pq->fri[k].values = p;
            p = proof_take(base, used, fri_layer_depth(&l->fri, k) * SHA256_LEN);
            if (pq != NULL)
                pq->fri[k].path = p;
        }
    }
}

struct proof *proof_new(const struct params *p, unsigned log_steps, char *err)
{
    struct proof *pr = calloc(1, sizeof(*pr));
    size_t used = 0;

    if (pr == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    if (proof_layout_init(&pr->layout, p, log_steps, err) != 0) {
        free(pr);
        return NULL;
    }
    pr->statement.log_steps = log_steps;
    proof_carve(pr, NULL, &used);
    pr->arena = calloc(1, used);
    if (pr->arena == NULL) {
        free(pr);
        error_set(err, "out of memory");
        return NULL;
    }
    used = 0;
    proof_carve(pr, pr->arena, &used);
    return pr;
}

void proof_free(struct proof *pr)
{
    if (pr == NULL)
        return;
    free(pr->arena);
    free(pr);
}

void proof_trace_leaf(const uint64_t row[AIR_WIDTH], uint8_t out[PROOF_TRACE_LEAF_BYTES])
{
    for (unsigned j = 0; j < AIR_WIDTH; j++)
        field_write(out + j * FIELD_BYTES, row[j]);
}

void proof_chunks_leaf(const struct field_ext row[AIR_CHUNKS], uint8_t out[PROOF_CHUNKS_LEAF_BYTES])
{
    for (unsigned i = 0; i < AIR_CHUNKS; i++)
        field_ext_write(out + i * FIELD_EXT_BYTES, row[i]);
}

/* A write or read position in a byte buffer; the first failure sticks. */
struct proof_cursor {
    uint8_t *out;      /* writing when non-NULL */
    const uint8_t *in; /* reading otherwise */
    size_t len, pos;
    int failed;
    char *err;
};

static int proof_cursor_room(struct proof_cursor *c, size_t n)
{
    if (c->failed)
        return 0;
    if (n > c->len - c->pos) {
        c->failed = 1;
        error_set(c->err, "proof truncated at byte %zu", c->pos);
        return 0;
    }
    return 1;
}

static void proof_cursor_bytes(struct proof_cursor *c, void *p, size_t n)
{
    if (!proof_cursor_room(c, n))
        return;
    if (c->out != NULL)
        memcpy(c->out + c->pos, p, n);
    else
        memcpy(p, c->in + c->pos, n);
    c->pos += n;
}

/* A raw 64-bit word (the nonce): any value is valid. */
static void proof_cursor_u64(struct proof_cursor *c, uint64_t *v)
{
    uint8_t b[8];

    if (c->out != NULL)
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)(*v >> (8 * i));
    proof_cursor_bytes(c, b, sizeof(b));
    if (c->out == NULL && !c->failed) {
        *v = 0;
        for (int i = 7; i >= 0; i--)
            *v = (*v << 8) | b[i];
    }
}

static void proof_cursor_field(struct proof_cursor *c, uint64_t *v)
{
    uint8_t b[FIELD_BYTES];

    if (c->out != NULL)
        field_write(b, *v);
    proof_cursor_bytes(c, b, sizeof(b));
    if (c->out == NULL && !c->failed && field_read(b, v) != 0) {
        c->failed = 1;
        error_set(c->err, "non-canonical field element at byte %zu", c->pos - FIELD_BYTES);
    }
}

static void proof_cursor_ext(struct proof_cursor *c, struct field_ext *v)
{
    proof_cursor_field(c, &v->c0);
    proof_cursor_field(c, &v->c1);
}

static void proof_cursor_digests(struct proof_cursor *c, uint8_t (*d)[SHA256_LEN], size_t n)
{
    proof_cursor_bytes(c, d, n * SHA256_LEN);
}

/* The body, after the header: the single description of the format. */
static void proof_walk(struct proof *pr, struct proof_cursor *c)
{
    const struct proof_layout *l = &pr->layout;
    size_t fold = (size_t)1 << l->fri.log_fold;

    proof_cursor_field(c, &pr->statement.output[0]);
    proof_cursor_field(c, &pr->statement.output[1]);
    proof_cursor_bytes(c, pr->trace_root, SHA256_LEN);
    proof_cursor_bytes(c, pr->chunks_root, SHA256_LEN);
    for (unsigned j = 0; j < AIR_WIDTH; j++)
        proof_cursor_ext(c, &pr->ood.trace[j]);
    for (unsigned j = 0; j < AIR_WIDTH; j++)
        proof_cursor_ext(c, &pr->ood.trace_next[j]);
    for (unsigned i = 0; i < AIR_CHUNKS; i++)
        proof_cursor_ext(c, &pr->ood.chunks[i]);
    proof_cursor_digests(c, pr->fri.roots, l->fri.layers);
    for (size_t k = 0; k < ((size_t)1 << l->fri.log_remainder); k++)
        proof_cursor_ext(c, &pr->fri.remainder[k]);
    proof_cursor_u64(c, &pr->nonce);
    for (unsigned q = 0; q < l->params->queries; q++) {
        struct proof_query *pq = &pr->queries[q];

        for (unsigned j = 0; j < AIR_WIDTH; j++)
            proof_cursor_field(c, &pq->trace[j]);
        proof_cursor_digests(c, pq->trace_path, l->log_lde);
        for (unsigned i = 0; i < AIR_CHUNKS; i++)
            proof_cursor_ext(c, &pq->chunks[i]);
        proof_cursor_digests(c, pq->chunks_path, l->log_lde);
        for (unsigned k = 0; k < l->fri.layers; k++) {
            for (size_t m = 0; m < fold; m++)
                proof_cursor_ext(c, &pq->fri[k].values[m]);
            proof_cursor_digests(c, pq->fri[k].path, fri_layer_depth(&l->fri, k));
        }
    }
}

int proof_encode(const struct proof *pr, uint8_t **out, size_t *len, char *err)
{
    const struct proof_layout *l = &pr->layout;
    uint8_t *buf = calloc(1, l->bytes);
    struct proof_cursor c = {buf, NULL, l->bytes, PROOF_HEADER_BYTES, 0, err};

    if (buf == NULL) {
        error_set(err, "out of memory");
        return -1;
    }
    memcpy(buf, PROOF_MAGIC, 4);
    buf[4] = PROOF_VERSION & 0xff;
    buf[5] = PROOF_VERSION >> 8;
    buf[6] = (uint8_t)l->params->id;
    buf[7] = (uint8_t)(l->params->id >> 8);
    buf[8] = (uint8_t)l->log_steps;
    /* Walking only reads *pr when the cursor writes. */
    proof_walk((struct proof *)pr, &c);
    if (c.failed || c.pos != l->bytes) {
        free(buf);
        error_set(err, "internal error: proof layout mismatch");
        return -1;
    }
    *out = buf;
    *len = l->bytes;
    return 0;
}

struct proof *proof_decode(const struct params *p, const uint8_t *bytes, size_t len, char *err)
{
    struct proof_layout l;
    struct proof *pr;
    struct proof_cursor c = {NULL, bytes, len, PROOF_HEADER_BYTES, 0, err};
    unsigned version, id;

    if (len < PROOF_HEADER_BYTES) {
        error_set(err, "proof truncated: %zu bytes", len);
        return NULL;
    }
    if (memcmp(bytes, PROOF_MAGIC, 4) != 0) {
        error_set(err, "not a phasestream STARK proof (bad magic)");
        return NULL;
    }
    version = bytes[4] | (unsigned)bytes[5] << 8;
    if (version != PROOF_VERSION) {
        error_set(err, "proof format version %u, expected %d", version, PROOF_VERSION);
        return NULL;
    }
    id = bytes[6] | (unsigned)bytes[7] << 8;
    if (id != p->id) {
        error_set(err, "proof uses parameter set %u, expected %u", id, (unsigned)p->id);
        return NULL;
    }
    if (bytes[9] != 0 || bytes[10] != 0 || bytes[11] != 0) {
        error_set(err, "reserved header bytes are not zero");
        return NULL;
    }
    if (proof_layout_init(&l, p, bytes[8], err) != 0)
        return NULL;
    if (len != l.bytes) {
        error_set(err, "proof is %zu bytes, expected %zu for 2^%u steps", len, l.bytes,
                  l.log_steps);
        return NULL;
    }
    pr = proof_new(p, l.log_steps, err);
    if (pr == NULL)
        return NULL;
    proof_walk(pr, &c);
    if (c.failed) {
        proof_free(pr);
        return NULL;
    }
    if (c.pos != len) {
        proof_free(pr);
        error_set(err, "trailing bytes after the proof");
        return NULL;
    }
    return pr;
}
