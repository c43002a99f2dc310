/* metrics.c -- counters for the Prometheus endpoint: see metrics.h. */
#include "metrics.h"
#include "alloc.h"
#include "buf.h"
#include "pipeline.h"

#include <stdatomic.h>
#include <string.h>

static const double metrics_buckets[] = {0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600};
#define NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

static const struct pipeline *metrics_pipeline;
static atomic_long metrics_values[METRIC_COUNT];
/* Per phase: bucket counts (cumulative at render), count, sum in ms. */
static atomic_long metrics_hist[PIPELINE_MAX_PHASES][NBUCKETS + 1];
static atomic_long metrics_hist_sum_ms[PIPELINE_MAX_PHASES];
static const int metrics_codes[] = {200, 201, 202, 204, 400, 404, 405, 409, 413, 429, 500, 503};
#define NCODES (sizeof(metrics_codes) / sizeof(metrics_codes[0]))
static atomic_long metrics_http_codes[NCODES + 1];

void metrics_init(const struct pipeline *p)
{
    metrics_pipeline = p;
}

void metrics_add(enum metric m, long delta)
{
    atomic_fetch_add(&metrics_values[m], delta);
}

long metrics_get(enum metric m)
{
    return atomic_load(&metrics_values[m]);
}

void metrics_phase_duration(size_t phase, double seconds)
{
    if (phase >= PIPELINE_MAX_PHASES)
        return;
    size_t b = 0;
    while (b < NBUCKETS && seconds > metrics_buckets[b])
        b++;
    atomic_fetch_add(&metrics_hist[phase][b], 1);
    atomic_fetch_add(&metrics_hist_sum_ms[phase], (long)(seconds * 1000));
}

void metrics_http(int status)
{
    size_t i = 0;
    while (i < NCODES && metrics_codes[i] != status)
        i++;
    atomic_fetch_add(&metrics_http_codes[i], 1);
}

static void counter(struct buf *b, const char *name, const char *help, const char *type, long v)
{
    buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n%s %ld\n", name, help, name, type, name, v);
}

char *metrics_render(long queued, long running)
{
    struct buf b;
    buf_init(&b);
    counter(&b, "phasestream_sessions_created_total", "Sessions created by this process.",
            "counter", metrics_get(METRIC_CREATED));
    counter(&b, "phasestream_sessions_completed_total",
            "Sessions this process's runners completed.", "counter", metrics_get(METRIC_COMPLETED));
    counter(&b, "phasestream_sessions_failed_total",
            "Sessions this process's runners ended with an error event.", "counter",
            metrics_get(METRIC_FAILED));
    counter(&b, "phasestream_sessions_running", "Sessions running in this process.", "gauge",
            metrics_get(METRIC_RUNNING));
    counter(&b, "phasestream_sse_clients", "Connected event-stream clients.", "gauge",
            metrics_get(METRIC_VIEWERS));
    counter(&b, "phasestream_events_written_total", "Events written to Redis by this process.",
            "counter", metrics_get(METRIC_EVENTS));
    counter(&b, "phasestream_log_lines_dropped_total",
            "Output lines not stored because a cap was hit.", "counter",
            metrics_get(METRIC_LINES_DROPPED));
    counter(&b, "phasestream_results_dropped_total",
            "Captured values not collected because a results bound was hit.", "counter",
            metrics_get(METRIC_RESULTS_DROPPED));
    counter(&b, "phasestream_http_clients_dropped_total",
            "Clients dropped for not sending a request or reading an answer within "
            "--request-timeout.",
            "counter", metrics_get(METRIC_HTTP_DROPPED));
    counter(&b, "phasestream_sse_clients_dropped_total",
            "Event-stream clients dropped for reading nothing within --viewer-stall.", "counter",
            metrics_get(METRIC_VIEWERS_DROPPED));
    counter(&b, "phasestream_pattern_match_limit_total",
            "Output lines a pattern gave up on at its match limit (counted as not matching).",
            "counter", metrics_get(METRIC_MATCH_LIMITED));
    counter(&b, "phasestream_redis_up", "1 when Redis answered this scrape.", "gauge",
            queued >= 0 ? 1 : 0);
    if (queued >= 0) {
        counter(&b, "phasestream_queue_length", "Sessions waiting in the queue (all instances).",
                "gauge", queued);
        counter(&b, "phasestream_running_sessions",
                "Sessions running (all instances, by heartbeat).", "gauge", running);
    }

    buf_appends(&b, "# HELP phasestream_http_responses_total Responses by status code.\n"
                    "# TYPE phasestream_http_responses_total counter\n");
    for (size_t i = 0; i < NCODES; i++)
        buf_appendf(&b, "phasestream_http_responses_total{code=\"%d\"} %ld\n", metrics_codes[i],
                    atomic_load(&metrics_http_codes[i]));
    buf_appendf(&b, "phasestream_http_responses_total{code=\"other\"} %ld\n",
                atomic_load(&metrics_http_codes[NCODES]));

    buf_appends(&b, "# HELP phasestream_phase_duration_seconds Duration of each phase run.\n"
                    "# TYPE phasestream_phase_duration_seconds histogram\n");
    size_t nphases = metrics_pipeline ? metrics_pipeline->nphases : 0;
    for (size_t p = 0; p < nphases && p < PIPELINE_MAX_PHASES; p++) {
        const char *name = metrics_pipeline->phases[p].name;
        long cum = 0;
        for (size_t i = 0; i < NBUCKETS; i++) {
            cum += atomic_load(&metrics_hist[p][i]);
            buf_appendf(&b,
                        "phasestream_phase_duration_seconds_bucket{phase=\"%s\",le=\"%g\"} %ld\n",
                        name, metrics_buckets[i], cum);
        }
        cum += atomic_load(&metrics_hist[p][NBUCKETS]);
        buf_appendf(&b, "phasestream_phase_duration_seconds_bucket{phase=\"%s\",le=\"+Inf\"} %ld\n",
                    name, cum);
        buf_appendf(&b, "phasestream_phase_duration_seconds_sum{phase=\"%s\"} %.3f\n", name,
                    atomic_load(&metrics_hist_sum_ms[p]) / 1000.0);
        buf_appendf(&b, "phasestream_phase_duration_seconds_count{phase=\"%s\"} %ld\n", name, cum);
    }
    char *out = xstrdup(buf_cstr(&b));
    buf_free(&b);
    return out;
}
