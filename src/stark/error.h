/*
 * error: how the STARK code reports failure.
 *
 * Every function that can fail takes a caller-owned buffer of ERROR_MAX bytes
 * and, on failure, writes one readable line into it (no trailing newline).
 * The caller decides what the line becomes: the CLI prints it on stderr, the
 * tests compare it, the fuzz target ignores it. There is no global error
 * state, so two provers or verifiers in one process never share a message.
 */
#ifndef STARK_ERROR_H
#define STARK_ERROR_H

#define ERROR_MAX 160

void error_set(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
