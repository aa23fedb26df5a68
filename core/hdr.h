/*
 * hdr: header fields of a header block (see msg.h).
 *
 * Iteration yields each field with its name and raw value (folding kept);
 * lookups are case-insensitive and can pick the n-th of repeated fields.
 * Decoding helpers unfold, decode RFC 2047 encoded words to UTF-8 and pull
 * the address out of From / Sender / Return-Path style values.  Lines in a
 * header block that are neither fields nor continuations are skipped.
 */
#ifndef DRP_HDR_H
#define DRP_HDR_H

#include "buf.h"

struct drp_hdr_field {
	struct drp_slice name;  /* without trailing whitespace */
	struct drp_slice value; /* after ':' up to (not incl.) the final EOL */
	struct drp_slice raw;   /* the whole field including its final EOL */
};

struct drp_hdr_iter {
	const uint8_t *p;
	const uint8_t *end;
};

void drp_hdr_iter_init(struct drp_hdr_iter *it, struct drp_slice block);
/* 1 and *f filled, or 0 at the end. */
int drp_hdr_next(struct drp_hdr_iter *it, struct drp_hdr_field *f);
/* The nth (0-based) field named `name`; 1 found, 0 not. */
int drp_hdr_find(struct drp_slice block, const char *name, int nth, struct drp_hdr_field *f);
/* Number of fields named `name`. */
int drp_hdr_count(struct drp_slice block, const char *name);

/* Unfold (drop CR/LF of folds) and trim surrounding whitespace; appends. */
int drp_hdr_unfold(struct drp_slice value, struct drp_buf *out);
/* Unfold and decode RFC 2047 encoded words into UTF-8 (text outside
 * encoded words is taken as UTF-8/ASCII and invalid bytes become U+FFFD);
 * whitespace between adjacent encoded words is dropped.  Appends. */
int drp_hdr_decode(struct drp_slice value, struct drp_buf *out);
/* The mailbox address of an address header value: the last <...> outside
 * quotes and comments, else the first bare word containing '@', else the
 * trimmed value without comments.  Appends; 0 found, -1 nothing usable. */
int drp_hdr_address(struct drp_slice value, struct drp_buf *out);

#endif
