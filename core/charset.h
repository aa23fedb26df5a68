/*
 * charset: conversion of text in a declared charset to UTF-8 (iconv).
 *
 * The fallback is defined, never an error: an empty, unknown or
 * unsupported charset name is decoded as windows-1252 (a superset of
 * ISO-8859-1 for printable text, and what mislabelled Western mail really
 * is); bytes that are invalid in the declared charset ("lying" labels)
 * become U+FFFD and conversion continues with the next byte.  UTF-8 and
 * ASCII take a fast validating path with no iconv call.
 */
#ifndef DRP_CHARSET_H
#define DRP_CHARSET_H

#include "buf.h"

/* Appends the UTF-8 text; -1 only when out of memory. */
int drp_charset_to_utf8(const char *charset, const uint8_t *in, size_t n, struct drp_buf *out);
/* 1 when iconv knows the (normalised) charset name. */
int drp_charset_known(const char *charset);
/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
size_t drp_utf8_seq(const uint8_t *p, size_t n);

#endif
