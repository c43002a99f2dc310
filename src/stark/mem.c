/*
 * mem: zeroed allocations, on huge pages when large (see mem.h).
 *
 * posix_memalign memory is not zeroed, so large blocks are cleared with
 * memset after the madvise: the clearing is also what faults the pages in,
 * 2 MiB at a time.
 */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_HUGE ((size_t)2 << 20)

void *mem_zalloc(size_t n, size_t size)
{
    void *p;
    size_t bytes;

    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    bytes = n * size;
    if (bytes < MEM_HUGE)
        return calloc(n, size);
    if (posix_memalign(&p, MEM_HUGE, bytes) != 0)
        return NULL;
    /* Advice only: without THP support the memory is still fine. */
    (void)madvise(p, bytes, MADV_HUGEPAGE);
    memset(p, 0, bytes);
    return p;
}
