/*
 * sha256: the one hash of the proof system, SHA-256 from OpenSSL's libcrypto.
 *
 * Merkle trees and the Fiat-Shamir transcript both hash through a struct
 * sha256, which keeps one fetched EVP_MD and one reusable EVP_MD_CTX. The
 * one-shot SHA256() of OpenSSL 3 fetches the algorithm on every call and is
 * three times slower on 64-byte inputs; a prover hashes millions of those.
 */
#ifndef STARK_SHA256_H
#define STARK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256;

/* NULL if libcrypto has no SHA-256 or memory is short. */
struct sha256 *sha256_new(void);
void sha256_free(struct sha256 *h);

void sha256_begin(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
void sha256_end(struct sha256 *h, uint8_t out[SHA256_LEN]);

#endif
