/*
 * sha256: a reusable SHA-256 context over libcrypto's EVP interface.
 *
 * Failure policy: sha256_new() is the only place that can fail for an
 * ordinary reason (no provider, no memory) and reports it with NULL. Once a
 * context exists, EVP_DigestInit_ex2/Update/Final on an in-memory SHA-256
 * cannot fail short of memory corruption, so those calls abort with a message
 * instead of threading an error code through every Merkle node and transcript
 * step. A proof is never produced or accepted on a hash that did not run.
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

struct sha256 {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

static void sha256_fail(const char *what)
{
    fprintf(stderr, "stark: libcrypto %s failed\n", what);
    abort();
}

struct sha256 *sha256_new(void)
{
    struct sha256 *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (h->md == NULL || h->ctx == NULL) {
        sha256_free(h);
        return NULL;
    }
    return h;
}

void sha256_free(struct sha256 *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

void sha256_begin(struct sha256 *h)
{
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1)
        sha256_fail("EVP_DigestInit_ex2");
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
    if (EVP_DigestUpdate(h->ctx, data, len) != 1)
        sha256_fail("EVP_DigestUpdate");
}

void sha256_end(struct sha256 *h, uint8_t out[SHA256_LEN])
{
    unsigned int len = 0;

    if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != SHA256_LEN)
        sha256_fail("EVP_DigestFinal_ex");
}
