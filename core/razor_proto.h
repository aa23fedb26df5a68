/*
 * razor_proto: the Razor2 wire format, without any I/O.
 *
 * Owns: SIS lines (razor-agents' makesis/parsesis rules: sorted keys,
 * URI escaping of values, "last key wins", the value ends at a second
 * raw '='), grouping queries into batches exactly as to_batched_query
 * does (bql lines / bqs KiB), framing and splitting answers (a plain line,
 * or "-first\r\n...\r\n.\r\n"), the server greeting and state, the
 * min_cf / se / check decision rules, razor's base64 variant and its
 * HMAC-like authentication digest.  Everything here is pure and bounded
 * so the TCP client, the unit tests and the fuzzer share it.
 */
#ifndef DRP_RAZOR_PROTO_H
#define DRP_RAZOR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What razor-agents 2.85 calls itself on the wire. */
#define DRP_RAZOR_CN "razor-agents"
#define DRP_RAZOR_CV "2.84"
#define DRP_RAZOR_REGISTRAR "Razor-Agents v2.84"

#define DRP_RAZOR_SIS_MAX 64       /* fields in one SIS line */
#define DRP_RAZOR_SIS_STORE 4096   /* bytes of keys and unescaped values */
#define DRP_RAZOR_LINE_MAX 4096    /* one greeting or answer line */
#define DRP_RAZOR_ANSWER_MAX 65536 /* one framed answer (a batch) */

/* A parsed SIS line.  Keys and values are copied, NUL-terminated, into
 * `store`; values may contain NULs after unescaping, so vlen is kept. */
struct drp_razor_sis {
	int n;
	struct {
		uint16_t k, klen, v, vlen;
	} f[DRP_RAZOR_SIS_MAX];
	size_t used;
	char store[DRP_RAZOR_SIS_STORE];
};

/* Parse one SIS line (a trailing "\n" then "\r" are removed first).  -1
 * when it has more than DRP_RAZOR_SIS_MAX fields or does not fit. */
int drp_razor_sis_parse(const uint8_t *p, size_t len, struct drp_razor_sis *out);
/* The value of the last field named key (parsesis fills a hash), or NULL. */
const char *drp_razor_sis_get(const struct drp_razor_sis *s, const char *key);
int drp_razor_sis_has(const struct drp_razor_sis *s, const char *key);

/* One key/value of a request.  val is NUL-terminated text. */
struct drp_razor_pair {
	const char *key;
	const char *val;
};

#define DRP_RAZOR_Q_KV 6
/* One query: up to DRP_RAZOR_Q_KV pairs in any order (they are sorted). */
struct drp_razor_q {
	int n;
	struct drp_razor_pair kv[DRP_RAZOR_Q_KV];
};

/* Append "k=v&k=v\r\n" with the keys in ASCII order; values URI-escaped
 * (everything but A-Z a-z 0-9 - _ . ~) when `escape`.  -1 on ENOMEM. */
int drp_razor_sis_encode(struct drp_buf *out, const struct drp_razor_pair *kv, int n, int escape);

/* A request unit: bytes [off, off+len) of the encoded buffer, answering
 * queries [first, first+count).  batch: sent as "-...\r\n.\r\n". */
struct drp_razor_unit {
	size_t off, len;
	int first, count;
	int batch;
};

/*
 * Group n queries into units the way razor-agents does: a batch closes
 * when it already holds bql lines or its text is longer than bqs KiB
 * (0 = no limit); a lone leftover query is a plain line.  The first line
 * of a batch is escaped, later lines are not.  Returns the number of units
 * (<= maxunits) or -1 (ENOMEM / too many units).
 */
int drp_razor_batch(const struct drp_razor_q *q, int n, long bql, long bqs, struct drp_buf *out,
                    struct drp_razor_unit *units, int maxunits);

/*
 * Framing of one answer at the head of p[0..len).  A plain answer is one
 * line up to "\n"; a batch starts with '-' and ends with a line ".".
 * Returns the answer's length (> 0) when complete, 0 when more bytes are
 * needed (and fewer than max have arrived), -1 when it exceeds max bytes
 * or a line is longer than DRP_RAZOR_LINE_MAX (err says which).
 */
long drp_razor_frame(const uint8_t *p, size_t len, size_t max, char *err, size_t errlen);

/*
 * Split a framed answer into its lines (line ends, the batch's leading
 * '-' and its final "." removed).  Returns the count, or -1 when there
 * are more than max lines.
 */
int drp_razor_answer_lines(const uint8_t *p, size_t len, struct drp_slice *lines, int max);

/* The server greeting (one SIS line; `sn` is required). */
struct drp_razor_greeting {
	char sn[16];
	int has_srl;
	long srl;
	char ep4[32];
	int cg; /* the last `a` is "cg": announce ourselves, expect no answer */
};
int drp_razor_parse_greeting(const uint8_t *p, size_t len, struct drp_razor_greeting *g, char *err,
                             size_t errlen);

/* Per-server parameters (razor-agents' default_server_conf, then the
 * server's `a=g&pm=state` keys). */
struct drp_razor_srvconf {
	long srl;
	char ep4[32];
	long bql, bqs, ac, dre;
	unsigned long se; /* engine bits: bit n-1 = engine n */
	char zone[128];
};
void drp_razor_srvconf_default(struct drp_razor_srvconf *c);
/* Apply one key of a state answer or server.*.conf file; unknown keys are
 * ignored (they are still kept on disk by razor_home). */
void drp_razor_srvconf_set(struct drp_razor_srvconf *c, const char *key, const char *val);
/* hexbits of `se` (e.g. "3BC8"); 0 when not hex. */
unsigned long drp_razor_parse_se(const char *s);

/* compute_server_conf: min_cf from the spec ("ac", "ac+N", "ac-N", "N";
 * spaces ignored; anything else means ac) and the server's ac, clamped to
 * 0..100.  Returns 0, or -1 when the spec was invalid (result still set). */
int drp_razor_min_cf(const char *spec, long ac, int *out);

/* Verdict of one check answer (check_resp): 1 spam, 0 not.  *ct is set to
 * the answer's ct (0 when absent); *cf to its cf (-1 when absent). */
int drp_razor_check_resp(const struct drp_razor_sis *a, int min_cf, int *ct, long *cf);

/* Whole-message decision (check_logic) over every part of one mail:
 * spam[i] and ct[i] from the answers, skipped[i] for parts that sent no
 * query (compute_sigs erased them), is_text / is_inline for methods 2 and
 * 3 (may be NULL otherwise).  Method 1: any part; 2: the first inline
 * text part (else the first text part, else part 0) decides; 3: every
 * text part (none: part 0); 4 (default): any part not in contention; 5:
 * every part not in contention. */
int drp_razor_logic(int method, int nparts, const int *spam, const int *ct, const int *skipped,
                    const int *is_text, const int *is_inline);

/* razor's base64 variant of a hex string (hextobase64): 3 hex digits ->
 * 2 characters.  out needs 2*ceil(n/3)+1 bytes.  -1 on a non-hex digit. */
int drp_razor_hex_b64(const char *hex, size_t n, char *out);

/*
 * The authentication digest (xor_key + hmac2_sha1 + hextobase64):
 * inner = hex SHA1((pass ^ 0x5c*64) || challenge), outer = hex
 * SHA1((pass ^ 0x36*64) || inner), aresp = razor_b64(outer), 28 chars.
 * -1 when the challenge or the password is empty (razor refuses those).
 */
int drp_razor_aresp(const uint8_t *pass, size_t passlen, const uint8_t *chal, size_t chlen,
                    char out[29]);

#endif
