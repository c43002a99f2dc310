/* hash.h -- the string hash of the server's small hash tables (the bus's
 * subscriptions, the stream side's feeds): djb2, h * 33 + c. The keys are
 * channel names and session ids, never chosen to collide by anyone but a
 * client that can only slow down its own bucket's lookups. */
#ifndef PHASESTREAM_HASH_H
#define PHASESTREAM_HASH_H

static inline unsigned hash_string(const char *s)
{
    unsigned h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

#endif
