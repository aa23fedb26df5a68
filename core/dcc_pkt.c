/* dcc_pkt: see dcc_pkt.h. */
#include "dcc_pkt.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* op_nums travel in the sender's native order: the server never reads them */
static void put_native32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get_native32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int drp_dcc_cred_set(struct drp_dcc_cred *cr, uint32_t id, const char *passwd, char *err,
                     size_t errlen)
{
	size_t n = passwd ? strlen(passwd) : 0;

	memset(cr, 0, sizeof(*cr));
	if (id == 0 || id > DRP_DCC_ID_MAX) {
		snprintf(err, errlen, "DCC client-ID %lu out of range", (unsigned long)id);
		return -1;
	}
	cr->id = id;
	if (id == DRP_DCC_ID_ANON)
		return 0; /* anonymous never signs, whatever password is around */
	if (n == 0) {
		snprintf(err, errlen, "DCC client-ID %lu needs a password", (unsigned long)id);
		return -1;
	}
	if (n > DRP_DCC_PASSWD_MAX) {
		snprintf(err, errlen, "DCC password longer than %d bytes", DRP_DCC_PASSWD_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)passwd[i];

		if (c <= ' ' || c == 0x7f) {
			snprintf(err, errlen, "DCC password contains blanks or control bytes");
			return -1;
		}
	}
	memcpy(cr->passwd, passwd, n);
	cr->pwlen = n;
	return 0;
}

static int anonymous(const struct drp_dcc_cred *cr)
{
	return cr == NULL || cr->id == DRP_DCC_ID_ANON || cr->pwlen == 0;
}

/* MD5(password NUL-padded to 32 bytes || pkt[0 .. len-16)) */
static void compute_sig(const uint8_t *pkt, size_t len, const struct drp_dcc_cred *cr,
                        uint8_t out[DRP_DCC_SIG_LEN])
{
	uint8_t pw[DRP_DCC_PASSWD_MAX];
	unsigned int olen = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	memset(out, 0, DRP_DCC_SIG_LEN);
	if (md == NULL)
		return;
	memset(pw, 0, sizeof(pw));
	memcpy(pw, cr->passwd, cr->pwlen);
	if (EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1 ||
	    EVP_DigestUpdate(md, pw, sizeof(pw)) != 1 ||
	    EVP_DigestUpdate(md, pkt, len - DRP_DCC_SIG_LEN) != 1 ||
	    EVP_DigestFinal_ex(md, out, &olen) != 1)
		memset(out, 0, DRP_DCC_SIG_LEN);
	OPENSSL_cleanse(pw, sizeof(pw));
	EVP_MD_CTX_free(md);
}

void drp_dcc_sign(uint8_t *pkt, size_t len, const struct drp_dcc_cred *cr)
{
	if (len < DRP_DCC_NOP_LEN)
		return;
	if (anonymous(cr)) {
		memset(pkt + len - DRP_DCC_SIG_LEN, 0, DRP_DCC_SIG_LEN);
		return;
	}
	compute_sig(pkt, len, cr, pkt + len - DRP_DCC_SIG_LEN);
}

int drp_dcc_sig_ok(const uint8_t *pkt, size_t len, const struct drp_dcc_cred *cr)
{
	uint8_t sig[DRP_DCC_SIG_LEN];

	if (anonymous(cr) || len < DRP_DCC_NOP_LEN)
		return 0;
	compute_sig(pkt, len, cr, sig);
	return CRYPTO_memcmp(sig, pkt + len - DRP_DCC_SIG_LEN, DRP_DCC_SIG_LEN) == 0;
}

int drp_dcc_build(enum drp_dcc_op op, const struct drp_dcc_cred *cr,
                  const struct drp_dcc_opnums *on, uint32_t tgts, const struct drp_dcc_sum *cks,
                  int ncks, uint8_t *out, size_t outlen, char *err, size_t errlen)
{
	size_t len, off;

	if (op != DRP_DCC_OP_NOP && op != DRP_DCC_OP_QUERY && op != DRP_DCC_OP_REPORT) {
		snprintf(err, errlen, "DCC op %d is not a client request", (int)op);
		return -1;
	}
	if (op == DRP_DCC_OP_NOP)
		ncks = 0;
	if (ncks < 0 || ncks > DRP_DCC_PKT_MAX_CKS) {
		snprintf(err, errlen, "%d checksums (max %d)", ncks, DRP_DCC_PKT_MAX_CKS);
		return -1;
	}
	for (int i = 0; i < ncks; i++) {
		if (cks[i].type < 1 || cks[i].type > DRP_DCC_PKT_TYPE_MAX) {
			snprintf(err, errlen, "checksum type %u cannot be sent", cks[i].type);
			return -1;
		}
		if (i > 0 && cks[i].type <= cks[i - 1].type) {
			snprintf(err, errlen, "checksums not in strictly ascending type order");
			return -1;
		}
	}
	len = op == DRP_DCC_OP_NOP
	          ? DRP_DCC_NOP_LEN
	          : DRP_DCC_HDR_LEN + 4 + (size_t)ncks * DRP_DCC_CK_LEN + DRP_DCC_SIG_LEN;
	if (len > outlen) {
		snprintf(err, errlen, "DCC packet does not fit (%zu > %zu)", len, outlen);
		return -1;
	}
	put_be16(out, (uint16_t)len);
	out[2] = DRP_DCC_VERSION;
	out[3] = (uint8_t)op;
	put_be32(out + 4, cr ? cr->id : DRP_DCC_ID_ANON);
	put_native32(out + 8, on->h);
	put_native32(out + 12, on->p);
	put_native32(out + 16, on->r);
	put_native32(out + 20, on->t);
	off = DRP_DCC_HDR_LEN;
	if (op != DRP_DCC_OP_NOP) {
		put_be32(out + off, tgts);
		off += 4;
		for (int i = 0; i < ncks; i++) {
			out[off] = cks[i].type;
			out[off + 1] = DRP_DCC_CK_LEN;
			memcpy(out + off + 2, cks[i].sum, 16);
			off += DRP_DCC_CK_LEN;
		}
	}
	drp_dcc_sign(out, len, cr);
	return (int)len;
}

void drp_dcc_set_t(uint8_t *pkt, size_t len, uint32_t t, const struct drp_dcc_cred *cr)
{
	if (len < DRP_DCC_NOP_LEN)
		return;
	put_native32(pkt + 20, t);
	drp_dcc_sign(pkt, len, cr);
}

uint32_t drp_dcc_host_num(long hostid, const char *hostname)
{
	uint32_t h = (uint32_t)hostid;

	for (size_t i = 0; hostname != NULL && hostname[i] != 0; i++)
		h += (uint32_t)((int32_t)(signed char)hostname[i] * (int32_t)i);
	return h != 0 ? h : 1;
}

int drp_dcc_read_opnums(const uint8_t *p, size_t len, struct drp_dcc_opnums *out)
{
	if (len < DRP_DCC_HDR_LEN)
		return -1;
	out->h = get_native32(p + 8);
	out->p = get_native32(p + 12);
	out->r = get_native32(p + 16);
	out->t = get_native32(p + 20);
	return 0;
}

static void copy_text(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	/* NUL-padded ASCII on the wire; keep it printable for logs and JSON */
	for (i = 0; i < n && src[i] != 0; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = 0;
}

int drp_dcc_decode(const uint8_t *p, size_t len, struct drp_dcc_answer *out, char *err,
                   size_t errlen)
{
	size_t body;

	memset(out, 0, sizeof(*out));
	if (len < DRP_DCC_NOP_LEN) {
		snprintf(err, errlen, "DCC datagram too short (%zu bytes)", len);
		return -1;
	}
	out->len = get_be16(p);
	if (out->len != len) {
		snprintf(err, errlen, "DCC length field %u but datagram of %zu bytes",
		         (unsigned)out->len, len);
		return -1;
	}
	out->vers = p[2];
	if (out->vers < DRP_DCC_VERSION_MIN || out->vers > DRP_DCC_VERSION) {
		snprintf(err, errlen, "DCC protocol version %u unsupported", (unsigned)out->vers);
		return -1;
	}
	out->op = p[3];
	out->sender = get_be32(p + 4);
	drp_dcc_read_opnums(p, len, &out->on);
	memcpy(out->sig, p + len - DRP_DCC_SIG_LEN, DRP_DCC_SIG_LEN);
	body = len - DRP_DCC_NOP_LEN;
	switch (out->op) {
	case DRP_DCC_OP_OK:
		if (len != DRP_DCC_OK_LEN) {
			snprintf(err, errlen, "DCC OK of %zu bytes (want %d)", len, DRP_DCC_OK_LEN);
			return -1;
		}
		out->max_pkt_vers = p[24];
		out->qdelay_ms = get_be16(p + 26);
		copy_text(out->brand, p + 28, DRP_DCC_BRAND_LEN);
		return 0;
	case DRP_DCC_OP_ANSWER:
		if (body % 8 != 0 || body / 8 > DRP_DCC_PKT_MAX_CKS) {
			snprintf(err, errlen, "DCC ANSWER of %zu bytes is malformed", len);
			return -1;
		}
		out->n = (int)(body / 8);
		for (int i = 0; i < out->n; i++) {
			out->c[i] = get_be32(p + DRP_DCC_HDR_LEN + 8 * (size_t)i);
			out->p[i] = get_be32(p + DRP_DCC_HDR_LEN + 8 * (size_t)i + 4);
		}
		return 0;
	case DRP_DCC_OP_ERROR:
		/* the reference sends only the used part of the message buffer */
		if (body == 0 || body > DRP_DCC_ERRMSG_LEN) {
			snprintf(err, errlen, "DCC ERROR of %zu bytes is malformed", len);
			return -1;
		}
		copy_text(out->errmsg, p + DRP_DCC_HDR_LEN, body);
		return 0;
	default:
		snprintf(err, errlen, "unexpected DCC op %u from server", (unsigned)out->op);
		return -1;
	}
}

int drp_dcc_matches(const struct drp_dcc_answer *a, const struct drp_dcc_opnums *req)
{
	return a->on.h == req->h && a->on.p == req->p && a->on.r == req->r;
}

void drp_dcc_tgts_str(uint32_t v, char *out, size_t outlen)
{
	const char *s = NULL;

	switch (v) {
	case DRP_DCC_TGTS_TOO_MANY:
		s = "many";
		break;
	case DRP_DCC_TGTS_OK:
		s = "ok";
		break;
	case DRP_DCC_TGTS_OK2:
		s = "ok2";
		break;
	case DRP_DCC_TGTS_DEL:
		s = "del-req";
		break;
	case DRP_DCC_TGTS_REP_ADJ:
		s = "rep-adj";
		break;
	case DRP_DCC_TGTS_OK_MX:
		s = "mx";
		break;
	case DRP_DCC_TGTS_OK_MXDCC:
		s = "mxdcc";
		break;
	case DRP_DCC_TGTS_SUBMIT_CLIENT:
		s = "submit";
		break;
	case DRP_DCC_TGTS_INVALID:
		s = "-";
		break;
	}
	if (s != NULL)
		snprintf(out, outlen, "%s", s);
	else
		snprintf(out, outlen, "%lu", (unsigned long)v);
}

int drp_dcc_parse_thold(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strcasecmp(s, "many") == 0) {
		*out = DRP_DCC_TGTS_TOO_MANY;
		return 0;
	}
	if (strcasecmp(s, "never") == 0) {
		*out = UINT32_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != 0 || v == 0 || v > DRP_DCC_TGTS_TOO_MANY)
		return -1;
	*out = (uint32_t)v;
	return 0;
}
