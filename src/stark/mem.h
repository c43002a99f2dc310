/*
 * mem: allocation of the prover's large arrays (LDE columns, Merkle trees,
 * FRI layers, twiddle tables).
 *
 * A proof of 2^16 steps touches ~170 MB of fresh memory; faulted in 4 KiB
 * pages that is ~40k page faults and a TLB miss on most random accesses
 * (Merkle paths, NTT butterflies across a 4 MB array). Arrays of 2 MiB or
 * more are therefore aligned to 2 MiB and offered to the kernel as
 * transparent huge pages (madvise(MADV_HUGEPAGE), effective when THP is in
 * "madvise" or "always" mode, a no-op otherwise): about 20% less proving
 * time on the 2-core benchmark machine. Memory from mem_zalloc is zeroed
 * and released with plain free().
 */
#ifndef STARK_MEM_H
#define STARK_MEM_H

#include <stddef.h>

/* n * size zeroed bytes, or NULL on overflow or when memory is short. */
void *mem_zalloc(size_t n, size_t size);

#endif
