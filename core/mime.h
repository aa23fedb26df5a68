/*
 * mime: the MIME tree of a message, as a flat array of parts in document
 * order (parent index, depth), all slices into the original bytes.
 *
 * Multiparts are split on their boundary (the CRLF before a delimiter
 * belongs to the delimiter); the preamble and epilogue are kept; a missing
 * close delimiter or a multipart without a boundary parameter is flagged,
 * not fatal (the latter is treated as a leaf).  message/rfc822 bodies are
 * parsed as nested messages.  Depth and part count are bounded: past a
 * limit the remaining structure stays unsplit inside its parent and the
 * tree is flagged.  Content-Type parameters understand quoting and RFC
 * 2231 continuations and charsets.
 */
#ifndef DRP_MIME_H
#define DRP_MIME_H

#include "buf.h"
#include "decode.h"

enum {
	DRP_MIME_UNTERMINATED = 1, /* multipart without its close delimiter */
	DRP_MIME_NO_BOUNDARY = 2,  /* multipart without a usable boundary */
	DRP_MIME_LIMIT_DEPTH = 4,  /* (tree) nesting deeper than allowed */
	DRP_MIME_LIMIT_PARTS = 8,  /* (tree) more parts than allowed */
};

struct drp_mime_part {
	int parent; /* index in drp_mime.parts, -1 for the message itself */
	int depth;
	struct drp_slice header;
	struct drp_slice body; /* still transfer-encoded */
	struct drp_slice preamble, epilogue;
	char type[32];    /* lower case; "text" when absent */
	char subtype[64]; /* lower case; "plain" when absent */
	char charset[64]; /* as declared (lower case), "" when absent */
	char boundary[256];
	enum drp_cte cte;
	int nchildren;
	unsigned flags;
};

struct drp_mime_limits {
	int max_depth; /* default 32 */
	int max_parts; /* default 1000 */
};

struct drp_mime {
	struct drp_mime_part *parts;
	int n, cap;
	unsigned flags;
};

/* Parse; -1 only when out of memory.  lim may be NULL for defaults. */
int drp_mime_parse(const uint8_t *msg, size_t len, const struct drp_mime_limits *lim,
                   struct drp_mime *out);
void drp_mime_free(struct drp_mime *m);

/* Value of parameter `name` of a structured header value such as
 * Content-Type or Content-Disposition, RFC 2231 aware (continuations
 * joined, %XX decoded, converted to UTF-8 from the declared charset).
 * Appends; 1 found, 0 absent, -1 out of memory. */
int drp_mime_param(struct drp_slice value, const char *name, struct drp_buf *out);
/* The "type/subtype" token of a Content-Type value, lower-cased into the
 * two arrays; 0, or -1 when malformed (then text/plain is set). */
int drp_mime_ctype(struct drp_slice value, char *type, size_t tlen, char *subtype, size_t slen);

/* Transfer-decoded body of a part; appends. */
int drp_mime_part_decode(const struct drp_mime_part *p, struct drp_buf *out);
/* Transfer-decoded and converted to UTF-8 (charset.h fallback rules). */
int drp_mime_part_text(const struct drp_mime_part *p, struct drp_buf *out);

#endif
