/*
 * decode: Content-Transfer-Encoding decoders, tolerant of real-world mail.
 *
 * base64: characters outside the alphabet (line breaks, garbage) are
 * skipped; '=' closes the current 4-character group, whatever its padding,
 * and decoding continues after it (concatenated encodings); a dangling
 * single character of a group carries too few bits and is dropped.
 * quoted-printable: "=XX" (either case) decodes, "=" before optional
 * trailing blanks and a line end is a soft break, any other "=" is kept
 * literally, CRLF line ends are kept as they are; header mode also maps
 * '_' to space (RFC 2047 "Q").  Both append to `out` and return 0, or -1
 * only when out of memory.
 */
#ifndef DRP_DECODE_H
#define DRP_DECODE_H

#include "buf.h"

enum drp_cte {
	DRP_CTE_IDENTITY = 0, /* 7bit, 8bit, binary, absent or unknown */
	DRP_CTE_BASE64,
	DRP_CTE_QP,
};

int drp_b64_decode(const uint8_t *in, size_t n, struct drp_buf *out);
int drp_qp_decode(const uint8_t *in, size_t n, struct drp_buf *out, int header_mode);
/* Classify a Content-Transfer-Encoding value (whitespace/case tolerant). */
enum drp_cte drp_cte_parse(struct drp_slice value);
int drp_transfer_decode(enum drp_cte cte, const uint8_t *in, size_t n, struct drp_buf *out);
/* Standard base64 encoding (with padding, no line breaks); appends. */
int drp_b64_encode(const uint8_t *in, size_t n, struct drp_buf *out);

#endif
