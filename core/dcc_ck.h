/*
 * dcc_ck: every checksum the reference dccproc 2.3.167 computes for one
 * message (header checksums, envelope checksums, Body, Fuz1, Fuz2), byte
 * for byte as dccproc prints them with -C.  The rules are those of
 * docs/dcc-checksums.md (from ../shared/docs/dcc-protocol.md §8-§11).
 *
 * The message is an explicit-length byte string (it may hold NULs).  A
 * message dccproc refuses ("missing message body", "missing SMTP header
 * lines") yields DRP_DCC_REFUSED, no checksums, and the reason in err.
 */
#ifndef DRP_DCC_CK_H
#define DRP_DCC_CK_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/* Checksum type numbers: DCC_CK_* of the wire protocol. */
enum drp_dcc_ck_type {
	DRP_DCC_CK_IP = 1,
	DRP_DCC_CK_ENV_FROM = 2,
	DRP_DCC_CK_FROM = 3,
	DRP_DCC_CK_SUB = 4,
	DRP_DCC_CK_MESSAGE_ID = 5,
	DRP_DCC_CK_RECEIVED = 6,
	DRP_DCC_CK_BODY = 7,
	DRP_DCC_CK_FUZ1 = 8,
	DRP_DCC_CK_FUZ2 = 9,
	DRP_DCC_CK_REP_TOTAL = 10,
	DRP_DCC_CK_REP = 11,
	DRP_DCC_CK_SRVR_ID = 12,
	DRP_DCC_CK_ENV_TO = 13,
};

#define DRP_DCC_SUM_LEN 16
/* Substitute headers (-S) honoured per message, as dccproc's limit. */
#define DRP_DCC_MAX_SUB 8
#define DRP_DCC_SUB_NAME_MAX 64
/* Room for one of every type, every substitute and every recipient. */
#define DRP_DCC_MAX_CKS (16 + DRP_DCC_MAX_SUB + DRP_ENV_MAX_RCPT)

struct drp_dcc_ck {
	int type;   /* enum drp_dcc_ck_type */
	int report; /* 1 if dccproc sends it to the server in a REPORT/QUERY */
	/* Substitute checksums: the header name, lowercase, as printed after
	 * "substitute ".  Empty for every other type. */
	char sub_name[DRP_DCC_SUB_NAME_MAX];
	uint8_t sum[DRP_DCC_SUM_LEN];
};

/* In ascending type order (the order of a REPORT and of dccproc -C). */
struct drp_dcc_cks {
	struct drp_dcc_ck ck[DRP_DCC_MAX_CKS];
	int n;
};

struct drp_dcc_ck_opts {
	/* dccproc -S NAME: header names whose values become substitute
	 * checksums (case-insensitive match, first DRP_DCC_MAX_SUB kept). */
	const char *substitute[DRP_DCC_MAX_SUB];
	int n_substitute;
};

enum drp_dcc_ck_rc {
	DRP_DCC_OK = 0,
	DRP_DCC_REFUSED = 1, /* dccproc would refuse the message; err says why */
	DRP_DCC_ERROR = -1,  /* bad arguments or local failure; err says why */
};

/*
 * Compute the checksums of msg.  env may be NULL (no envelope: env_From
 * then comes from a leading "From " line or Return-Path:, as dccproc
 * does); opts may be NULL.  On DRP_DCC_OK out holds the checksums in type
 * order; on any other result out->n is 0.
 */
int drp_dcc_checksums(const uint8_t *msg, size_t len, const struct drp_envelope *env,
                      const struct drp_dcc_ck_opts *opts, struct drp_dcc_cks *out, char *err,
                      size_t errlen);

/*
 * The same with the working state kept between messages: a context holds
 * the MD5 implementation, the OpenSSL digest contexts and the ~60 KB of
 * per-message state, so a caller checksumming many messages (a worker, a
 * benchmark) pays for them once.  A context serves one message at a time;
 * nothing of one message changes the checksums of the next (what it keeps,
 * a cache of dictionary answers, memoises a fixed function).  NULL when
 * out of memory or when MD5 is unavailable.
 */
struct drp_dcc_ck_ctx;
struct drp_dcc_ck_ctx *drp_dcc_ck_ctx_new(void);
void drp_dcc_ck_ctx_free(struct drp_dcc_ck_ctx *ctx);
int drp_dcc_checksums_ctx(struct drp_dcc_ck_ctx *ctx, const uint8_t *msg, size_t len,
                          const struct drp_envelope *env, const struct drp_dcc_ck_opts *opts,
                          struct drp_dcc_cks *out, char *err, size_t errlen);

/* The type's name as dccproc prints it ("IP", "env_From", "Fuz2", ...);
 * "substitute" for DRP_DCC_CK_SUB; "?" for an unknown type. */
const char *drp_dcc_type_name(int type);

/* The full printed label of one checksum: the type name, or
 * "substitute <name>" for a substitute checksum.  Returns out. */
const char *drp_dcc_ck_label(const struct drp_dcc_ck *ck, char *out, size_t outlen);

#endif
