/*
 * http_fcgi: the FastCGI wire format (records and name-value pairs), as a
 * pure codec with explicit lengths so it can be fuzzed apart from sockets.
 *
 * drp-fcgi speaks FastCGI 1.0 as a Responder itself (rather than through
 * libfcgi) because a worker must control every wait: poll the listening
 * socket while idle to refresh the networks, answer 413 as soon as the
 * params say the body is too large, bound each read by a deadline, and
 * refuse multiplexing.  See fcgi/worker.c for the connection state machine.
 */
#ifndef DRP_HTTP_FCGI_H
#define DRP_HTTP_FCGI_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum {
	DRP_FCGI_BEGIN_REQUEST = 1,
	DRP_FCGI_ABORT_REQUEST = 2,
	DRP_FCGI_END_REQUEST = 3,
	DRP_FCGI_PARAMS = 4,
	DRP_FCGI_STDIN = 5,
	DRP_FCGI_STDOUT = 6,
	DRP_FCGI_STDERR = 7,
	DRP_FCGI_DATA = 8,
	DRP_FCGI_GET_VALUES = 9,
	DRP_FCGI_GET_VALUES_RESULT = 10,
	DRP_FCGI_UNKNOWN_TYPE = 11,
};

enum { DRP_FCGI_RESPONDER = 1, DRP_FCGI_AUTHORIZER = 2, DRP_FCGI_FILTER = 3 };
enum { DRP_FCGI_KEEP_CONN = 1 };
enum {
	DRP_FCGI_REQUEST_COMPLETE = 0,
	DRP_FCGI_CANT_MPX_CONN = 1,
	DRP_FCGI_OVERLOADED = 2,
	DRP_FCGI_UNKNOWN_ROLE = 3,
};

#define DRP_FCGI_HEADER_LEN 8
#define DRP_FCGI_MAX_CONTENT 65535

struct drp_fcgi_record {
	uint8_t type;
	uint16_t id;
	const uint8_t *content;
	size_t len;
};

/*
 * Parse one record at the start of p[0..n).  Returns the bytes it spans
 * (header + content + padding), 0 when more bytes are needed, -1 when the
 * bytes are not a FastCGI 1.0 record.
 */
long drp_fcgi_parse(const uint8_t *p, size_t n, struct drp_fcgi_record *r);

/*
 * Next name-value pair of a PARAMS / GET_VALUES stream at *p (of *n bytes),
 * advancing both.  1 with name/value set, 0 at the end, -1 when malformed
 * (a length running past the end).
 */
int drp_fcgi_nv_next(const uint8_t **p, size_t *n, struct drp_slice *name, struct drp_slice *value);
/* Append one name-value pair (GET_VALUES_RESULT, tests). */
int drp_fcgi_nv_put(struct drp_buf *out, const char *name, size_t nl, const char *val, size_t vl);

/* Append a stream's records carrying p[0..n) (split at 65535, padded to 8);
 * n == 0 appends the empty end-of-stream record. */
int drp_fcgi_put_stream(struct drp_buf *out, uint8_t type, uint16_t id, const void *p, size_t n);
/* Append one record of any type (content at most 65535 bytes). */
int drp_fcgi_put_record(struct drp_buf *out, uint8_t type, uint16_t id, const void *p, size_t n);
int drp_fcgi_put_end(struct drp_buf *out, uint16_t id, uint32_t app_status, uint8_t proto_status);

#endif
