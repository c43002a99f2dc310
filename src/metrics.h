/* metrics.h -- counters for the Prometheus endpoint.
 *
 * Process-local atomics, cheap enough to bump on every event; rendered in
 * the text exposition format by the metrics endpoint. Figures that belong to
 * the whole deployment (queue length, running sessions over all instances)
 * come from Redis at render time instead. */
#ifndef PHASESTREAM_METRICS_H
#define PHASESTREAM_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct pipeline;

enum metric {
    METRIC_CREATED,       /* sessions created by this process */
    METRIC_COMPLETED,     /* sessions this process's runners completed */
    METRIC_FAILED,        /* ... ended with an error event */
    METRIC_EVENTS,        /* events written */
    METRIC_LINES_DROPPED, /* output lines not stored (caps, Redis outage) */
    METRIC_HTTP_DROPPED, /* clients dropped for sending a request or reading an answer too slowly */
    METRIC_RESULTS_DROPPED, /* captures not collected: a results bound was hit */
    METRIC_MATCH_LIMITED,   /* lines a pattern gave up on at its match limit */
    METRIC_VIEWERS_DROPPED, /* SSE clients dropped for reading nothing (--viewer-stall) */
    METRIC_VIEWERS,         /* gauge: connected SSE clients */
    METRIC_RUNNING,         /* gauge: sessions running in this process */
    METRIC_COUNT
};

void metrics_init(const struct pipeline *p);
void metrics_add(enum metric m, long delta);
void metrics_phase_duration(size_t phase, double seconds);
void metrics_http(int status);
long metrics_get(enum metric m);

/* The exposition text; queued/running < 0 when Redis did not answer. */
char *metrics_render(long queued, long running);

#endif
