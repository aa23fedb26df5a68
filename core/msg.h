/*
 * msg: the zero-copy view of one raw RFC 822 message.
 *
 * Splits the bytes into an optional mbox "From " line, the header block
 * and the body without copying.  NULs and 8-bit bytes are ordinary data;
 * lines may end in LF or CRLF (mixed is tolerated).  A message with no
 * blank line is all header; a message whose first line is not a header
 * field (and not "From ") is all body, as mail readers treat it.
 */
#ifndef DRP_MSG_H
#define DRP_MSG_H

#include "buf.h"

struct drp_msg {
	struct drp_slice raw;
	struct drp_slice from_line; /* "From ..." without its EOL, or empty */
	struct drp_slice header;    /* header fields, each with its EOL */
	struct drp_slice body;      /* bytes after the blank separator line */
	int has_body;               /* a blank separator line was present */
	int crlf;                   /* the first line ended in CRLF */
};

void drp_msg_parse(const uint8_t *p, size_t len, struct drp_msg *m);

/* Length of the line starting at p (up to end), including its EOL; *eol
 * gets the EOL length (0 at end of data, 1 for LF, 2 for CRLF). */
size_t drp_line_len(const uint8_t *p, const uint8_t *end, size_t *eol);

#endif
