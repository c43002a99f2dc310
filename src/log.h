/* log.h -- the server's own log, on standard error.
 *
 * One line per message: an ISO-8601 time, the level, the text. Under a web
 * server or systemd, standard error is where operators look. Nothing a phase
 * prints is ever written here (its lines go to Redis, masked), so the secrets
 * invariant holds for the server log by construction: callers log ids, paths,
 * host names and error strings, never line contents or credentials. */
#ifndef PHASESTREAM_LOG_H
#define PHASESTREAM_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; -1 if none. */
int log_level_parse(const char *s);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A repeated warning's rate: true, and *last = now, when at least every_ms
 * have passed since it last said true (or it never has). Times are the
 * caller's monotonic milliseconds; *last is the caller's, per thread or
 * under its lock. */
bool log_due(long long *last, long long now, long long every_ms);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
