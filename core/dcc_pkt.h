/*
 * dcc_pkt: the DCC wire format (protocol version 12) and nothing else.
 *
 * Owns: building NOP / QUERY / REPORT datagrams, signing them (anonymous
 * client-ID 1 with a zero signature, or MD5 over the NUL-padded password
 * and the packet), decoding OK / ANSWER / ERROR datagrams, matching an
 * answer to its request by op_nums, and the special count values.  No
 * sockets, no state: dcc_client drives the conversation.
 *
 * Every field is big-endian except the four op_nums words, which the
 * reference writes in the client's native order and the server only echoes;
 * we do the same so our datagrams are byte-identical to dccproc's.
 */
#ifndef DRP_DCC_PKT_H
#define DRP_DCC_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "dcc_ck.h"

#define DRP_DCC_PORT 6277
#define DRP_DCC_VERSION 12
#define DRP_DCC_VERSION_MIN 4 /* oldest answer version the reference accepts */
#define DRP_DCC_HDR_LEN 24
#define DRP_DCC_SIG_LEN 16
#define DRP_DCC_CK_LEN 18 /* type, len, 16-byte sum */
#define DRP_DCC_PKT_MAX_CKS 14
#define DRP_DCC_PASSWD_MAX 32
#define DRP_DCC_ID_ANON 1u
#define DRP_DCC_ID_MIN_CLIENT 32768u
#define DRP_DCC_ID_MAX 16777215u
#define DRP_DCC_NOP_LEN (DRP_DCC_HDR_LEN + DRP_DCC_SIG_LEN)
#define DRP_DCC_OK_LEN 108
#define DRP_DCC_BRAND_LEN 64
#define DRP_DCC_ERRMSG_LEN 128
#define DRP_DCC_MAX_PKT                                                                            \
	(DRP_DCC_HDR_LEN + 4 + DRP_DCC_PKT_MAX_CKS * DRP_DCC_CK_LEN + DRP_DCC_SIG_LEN)
/* the largest datagram we accept from a server (an ERROR is the biggest) */
#define DRP_DCC_MAX_ANSWER 512

enum drp_dcc_op {
	DRP_DCC_OP_NOP = 1,
	DRP_DCC_OP_REPORT = 2,
	DRP_DCC_OP_QUERY = 3,
	DRP_DCC_OP_ANSWER = 4,
	DRP_DCC_OP_ADMN = 5,
	DRP_DCC_OP_OK = 6,
	DRP_DCC_OP_ERROR = 7,
	DRP_DCC_OP_DELETE = 8,
};

/* The highest checksum type (DRP_DCC_CK_* of dcc_ck.h) a client may send. */
#define DRP_DCC_PKT_TYPE_MAX DRP_DCC_CK_REP

/* Counts are 24 bits; the values above 0xffffef mean something else. */
#define DRP_DCC_TGTS_MASK 0x00ffffffu
#define DRP_DCC_TGTS_TOO_MANY 0x00fffff0u
#define DRP_DCC_TGTS_OK 0x00fffff1u
#define DRP_DCC_TGTS_OK2 0x00fffff2u
#define DRP_DCC_TGTS_DEL 0x00fffff3u
#define DRP_DCC_TGTS_REP_ADJ 0x00fffff4u
#define DRP_DCC_TGTS_OK_MX 0x00fffff5u
#define DRP_DCC_TGTS_OK_MXDCC 0x00fffff6u
#define DRP_DCC_TGTS_SUBMIT_CLIENT 0x00fffff7u
#define DRP_DCC_TGTS_INVALID 0x01000000u /* "not counted" in answers */
#define DRP_DCC_TGTS_SPAM 0x01000000u    /* flag in a REPORT's tgts */
#define DRP_DCC_TGTS_REP_SPAM 0x02000000u
#define DRP_DCC_TGTS_RPT_MAX 2000u
#define DRP_DCC_BULK_THRESHOLD 10u

struct drp_dcc_opnums {
	uint32_t h, p, r, t;
};

struct drp_dcc_sum {
	uint8_t type;
	uint8_t sum[16];
};

/* Credentials: client-ID 1 and an empty password sign anonymously. */
struct drp_dcc_cred {
	uint32_t id;
	char passwd[DRP_DCC_PASSWD_MAX + 1];
	size_t pwlen;
};

/* A decoded datagram from a server. */
struct drp_dcc_answer {
	uint16_t len;
	uint8_t vers;
	uint8_t op;
	uint32_t sender; /* server-ID */
	struct drp_dcc_opnums on;
	/* OK */
	uint8_t max_pkt_vers;
	uint16_t qdelay_ms;
	char brand[DRP_DCC_BRAND_LEN + 1];
	/* ANSWER: positional (c, p) pairs, one per checksum of the request */
	int n;
	uint32_t c[DRP_DCC_PKT_MAX_CKS], p[DRP_DCC_PKT_MAX_CKS];
	/* ERROR */
	char errmsg[DRP_DCC_ERRMSG_LEN + 1];
	uint8_t sig[DRP_DCC_SIG_LEN];
};

/* Set up credentials; -1 when the password is too long or has blanks. */
int drp_dcc_cred_set(struct drp_dcc_cred *cr, uint32_t id, const char *passwd, char *err,
                     size_t errlen);

/*
 * Build a request.  op is NOP, QUERY or REPORT; tgts and the checksums are
 * ignored for NOP.  Checksums must be sorted by type, unique, types
 * 1..11: the server silently drops anything else, so we refuse it here.
 * Returns the datagram length or -1 with the reason in err.
 */
int drp_dcc_build(enum drp_dcc_op op, const struct drp_dcc_cred *cr,
                  const struct drp_dcc_opnums *on, uint32_t tgts, const struct drp_dcc_sum *cks,
                  int ncks, uint8_t *out, size_t outlen, char *err, size_t errlen);

/* Rewrite the transmission number of a built request and re-sign it. */
void drp_dcc_set_t(uint8_t *pkt, size_t len, uint32_t t, const struct drp_dcc_cred *cr);

/* Write the signature in the last 16 bytes (zeros for anonymous). */
void drp_dcc_sign(uint8_t *pkt, size_t len, const struct drp_dcc_cred *cr);
/* 1 when the signature of pkt verifies under cr (anonymous: never). */
int drp_dcc_sig_ok(const uint8_t *pkt, size_t len, const struct drp_dcc_cred *cr);

/*
 * Decode a server datagram: len field equal to the datagram size, at least
 * 40 bytes, version 4..12, and the body shape of its op (OK, ANSWER,
 * ERROR).  0, or -1 with the reason in err.  Signature not checked here.
 */
int drp_dcc_decode(const uint8_t *p, size_t len, struct drp_dcc_answer *out, char *err,
                   size_t errlen);

/* 1 when the answer belongs to the request: same h, p, r. */
int drp_dcc_matches(const struct drp_dcc_answer *a, const struct drp_dcc_opnums *req);

/*
 * The "host" op_nums word as the reference computes it: gethostid() plus
 * each byte of the host name (as a signed char) times its index; never 0.
 */
uint32_t drp_dcc_host_num(long hostid, const char *hostname);

/* Parse the header of a request datagram we built (tests, the test server). */
int drp_dcc_read_opnums(const uint8_t *p, size_t len, struct drp_dcc_opnums *out);

/* A count as dccproc prints it: decimal, "many", "ok", "ok2", ... into out (>= 16). */
void drp_dcc_tgts_str(uint32_t v, char *out, size_t outlen);

/*
 * Parse a threshold as dccproc's -c accepts it: a number, "MANY" or
 * "NEVER" (case-insensitive).  NEVER is returned as UINT32_MAX.  0 or -1.
 */
int drp_dcc_parse_thold(const char *s, uint32_t *out);

#endif
