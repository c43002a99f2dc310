/* http.h -- the FastCGI side: listening, request threads, responses.
 *
 * libfcgi parses the FastCGI records and the request parameters; the accept
 * loop is ours. Each request thread waits in poll() on the listening socket
 * and a stop eventfd, accepts with accept4(SOCK_CLOEXEC), puts a receive and
 * send timeout on the connection (a peer that connects and says nothing ties
 * up a thread for at most that long), and hands the connection to
 * FCGX_Accept_r(), which then reads the request from it. The same thread
 * serves further requests on the connection when the web server keeps it
 * open (FCGI_KEEP_CONN). A stream request leaves the thread: its connection
 * goes to the event loop (sse.h) and the thread takes the next one. */
#ifndef PHASESTREAM_HTTP_H
#define PHASESTREAM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <fcgiapp.h>

struct buf;
struct config;
struct http;

/* What answers the requests. Each request thread calls thread_init(arg)
 * once when it starts, handle() with what that returned for every request
 * it accepts, and thread_free() with it once when it stops: what a thread
 * needs of its own (a Redis connection) lives in that state, and handle()
 * runs on one thread at a time per state. handle() answers with the
 * responses below, or takes the connection with http_detach(). */
struct http_handler {
    void *(*thread_init)(void *arg);
    void (*handle)(void *thread_state, FCGX_Request *req);
    void (*thread_free)(void *thread_state);
};

/* Opens the listening socket for "unix:/path" or "host:port", or checks
 * that fd 0 is one when addr is NULL. Returns the fd, or -1 with err. The
 * backlog is --backlog, else net.core.somaxconn as read at start, else
 * SOMAXCONN; fd 0's is whatever its spawner gave it. */
int http_listen(const struct config *cfg, char *err, size_t errlen);

/* Starts cfg->threads request threads on listen_fd, each answering with
 * handler (which, like arg, must outlive http_stop). */
struct http *http_start(const struct config *cfg, int listen_fd, const struct http_handler *handler,
                        void *arg);
/* Stops accepting, lets requests in progress finish, joins the threads. */
void http_stop(struct http *h);

/* Responses. extra_headers is NULL or "Name: value\r\n..." lines. */
void http_respond(FCGX_Request *req, int status, const char *content_type,
                  const char *extra_headers, const char *body, size_t len);
/* An answer written in pieces, for bodies too big to hold whole: the
 * headers (no Content-Length), then http_write() until it returns false
 * (a HEAD request, a client gone or too slow: stop writing). Each piece
 * counts against the request's deadline like http_respond's body. */
void http_begin(FCGX_Request *req, int status, const char *content_type);
bool http_write(FCGX_Request *req, const char *data, size_t len);
/* Reads up to max bytes of the request's body (FCGX_GetStr), watched like
 * the request itself: a body that has not come whole by the request's
 * deadline is dropped (and counted). Returns the bytes read, fewer than the
 * body's when it ended early or its read failed, or -1 when it was dropped:
 * then nothing is to be answered. */
int http_read_body(FCGX_Request *req, char *buf, int max);
/* Ends an answer begun with http_begin that cannot be finished (its source
 * failed midway): the connection is shut down without the end of the
 * request, so the web server reports an incomplete answer to its client
 * (an HTTP/1.1 client sees the connection close before the last chunk)
 * instead of passing a short body on as a whole one. */
void http_abort(FCGX_Request *req);
/* An error answer: the body is JSON {"error": "<the formatted message>"}. */
void http_error(FCGX_Request *req, int status, const char *extra_headers, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* The same answers as text, for a connection that has left libfcgi
 * (http_detach): the header block and the body, appended to out, for the
 * caller to frame (fcgi.h). Counted like the answers above; no request
 * state, so any thread may call them. http_format_error's body is the JSON
 * error object of msg. */
void http_format(struct buf *out, int status, const char *content_type, const char *extra_headers,
                 const char *body, size_t len);
void http_format_error(struct buf *out, int status, const char *extra_headers, const char *msg);
/* Sends the headers written so far and takes the connection away from
 * libfcgi. Returns the fd, or -1 when the connection is already gone. */
int http_detach(FCGX_Request *req);

#endif
