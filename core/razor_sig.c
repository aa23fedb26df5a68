/*
 * razor_sig: the two engines of razor-agents 2.85 and the signature list.
 *
 * VR4 (Ephemeral) picks two pseudo-random sections of the VR4-cleaned text
 * with Perl's drand48 seeded from the server's ep4; VR8 (Whiplash) hashes
 * URL host names of the VR8-cleaned text with the text length.  Both are
 * reproduced from the reference's Perl, including how Perl's regexes,
 * split and substr behave on odd input (docs/razor-signatures.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "razor_sig.h"

/* Whiplash's domain part list, in its order (first match wins). */
static const char *const vr8_suffixes[] = {
    ".com",         ".net",        ".org",        ".info",      ".biz",         ".edu",
    ".gov.ar",      ".int.ar",     ".net.ar",     ".com.ar",    ".mil.ar",      ".ar",
    ".com.au",      ".org.au",     ".gov.au",     ".org.au",    ".id.au",       ".oz.au",
    ".info.au",     ".net.au",     ".asn.au",     ".csiro.au",  ".telememo.au", ".conf.au",
    "edu.au",       ".au",         ".com.az",     ".net.az",    ".org.az",      ".az",
    ".art.br",      ".com.br",     ".esp.br",     ".etc.br",    ".g12.br",      ".gov.br",
    ".ind.br",      ".inf.br",     ".mil.br",     ".net.br",    ".org.br",      ".pro.br",
    ".psi.br",      ".rec.br",     ".tmp.br",     ".br",        ".ab.ca",       ".bc.ca",
    ".gc.ca",       ".mb.ca",      ".nf.ca",      ".ns.ca",     ".nt.ca",       ".on.ca",
    ".pe.ca",       ".qc.ca",      ".sk.ca",      ".yk.ca",     ".ca",          ".ac.cn",
    ".com.cn",      ".edu.cn",     ".gov.cn",     ".net.cn",    ".org.cn",      ".bj.cn",
    ".sh.cn",       ".tj.cn",      ".cq.cn",      ".he.cn",     ".sx.cn",       ".nm.cn",
    ".ln.cn",       ".jl.cn",      ".hl.cn",      ".js.cn",     ".zj.cn",       ".ah.cn",
    ".hb.cn",       ".hn.cn",      ".gd.cn",      ".gx.cn",     ".hi.cn",       ".sc.cn",
    ".gz.cn",       ".yn.cn",      ".xz.cn",      ".sn.cn",     ".gs.cn",       ".qh.cn",
    ".nx.cn",       ".xj.cn",      ".tw.cn",      ".hk.cn",     ".mo.cn",       ".cn",
    ".arts.co",     ".com.co",     ".edu.co",     ".firm.co",   ".gov.co",      ".info.co",
    ".int.co",      ".nom.co",     ".mil.co",     ".org.co",    ".rec.co",      ".store.co",
    ".web.co",      ".co",         ".ac.cr",      ".co.cr",     ".ed.cr",       ".fi.cr",
    ".go.cr",       ".or.cr",      ".sa.cr",      ".cr",        ".com.cu",      ".net.cu",
    ".org.cu",      ".cu",         ".ac.cy",      ".com.cy",    ".gov.cy",      ".net.cy",
    ".org.cy",      ".cy",         ".cz",         ".de",        ".com.ec",      ".k12.ec",
    ".edu.ec",      ".fin.ec",     ".med.ec",     ".gov.ec",    ".mil.ec",      ".org.ec",
    ".net.ec",      ".ec",         ".com.eg",     ".edu.eg",    ".eun.eg",      ".gov.eg",
    ".net.eg",      ".org.eg",     ".sci.eg",     ".eg",        ".ac.fj",       ".com.fj",
    ".gov.fj",      ".id.fj",      ".org.fj",     ".school.fj", ".fj",          ".site.voila.fr",
    ".fr",          ".com.ge",     ".edu.ge",     ".gov.ge",    ".mil.ge",      ".net.ge",
    ".org.ge",      ".pvt.ge",     ".ge",         ".co.gg",     ".org.gg",      ".sch.gg",
    ".ac.gg",       ".gov.gg",     ".ltd.gg",     ".ind.gg",    ".net.gg",      ".alderney.gg",
    ".guernsey.gg", ".sark.gg",    ".gg",         ".edu.gu",    ".com.gu",      ".mil.gu",
    ".gov.gu",      ".net.gu",     ".org.gu",     ".gu",        ".com.hk",      ".edu.hk",
    ".gov.hk",      ".idv.hk",     ".net.hk",     ".org.hk",    ".hk",          ".co.hu",
    ".org.hu",      ".priv.hu",    ".info.hu",    ".tm.hu",     ".nui.hu",      ".hu",
    ".ac.id",       ".co.id",      ".go.id",      ".mil.id",    ".net.id",      ".or.id",
    ".id",          ".k12.il",     ".org.il",     ".ac.il",     ".gov.il",      ".muni.il",
    ".co.il",       ".net.il",     ".il",         ".co.im",     ".lkd.co.im",   ".plc.co.im",
    ".net.im",      ".gov.im",     ".org.im",     ".nic.im",    ".ac.im",       ".im",
    ".ernet.in",    ".nic.in",     ".ac.in",      ".co.in",     ".gov.in",      ".net.in",
    ".res.in",      ".in",         ".com.jo",     ".gov.jo",    ".edu.jo",      ".net.jo",
    ".jo",          ".co.jp",      ".ne.jp",      ".or.jp",     ".lg.jp",       ".ne.jp",
    ".ad.jp",       ".ac.jp",      ".go.jp",      ".gr.jp",     ".jp",          ".ac.kr",
    ".co.kr",       ".go.kr",      ".ne.kr",      ".or.kr",     ".re.kr",       ".pe.kr",
    ".seoul.kr",    ".kyonggi.kr", ".com.la",     ".net.la",    ".org.la",      ".la",
    ".com.lb",      ".org.lb",     ".net.lb",     ".gov.lb",    ".mil.lb",      ".lb",
    ".com.lc",      ".edu.lc",     ".gov.lc",     ".net.lc",    ".org.lc",      ".lc",
    ".com.lv",      ".edu.lv",     ".gov.lv",     ".org.lv",    ".mil.lv",      ".id.lv",
    ".net.lv",      ".asn.lv",     ".conf.lv",    ".lv",        ".com.ly",      ".net.ly",
    ".org.ly",      ".ly",         ".edu.mm",     ".com.mm",    ".gov.mm",      ".net.mm",
    ".org.mm",      ".mm",         ".com.mo",     ".edu.mo",    ".gov.mo",      ".net.mo",
    ".org.mo",      ".mo",         ".com.mt",     ".net.mt",    ".org.mt",      ".mt",
    ".com.mx",      ".net.mx",     ".org.mx",     ".mx",        ".com.my",      ".org.my",
    ".gov.my",      ".edu.my",     ".net.my",     ".my",        ".com.na",      ".org.na",
    ".net.na",      ".na",         ".com.nc",     ".net.nc",    ".org.nc",      ".nc",
    ".ne",          ".nf",         ".ng",         ".com.ni",    ".ni",          ".com.np",
    ".net.np",      ".ort.np",     ".np",         ".co.nz",     ".net.nz",      ".govt.nz",
    ".ac.nz",       ".nz",         ".ac.pa",      ".com.pa",    ".net.pa",      ".org.pa",
    ".edu.pa",      ".gob.pa",     ".sld.pa",     ".pa",        ".com.pe",      ".net.pe",
    ".org.pe",      ".pe",         ".com.ph",     ".net.ph",    ".org.ph",      ".mil.ph",
    ".ngo.ph",      ".ph",         ".com.pl",     ".net.pl",    ".org.pl",      ".pl",
    ".com.py",      ".net.py",     ".org.py",     ".edu.py",    ".py",          ".org.ru",
    ".net.ru",      ".pp.ru",      ".com.ru",     ".ru",        ".com.sg",      ".net.sg",
    ".org.sg",      ".edu.sg",     ".gov.sg",     ".sg",        ".com.sh",      ".edu.sh",
    ".gov.sh",      ".net.sh",     ".mil.sh",     ".org.sh",    ".sh",          ".co.sv",
    ".sv",          ".com.sy",     ".net.sy",     ".org.sy",    ".sy",          ".ac.th",
    ".co.th",       ".go.th",      ".net.th",     ".or.th",     ".in.th",       ".th",
    ".com.tn",      ".ind.tn",     ".tourism.tn", ".fin.tn",    ".net.tn",      ".gov.tn",
    ".nat.tn",      ".org.tn",     ".info.tn",    ".ens.tn",    ".intl.tn",     ".rnrt.tn",
    ".rnu.tn",      ".rns.tn",     ".edunet.tn",  ".tn",        ".bbs.tr",      ".com.tr",
    ".edu.tr",      ".gov.tr",     ".k12.tr",     ".mil.tr",    ".net.tr",      ".org.tr",
    ".tr",          ".com.tw",     ".net.tw",     ".org.tw",    ".gove.tw",     ".tw",
    ".com.ua",      ".net.ua",     ".gov.ua",     ".ua",        ".ac.ug",       ".co.ug",
    ".or.ug",       ".go.ug",      ".ug",         ".ac.uk",     ".co.uk",       ".gov.uk",
    ".ltd.uk",      ".me.uk",      ".mod.uk",     ".net.uk",    ".nic.uk",      ".nhs.uk",
    ".org.uk",      ".plc.uk",     ".police.uk",  ".sch.uk",    ".uk",          ".ak.us",
    ".al.us",       ".ar.us",      ".az.us",      ".sf.ca.us",  ".ca.us",       ".co.us",
    ".ct.us",       ".dc.us",      ".de.us",      ".fed.us",    ".fl.us",       ".ga.us",
    ".hi.us",       ".ia.us",      ".id.us",      ".il.us",     ".in.us",       ".isa.us",
    ".kids.us",     ".ks.us",      ".ky.us",      ".la.us",     ".ma.us",       ".md.us",
    ".me.us",       ".mi.us",      ".mn.us",      ".mo.us",     ".ms.us",       ".mt.us",
    ".nc.us",       ".nd.us",      ".ne.us",      ".nh.us",     ".nj.us",       ".nm.us",
    ".nsn.us",      ".nv.us",      ".ny.us",      ".oh.us",     ".ok.us",       ".or.us",
    ".pa.us",       ".ri.us",      ".sc.us",      ".sd.us",     ".tn.us",       ".tx.us",
    ".ut.us",       ".vt.us",      ".va.us",      ".wa.us",     ".wi.us",       ".wv.us",
    ".wy.us",       ".us",         ".com.uy",     ".edu.uy",    ".net.uy",      ".org.uy",
    ".uy",          ".com.ve",     ".edu.ve",     ".gov.ve",    ".net.ve",      ".co.ve",
    ".bib.ve",      ".tec.ve",     ".int.ve",     ".org.ve",    ".firm.ve",     ".store.ve",
    ".web.ve",      ".arts.ve",    ".rec.ve",     ".info.ve",   ".nom.ve",      ".mil.ve",
    ".ve",          ".co.vi",      ".net.vi",     ".org.vi",    ".vi",          ".ac.yu",
    ".co.yu",       ".edu.yu",     ".org.yu",     ".yu",        ".ws",          ".ac.za",
    ".alt.za",      ".co.za",      ".edu.za",     ".gov.za",    ".mil.za",      ".net.za",
    ".ngo.za",      ".nom.za",     ".org.za",     ".school.za", ".tm.za",       ".web.za",
    ".za",
};

#define NSUFFIX (sizeof(vr8_suffixes) / sizeof(vr8_suffixes[0]))

static int pl_space(unsigned c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ---- razor_b64 (String::hextobase64) ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static unsigned nibble(const uint8_t *d, size_t i)
{
	return (i & 1) ? d[i / 2] & 15u : d[i / 2] >> 4;
}

static unsigned rev4(unsigned x)
{
	static const uint8_t r[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

	return r[x & 15];
}

void drp_razor_b64_digest(const uint8_t *d, size_t ndigits, char *out)
{
	size_t i;

	/* pack "h3" puts each hex digit's bits least significant first; the
	 * 12-bit string is then read as two 6-bit numbers, first bit high */
	for (i = 0; i < ndigits; i += 3) {
		unsigned a = nibble(d, i), b = i + 1 < ndigits ? nibble(d, i + 1) : 0;
		unsigned c = i + 2 < ndigits ? nibble(d, i + 2) : 0;
		unsigned bits = rev4(a) << 8 | rev4(b) << 4 | rev4(c);

		*out++ = b64chars[bits >> 6];
		*out++ = b64chars[bits & 63];
	}
	*out = 0;
}

/* SHA-1 with the method fetched once and one context reused: per-call
 * EVP_Digest pays a provider lookup each time, a third of a small part. */
struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

static int hasher_init(struct hasher *h)
{
	h->md = EVP_MD_fetch(NULL, "SHA1", NULL);
	h->ctx = EVP_MD_CTX_new();
	return h->md && h->ctx ? 0 : -1;
}

static void hasher_free(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
}

static int sha1(struct hasher *h, const void *p, size_t n, uint8_t md[20])
{
	unsigned int l = 0;

	if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, md, &l) != 1)
		return -1;
	return l == 20 ? 0 : -1;
}

/* ---- drand48 (Perl's own, since 5.20) ---- */

#define RAND48_MASK ((UINT64_C(1) << 48) - 1)

void drp_razor_srand48(struct drp_razor_rand48 *r, uint32_t seed)
{
	r->x = ((uint64_t)seed << 16 | 0x330E) & RAND48_MASK;
}

double drp_razor_drand48(struct drp_razor_rand48 *r)
{
	r->x = (UINT64_C(0x5DEECE66D) * r->x + 0xB) & RAND48_MASK;
	return ldexp((double)r->x, -48);
}

/* ---- ep4 ---- */

/* srand()'s view of a string: grok_number, and UV_MAX for anything that
 * is not a plain (possibly fractional) decimal number. */
static uint32_t srand_seed(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	uint64_t v = 0;
	int over = 0;

	while (i < n && pl_space((uint8_t)s[i]))
		i++;
	if (i < n && s[i] == '+')
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (v > (UINT64_MAX - 9) / 10)
			over = 1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	while (i < n && pl_space((uint8_t)s[i]))
		i++;
	if (i != n || digits == 0 || over)
		v = UINT64_MAX;
	return (uint32_t)v;
}

/* chr()'s view of a string: Perl's numeric prefix.  -1 for Inf/NaN
 * (chr dies), 256 for anything wider than a byte. */
static int chr_value(const char *s, size_t n)
{
	char num[64];
	size_t i = 0, k = 0;
	double v;

	while (i < n && pl_space((uint8_t)s[i]))
		i++;
	if (i < n && s[i] == '+')
		i++;
	if (n - i >= 3 && (!strncasecmp(s + i, "inf", 3) || !strncasecmp(s + i, "nan", 3)))
		return -1;
	while (i < n && k < sizeof(num) - 8 && s[i] >= '0' && s[i] <= '9')
		num[k++] = s[i++];
	if (i < n && s[i] == '.') {
		num[k++] = s[i++];
		while (i < n && k < sizeof(num) - 8 && s[i] >= '0' && s[i] <= '9')
			num[k++] = s[i++];
	}
	if (k > 0 && i + 1 < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1, k0 = k;

		num[k++] = 'e';
		if (s[j] == '+' || s[j] == '-')
			num[k++] = s[j++];
		if (j < n && s[j] >= '0' && s[j] <= '9') {
			while (j < n && k < sizeof(num) - 1 && s[j] >= '0' && s[j] <= '9')
				num[k++] = s[j++];
		} else {
			k = k0;
		}
	}
	num[k] = 0;
	if (k == 0 || (k == 1 && num[0] == '.'))
		return 0;
	v = strtod(num, NULL);
	if (!(v < 256.0))
		return 256;
	return (int)v;
}

int drp_razor_ep4_parse(const char *ep4, struct drp_razor_ep4 *o, char *err, size_t errlen)
{
	const char *dash, *sep, *p;
	size_t seedlen, seplen, nel = 0, i;
	struct {
		const char *p;
		size_t n;
	} el[sizeof(o->sep)];
	int wide = 0;

	memset(o, 0, sizeof(*o));
	if (ep4 == NULL)
		ep4 = DRP_RAZOR_DEFAULT_EP4;
	dash = strchr(ep4, '-');
	if (dash == NULL)
		return 0;
	seedlen = (size_t)(dash - ep4);
	sep = dash + 1;
	seplen = strlen(sep);
	/* vr4_signature: `unless ($seed && $separator)` */
	if (seedlen == 0 || (seedlen == 1 && ep4[0] == '0') || seplen == 0 ||
	    (seplen == 1 && sep[0] == '0'))
		return 0;
	o->seed = srand_seed(ep4, seedlen);
	/* encode_separator: split /-/ (trailing empty fields dropped), or the
	 * whole string when that leaves nothing; chr() of each */
	for (p = sep;;) {
		const char *d = strchr(p, '-');
		size_t n = d ? (size_t)(d - p) : strlen(p);

		if (nel == sizeof(o->sep)) {
			snprintf(err, errlen, "razor: ep4 separator too long");
			return -1;
		}
		el[nel].p = p;
		el[nel].n = n;
		nel++;
		if (d == NULL)
			break;
		p = d + 1;
	}
	while (nel > 0 && el[nel - 1].n == 0)
		nel--;
	if (nel == 0) {
		el[0].p = sep;
		el[0].n = seplen;
		nel = 1;
	}
	for (i = 0; i < nel; i++) {
		int v = chr_value(el[i].p, el[i].n);

		if (v < 0) {
			snprintf(err, errlen, "razor: bad ep4 separator '%s'", sep);
			return -1;
		}
		if (v > 255)
			wide = 1;
		else
			o->sep[i] = (uint8_t)v;
	}
	o->seplen = wide ? 0 : nel;
	/* `encode_separator(...) || encode_separator("10")` */
	if (o->seplen == 1 && o->sep[0] == '0')
		o->sep[0] = '\n';
	for (i = 0; i < o->seplen; i++)
		if (o->sep[i] != 0 && strchr("\\^$.|?*+()[{", o->sep[i]) != NULL) {
			snprintf(err, errlen, "razor: ep4 separator is a regex metacharacter");
			return -1;
		}
	o->ok = 1;
	return 0;
}

/* ---- VR4: Ephemeral ---- */

struct field {
	size_t off, len;
};

struct fields {
	struct field *v;
	size_t n, cap;
	struct field local[256];
};

static int add_field(struct fields *f, size_t off, size_t len)
{
	if (f->n == f->cap) {
		size_t nc = f->cap * 2;
		struct field *nv;

		if (f->v == f->local) {
			nv = malloc(nc * sizeof(*nv));
			if (nv)
				memcpy(nv, f->local, f->n * sizeof(*nv));
		} else {
			nv = realloc(f->v, nc * sizeof(*nv));
		}
		if (nv == NULL)
			return -1;
		f->v = nv;
		f->cap = nc;
	}
	f->v[f->n].off = off;
	f->v[f->n].len = len;
	f->n++;
	return 0;
}

/* Perl `split /SEP/, $text` with a literal separator. */
static int split_fields(const uint8_t *t, size_t n, const struct drp_razor_ep4 *e, struct fields *f)
{
	size_t s = 0;

	if (n == 0)
		return 0;
	if (e->seplen == 0)
		return add_field(f, 0, n);
	for (;;) {
		const uint8_t *m = e->seplen == 1 ? memchr(t + s, e->sep[0], n - s)
		                                  : drp_memmem(t + s, n - s, e->sep, e->seplen);

		if (m == NULL)
			break;
		if (add_field(f, s, (size_t)(m - t) - s) < 0)
			return -1;
		s = (size_t)(m - t) + e->seplen;
	}
	if (add_field(f, s, n - s) < 0)
		return -1;
	while (f->n > 0 && f->v[f->n - 1].len == 0)
		f->n--;
	return 0;
}

struct lines {
	const uint8_t *t;
	const struct fields *f;
};

static int line_exists(const struct lines *l, long long i)
{
	return i >= 0 && (size_t)i < l->f->n;
}

static size_t line_len(const struct lines *l, long long i)
{
	return line_exists(l, i) ? l->f->v[i].len : 0;
}

static const uint8_t *line_ptr(const struct lines *l, long long i)
{
	return l->t + l->f->v[i].off;
}

/* Perl truth of element i (undef, "" and "0" are false). */
static int line_true(const struct lines *l, long long i)
{
	size_t n;

	if (!line_exists(l, i))
		return 0;
	n = l->f->v[i].len;
	return n > 1 || (n == 1 && line_ptr(l, i)[0] != '0');
}

/* substr($line, off, len) with Perl's rules (off >= 0); has_len = 0 for
 * the two-argument form. */
static int append_substr(struct drp_buf *b, const struct lines *l, long long i, long long off,
                         long long len, int has_len)
{
	long long sl = (long long)line_len(l, i), end;

	if (!line_exists(l, i) || off > sl)
		return 0;
	if (!has_len)
		end = sl;
	else if (len >= 0)
		end = off + len < sl ? off + len : sl;
	else
		end = sl + len;
	if (end <= off)
		return 0;
	return drp_buf_append(b, line_ptr(l, i) + off, (size_t)(end - off));
}

/* Ephemeral::picksection, appended to b. */
static int picksection(struct drp_buf *b, const struct lines *l, long long sline, long long eline,
                       long long so, long long eo)
{
	long long x = 0, sc = 0, sl = 0, ec = 0, el = 0, i;

	for (i = sline; i <= eline; i++) {
		long long len;

		if (!line_true(l, i))
			continue;
		len = (long long)line_len(l, i);
		x += len;
		if (x > so && sc == 0) {
			sc = len - (x - so);
			sl = i;
		}
		if (x > eo) {
			ec = len - (x - eo);
			el = i;
		}
		if (ec)
			break;
	}
	if (sc < 0)
		sc = 0;
	if (ec < 0)
		ec = 0;
	if (sl == el) {
		if (!line_true(l, sl))
			return 0;
		return append_substr(b, l, sl, sc, ec - sc + 1, 1);
	}
	if (append_substr(b, l, sl, sc, 0, 0) < 0)
		return -1;
	for (i = sl + 1; i <= el - 1; i++)
		if (line_exists(l, i) && drp_buf_append(b, line_ptr(l, i), line_len(l, i)) < 0)
			return -1;
	return append_substr(b, l, el, 0, ec, 1);
}

static int all_space(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!pl_space(p[i]))
			return 0;
	return 1;
}

static int vr4(const uint8_t *text, size_t len, const struct drp_razor_ep4 *e,
               char out[DRP_RAZOR_SIG_MAX + 1], struct hasher *hs)
{
	struct fields f;
	struct lines l;
	struct drp_razor_rand48 r;
	struct drp_buf sec;
	double ssize = 100.0 / 6, rel[6], ro1[2], ro2[2];
	long long line[6], l1 = 0, l2 = 0, off1[2], off2[2], i;
	size_t a, n;
	uint8_t md[20];
	int rc = -1;

	f.v = f.local;
	f.n = 0;
	f.cap = sizeof(f.local) / sizeof(f.local[0]);
	drp_buf_init(&sec);
	if (split_fields(text, len, e, &f) < 0)
		goto out;
	l.t = text;
	l.f = &f;
	n = f.n;
	drp_razor_srand48(&r, e->seed);
	for (i = 0; i < 6; i++) {
		rel[i] = ssize * drp_razor_drand48(&r) + (double)i * ssize;
		line[i] = (long long)((rel[i] * (double)n) / 100);
	}
	for (i = 0; i < 2; i++)
		ro1[i] = 50 * drp_razor_drand48(&r) + (double)(i * 50);
	for (i = 0; i < 2; i++)
		ro2[i] = 50 * drp_razor_drand48(&r) + (double)(i * 50);
	for (i = line[1]; i <= line[2]; i++)
		if (line_true(&l, i))
			l1 += (long long)line_len(&l, i);
	for (i = line[3]; i <= line[4]; i++)
		if (line_true(&l, i))
			l2 += (long long)line_len(&l, i);
	for (i = 0; i < 2; i++) {
		off1[i] = (long long)((ro1[i] * (double)l1) / 100);
		off2[i] = (long long)((ro2[i] * (double)l2) / 100);
	}
	if (picksection(&sec, &l, line[1], line[2], off1[0], off1[1]) < 0)
		goto out;
	a = sec.len;
	if (picksection(&sec, &l, line[3], line[4], off2[0], off2[1]) < 0)
		goto out;
	if (sec.len > 128) {
		/* both sections whitespace-only: both become "" (after measuring) */
		if (a > 0 && sec.len > a && all_space(sec.p, sec.len))
			rc = sha1(hs, "", 0, md);
		else
			rc = sha1(hs, sec.p, sec.len, md);
	} else {
		rc = sha1(hs, text, len, md);
	}
	if (rc == 0)
		drp_razor_b64_digest(md, 40, out);
out:
	if (f.v != f.local)
		free(f.v);
	drp_buf_free(&sec);
	return rc;
}

/* ---- VR8: Whiplash ---- */

/*
 * Whiplash works on a decoded copy of the text.  When decoding changes
 * nothing (the usual case) the original bytes are used as they are;
 * otherwise the copy is held as 16-bit characters, since `&#NNN;` can
 * produce characters up to 999, and one above 255 turns the whole copy
 * into a Perl character string ("wide"), which changes \s, lc and /i.
 */
struct wtext {
	const uint8_t *p8;   /* the text itself, or NULL */
	const uint16_t *p16; /* the decoded copy */
	size_t n;
	int wide;
	uint16_t *own;
};

static inline unsigned ch(const struct wtext *t, size_t i)
{
	return t->p8 ? t->p8[i] : t->p16[i];
}

static int wspace(unsigned c, int wide)
{
	return pl_space(c) || (wide && (c == 0x85 || c == 0xA0));
}

static uint16_t wlc(unsigned c, int wide)
{
	if (c >= 'A' && c <= 'Z')
		return (uint16_t)(c + 32);
	if (wide) {
		if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
			return (uint16_t)(c + 32);
		if (c == 0x178) /* the one character above 255 whose lower case is not */
			return 0xFF;
	}
	return (uint16_t)c;
}

/* /i match of c against a lowercase ASCII letter or symbol. */
static int wci(unsigned c, char lit, int wide)
{
	if (wlc(c, wide) == (uint8_t)lit)
		return 1;
	return wide && lit == 's' && c == 0x17F; /* LATIN SMALL LETTER LONG S */
}

static int wci_at(const struct wtext *t, size_t i, size_t end, const char *lit)
{
	size_t k;

	for (k = 0; lit[k]; k++)
		if (i + k >= end || !wci(ch(t, i + k), lit[k], t->wide))
			return 0;
	return 1;
}

static int hexv(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)c - '0';
	if (c >= 'a' && c <= 'f')
		return (int)c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return (int)c - 'A' + 10;
	return -1;
}

static int isdig(unsigned c)
{
	return c >= '0' && c <= '9';
}

/* s/%([0-9A-Fa-f]{2})/chr(hex($1))/eg, then s/&#([0-9]{2,3});/chr($1)/eg */
static int wdecode(const uint8_t *s, size_t n, struct wtext *t)
{
	size_t i, o = 0, r;
	uint16_t *p;
	const uint8_t *c = s, *end = s + n;
	int pct = 0;

	memset(t, 0, sizeof(*t));
	for (c = s; (c = memchr(c, '%', (size_t)(end - c))) != NULL; c++)
		if (end - c > 2 && hexv(c[1]) >= 0 && hexv(c[2]) >= 0) {
			pct = 1;
			break;
		}
	c = s;
	while ((c = memchr(c, '&', (size_t)(end - c))) != NULL && (c + 1 >= end || c[1] != '#'))
		c++;
	if (!pct && c == NULL) {
		t->p8 = s; /* nothing to decode */
		t->n = n;
		return 0;
	}
	t->own = p = malloc((n + 1) * sizeof(*p));
	if (p == NULL)
		return -1;
	for (i = 0; i < n;) {
		int h, l;

		if (s[i] == '%' && i + 2 < n && (h = hexv(s[i + 1])) >= 0 &&
		    (l = hexv(s[i + 2])) >= 0) {
			p[o++] = (uint16_t)(h << 4 | l);
			i += 3;
		} else {
			p[o++] = s[i++];
		}
	}
	for (i = 0, r = 0; r < o;) {
		if (p[r] == '&' && r + 4 < o && p[r + 1] == '#' && isdig(p[r + 2]) &&
		    isdig(p[r + 3])) {
			unsigned v = (unsigned)(p[r + 2] - '0') * 10 + (unsigned)(p[r + 3] - '0');

			if (isdig(p[r + 4]) && r + 5 < o && p[r + 5] == ';') {
				p[i++] = (uint16_t)(v * 10 + (unsigned)(p[r + 4] - '0'));
				if (p[i - 1] > 255)
					t->wide = 1;
				r += 6;
				continue;
			}
			if (p[r + 4] == ';') {
				p[i++] = (uint16_t)v;
				r += 5;
				continue;
			}
		}
		p[i++] = p[r++];
	}
	t->p16 = p;
	t->n = i;
	return 0;
}

struct hosts {
	uint16_t *arena;
	size_t alen, acap;
	struct field *v;
	size_t n, cap;
	size_t *set; /* open addressing over v (index + 1), for host_known */
	size_t setcap;
};

static size_t host_hash(const uint16_t *p, size_t n)
{
	size_t h = 14695981039346656037u, i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return h;
}

/* Put host i into the set; grows it to keep the load under one half. */
static int set_put(struct hosts *h, size_t i)
{
	size_t k;

	if (2 * (h->n + 1) > h->setcap) {
		size_t nc = h->setcap ? h->setcap * 2 : 64, j;
		size_t *ns = calloc(nc, sizeof(*ns));

		if (ns == NULL)
			return -1;
		for (j = 0; j < h->setcap; j++)
			if (h->set[j]) {
				const struct field *f = &h->v[h->set[j] - 1];

				for (k = host_hash(h->arena + f->off, f->len) & (nc - 1); ns[k];
				     k = (k + 1) & (nc - 1))
					;
				ns[k] = h->set[j];
			}
		free(h->set);
		h->set = ns;
		h->setcap = nc;
	}
	for (k = host_hash(h->arena + h->v[i].off, h->v[i].len) & (h->setcap - 1); h->set[k];
	     k = (k + 1) & (h->setcap - 1))
		;
	h->set[k] = i + 1;
	return 0;
}

/* Append a host of n characters; the characters are then written by the
 * caller at the returned position. */
static uint16_t *host_new(struct hosts *h, size_t n)
{
	uint16_t *p;

	if (h->alen + n > h->acap) {
		size_t nc = h->acap ? h->acap : 256;
		uint16_t *na;

		while (nc < h->alen + n)
			nc *= 2;
		na = realloc(h->arena, nc * sizeof(*na));
		if (na == NULL)
			return NULL;
		h->arena = na;
		h->acap = nc;
	}
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 16;
		struct field *nv = realloc(h->v, nc * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		h->v = nv;
		h->cap = nc;
	}
	p = h->arena + h->alen;
	h->v[h->n].off = h->alen;
	h->v[h->n].len = n;
	h->alen += n;
	h->n++;
	return p;
}

/* The reference's grep over all hosts so far, through a hash set; every
 * host (autolinks included) is entered with host_index() first. */
static int host_known(const struct hosts *h, const uint16_t *p, size_t n)
{
	size_t k;

	if (h->setcap == 0)
		return 0;
	for (k = host_hash(p, n) & (h->setcap - 1); h->set[k]; k = (k + 1) & (h->setcap - 1)) {
		const struct field *f = &h->v[h->set[k] - 1];

		if (f->len == n && !memcmp(h->arena + f->off, p, n * sizeof(*p)))
			return 1;
	}
	return 0;
}

/* Enter every host not yet in the set. */
static int host_index(struct hosts *h, size_t *indexed)
{
	for (; *indexed < h->n; (*indexed)++)
		if (set_put(h, *indexed) < 0)
			return -1;
	return 0;
}

/* `https?://?` at i (case-insensitive); the end of the match or 0. */
static size_t scheme_at(const struct wtext *t, size_t i)
{
	size_t n = t->n;

	if (i + 3 >= n || (ch(t, i + 1) | 0x20) != 't' || !wci_at(t, i, n, "http"))
		return 0;
	i += 4;
	if (i < n && wci(ch(t, i), 's', t->wide) && i + 1 < n && ch(t, i + 1) == ':')
		i++;
	if (i + 1 >= n || ch(t, i) != ':' || ch(t, i + 1) != '/')
		return 0;
	i += 2;
	if (i < n && ch(t, i) == '/')
		i++;
	return i;
}

/* href\s*=\s*"?https?://? at i: the end of the match or 0. */
static size_t href_at(const struct wtext *t, size_t i)
{
	size_t j, n = t->n;

	if (i + 3 >= n || (ch(t, i + 1) | 0x20) != 'r' || (ch(t, i + 2) | 0x20) != 'e' ||
	    (ch(t, i + 3) | 0x20) != 'f')
		return 0;
	for (j = i + 4; j < n && wspace(ch(t, j), t->wide); j++)
		;
	if (j >= n || ch(t, j) != '=')
		return 0;
	for (j++; j < n && wspace(ch(t, j), t->wide); j++)
		;
	if (j < n && ch(t, j) == '"')
		j++;
	return scheme_at(t, j);
}

struct scan {
	size_t last, rest, bare;
	int have_href, have_bare;
};

/* One position of scan_text; c is the character there, lower-cased. */
static int scan_at(const struct wtext *t, struct hosts *h, size_t j, unsigned c, struct scan *sc)
{
	size_t k, e, n = t->n;

	if (c == 'w') {
		uint16_t *dst;

		if (j == 0 || j + 4 >= n || (ch(t, j + 1) | 0x20) != 'w' ||
		    (ch(t, j + 2) | 0x20) != 'w' || ch(t, j + 3) == '\n' || j - 1 < sc->last ||
		    !wspace(ch(t, j - 1), t->wide))
			return 0;
		for (k = j + 4; k < n; k++) {
			unsigned d = ch(t, k);

			if (d == ' ' || d == '/' || d == '>' || d == '<' || d == '"' || d == '\r' ||
			    d == '\n')
				break;
		}
		if (k == j + 4)
			return 0;
		if ((dst = host_new(h, k - j)) == NULL)
			return -1;
		for (e = j; e < k; e++)
			*dst++ = (uint16_t)ch(t, e);
		sc->last = k;
	} else if (c == 'h' && !sc->have_href) {
		if ((e = href_at(t, j)) != 0) {
			sc->have_href = 1;
			sc->rest = e;
		} else if (!sc->have_bare && (e = scheme_at(t, j)) != 0) {
			sc->have_bare = 1;
			sc->bare = e;
		}
	}
	return 0;
}

#define BYTES8(b) (UINT64_C(0x0101010101010101) * (b))

/*
 * One pass for the autolinks (m|\s+(www.[^ /><"\r\n]+)|ig, collected
 * verbatim: a "www" right after a white space byte at or after the end of
 * the previous match) and the first URL (the first href="http... wins over
 * an earlier bare http).  Returns 1 with *rest / *href when there is a URL.
 * On plain bytes, eight at a time: only the w/W (and, until an href is
 * found, h/H) bytes are looked at; scan_at rechecks each candidate.
 */
static int scan_text(const struct wtext *t, struct hosts *h, size_t *rest, int *href)
{
	struct scan sc = {0, 0, 0, 0, 0};
	size_t j = 0, n = t->n;

	if (t->p8 != NULL) {
		for (; j + 8 <= n; j += 8) {
			uint64_t v, x, y, m;

			memcpy(&v, t->p8 + j, 8);
			v |= BYTES8(0x20);
			x = v ^ BYTES8('w');
			m = (x - BYTES8(1)) & ~x;
			if (!sc.have_href) {
				y = v ^ BYTES8('h');
				m |= (y - BYTES8(1)) & ~y;
			}
			m &= BYTES8(0x80);
			while (m) {
				size_t b = (size_t)__builtin_ctzll(m) / 8;

				if (scan_at(t, h, j + b, t->p8[j + b] | 0x20u, &sc) < 0)
					return -1;
				m &= m - 1;
			}
		}
	}
	for (; j < n; j++)
		if (scan_at(t, h, j, ch(t, j) | 0x20, &sc) < 0)
			return -1;
	*href = sc.have_href;
	*rest = sc.have_href ? sc.rest : sc.bare;
	return sc.have_href || sc.have_bare;
}

/* Memo of "first position >= from holding one of a set", for the scans
 * next_host repeats over ever shorter suffixes of the same text: [from, at)
 * holds no member; hit says whether the text has one at `at`. */
struct memo {
	size_t from, at;
	int valid, hit;
};

static size_t memo_find(struct memo *m, const struct wtext *w, size_t from, size_t end,
                        int (*in_set)(unsigned))
{
	size_t i;

	if (m->valid && from >= m->from && from <= m->at) {
		if (m->at >= end)
			return end;
		if (m->hit)
			return m->at;
		i = m->at;
	} else {
		m->from = from;
		i = from;
	}
	for (; i < end && !in_set(ch(w, i)); i++)
		;
	m->at = i;
	m->hit = i < end;
	m->valid = 1;
	return i;
}

static int term_href(unsigned c)
{
	return c == '>' || c == '"' || c == '/' || c == '?' || c == '<';
}

static int term_bare(unsigned c)
{
	return term_href(c) || c == '\n' || c == '\r';
}

static int is_at(unsigned c)
{
	return c == '@';
}

struct nh {
	struct memo term[2], at;
	uint16_t *buf;
	size_t cap;
};

/*
 * Whiplash::next_host on the text t[start, end): the host into st->buf
 * (lower case, without port and trailing dot), its length in *hn.  `first`
 * is the first call, whose text is really "a href = http://" (href) or
 * "http://" followed by t[start, end): both prefixes are stripped again at
 * once, leaving only the href flag for the terminators.
 */
static int next_host(struct nh *st, const struct wtext *w, size_t start, size_t end, int first,
                     int first_href, size_t *hn)
{
	size_t i = start, term, at, run, hs, k, o = 0;
	int inside = 0;
	uint16_t *out;

	if (first) {
		inside = first_href;
	} else {
		if (end - i >= 6 && ch(w, i) == 'a' && ch(w, i + 1) == ' ' && ch(w, i + 2) == 'h' &&
		    ch(w, i + 3) == 'r' && ch(w, i + 4) == 'e' && ch(w, i + 5) == 'f') {
			size_t j = i + 6;

			inside = 1;
			while (j < end && wspace(ch(w, j), w->wide))
				j++;
			if (j < end && ch(w, j) == '=') {
				for (j++; j < end && wspace(ch(w, j), w->wide); j++)
					;
				i = j;
			}
		}
		if (wci_at(w, i, end, "http://"))
			i += 7;
	}
	term = memo_find(&st->term[inside], w, i, end, inside ? term_href : term_bare);
	at = memo_find(&st->at, w, i, term, is_at);
	if (at < term)
		i = at + 1;
	/* s/\S+=//: only a '=' in the first run can change the host, which is
	 * that run (or nothing when the text starts with white space) */
	for (run = i; run < term && !wspace(ch(w, run), w->wide); run++)
		;
	hs = i;
	for (k = run; k > i + 1; k--)
		if (ch(w, k - 1) == '=') {
			hs = k;
			break;
		}
	if (run - hs > st->cap) {
		uint16_t *nb = realloc(st->buf, (run - hs) * sizeof(*nb));

		if (nb == NULL)
			return -1;
		st->buf = nb;
		st->cap = run - hs;
	}
	out = st->buf;
	for (k = hs; k < run; k++) {
		uint16_t c = wlc(ch(w, k), w->wide);

		if (c == '=')
			continue;
		if (c == ':')
			break;
		out[o++] = c;
	}
	if (o > 0 && out[o - 1] == '.')
		o--;
	*hn = o;
	return 0;
}

static int digits_dots(const uint16_t *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdig(p[i]) && p[i] != '.')
			return 0;
	return 1;
}

/* Whiplash::canonify: the first suffix of the list that fits. */
static void canonify(const uint16_t *p, size_t n, size_t *cs, size_t *cn, const char **lit)
{
	size_t s, k;

	*lit = NULL;
	for (s = 0; s < NSUFFIX; s++) {
		const char *suf = vr8_suffixes[s];
		size_t sl = strlen(suf), b;

		if (sl > n)
			continue;
		for (k = 0; k < sl; k++)
			if (p[n - sl + k] != (uint8_t)suf[k])
				break;
		if (k < sl)
			continue;
		if (suf[0] != '.') {
			*lit = suf;
			*cs = 0;
			*cn = sl;
			return;
		}
		b = n - sl;
		if (b == 0 || p[b - 1] == '.')
			continue;
		while (b > 0 && p[b - 1] != '.')
			b--;
		*cs = b;
		*cn = n - b;
		return;
	}
	*cs = 0;
	*cn = n;
}

/* Whether a text without '%' and '&' (so decoding changes nothing) holds
 * https?:/ anywhere; without one Whiplash finds no host. */
static int may_have_url(const uint8_t *t, size_t n)
{
	const uint8_t *c = t, *end = t + n;

	if (memchr(t, '%', n) != NULL || memchr(t, '&', n) != NULL)
		return 1;
	while ((c = memchr(c, ':', (size_t)(end - c))) != NULL) {
		size_t at = (size_t)(c - t);

		c++;
		if (at + 1 >= n || t[at + 1] != '/')
			continue;
		if (at >= 5 && (t[at - 1] | 0x20) == 's')
			at--;
		if (at >= 4 && (t[at - 4] | 0x20) == 'h' && (t[at - 3] | 0x20) == 't' &&
		    (t[at - 2] | 0x20) == 't' && (t[at - 1] | 0x20) == 'p')
			return 1;
	}
	return 0;
}

/* The leftmost "http://" (case-sensitive) in t[from, end), or end. */
static size_t find_http(const struct wtext *t, size_t from, size_t end)
{
	size_t k;

	for (k = from; k + 7 <= end; k++)
		if (ch(t, k) == 'h' && ch(t, k + 1) == 't' && ch(t, k + 2) == 't' &&
		    ch(t, k + 3) == 'p' && ch(t, k + 4) == ':' && ch(t, k + 5) == '/' &&
		    ch(t, k + 6) == '/')
			return k;
	return end;
}

/*
 * Whiplash::extract_hosts.  -1 on memory exhaustion.
 *
 * After the first URL the reference loops on m"http://(.*)$" (no /s, no
 * /m): the leftmost http:// of the last line (the line before a final "\n"
 * counts as the last), the first time over "a href = http://" + the rest
 * of the text.  When that rest is a single line, the match is the
 * prefix's own http://, i.e. the rest again.
 */
static int extract_hosts(const uint8_t *text, size_t len, struct hosts *h)
{
	struct wtext t;
	struct nh st;
	size_t rest = 0, start, end, lastnl, k;
	int href, found, first = 1, rc = -1;
	size_t indexed = 0;

	if (!may_have_url(text, len))
		return 0;
	if (wdecode(text, len, &t) < 0)
		return -1;
	memset(&st, 0, sizeof(st));
	found = scan_text(&t, h, &rest, &href);
	if (found < 0)
		goto out;
	if (!found) {
		h->n = 0; /* no URL: the autolinks are discarded too */
		rc = 0;
		goto out;
	}
	end = t.n;
	k = (t.n > 0 && ch(&t, t.n - 1) == '\n') ? t.n - 1 : t.n;
	for (lastnl = 0; k > 0; k--)
		if (ch(&t, k - 1) == '\n') {
			lastnl = k;
			break;
		}
	start = rest;
	for (;;) {
		size_t hn, cs, cn, j;
		const char *lit;
		uint16_t litbuf[16];
		const uint16_t *cp;

		if (next_host(&st, &t, start, end, first, href, &hn) < 0)
			goto out;
		if (hn == 0 || (hn == 1 && st.buf[0] == '0'))
			break;
		if (digits_dots(st.buf, hn)) {
			cs = 0;
			cn = hn;
			lit = NULL;
		} else {
			canonify(st.buf, hn, &cs, &cn, &lit);
		}
		if (lit) {
			for (j = 0; j < cn; j++)
				litbuf[j] = (uint8_t)lit[j];
			cp = litbuf;
		} else {
			cp = st.buf + cs;
		}
		if (host_index(h, &indexed) < 0)
			goto out;
		if (!host_known(h, cp, cn) && cn > 1) {
			uint16_t *dst;

			for (j = 0; j < cn && cp[j] != '.'; j++)
				;
			if (j < cn) {
				if ((dst = host_new(h, cn)) == NULL)
					goto out;
				memcpy(dst, cp, cn * sizeof(*cp));
			}
		}
		if (first && lastnl <= rest) {
			k = rest; /* the prefix's own http:// */
		} else {
			size_t from = start > lastnl ? start : lastnl;

			k = find_http(&t, from, end);
			if (k + 7 > end)
				break;
			k += 7;
		}
		first = 0;
		start = k;
		if (t.n > 0 && ch(&t, t.n - 1) == '\n')
			end = t.n - 1;
	}
	rc = 0;
out:
	free(t.own);
	free(st.buf);
	return rc;
}

static int vr8(const uint8_t *text, size_t len, char (*out)[DRP_RAZOR_SIG_MAX + 1], size_t max,
               struct hasher *hs)
{
	struct hosts h;
	char cl[32];
	uint8_t lmd[20], md[20], sig[8];
	size_t i, k;
	int rc = -1, ncl;

	if (len == 0 || (len == 1 && text[0] == '0'))
		return 0;
	memset(&h, 0, sizeof(h));
	rc = -2;
	if (extract_hosts(text, len, &h) < 0)
		goto out;
	ncl = snprintf(cl, sizeof(cl), "%zu", len - len % 100);
	if (h.n > 0 && sha1(hs, cl, (size_t)ncl, lmd) < 0)
		goto out;
	for (i = 0; i < h.n; i++) {
		const uint16_t *p = h.arena + h.v[i].off;
		size_t n = h.v[i].len;
		uint8_t small[256], *b = n <= sizeof(small) ? small : malloc(n);

		if (b == NULL)
			goto out;
		for (k = 0; k < n && p[k] <= 255; k++)
			b[k] = (uint8_t)p[k];
		if (k < n) {
			/* Digest::SHA dies: "Wide character in subroutine entry" */
			if (b != small)
				free(b);
			rc = -1;
			goto out;
		}
		k = (size_t)sha1(hs, b, n, md);
		if (b != small)
			free(b);
		if (k != 0)
			goto out;
		memcpy(sig, md, 6);
		memcpy(sig + 6, lmd, 2);
		if (i < max)
			drp_razor_b64_digest(sig, 16, out[i]);
	}
	rc = (int)h.n;
out:
	free(h.arena);
	free(h.v);
	free(h.set);
	return rc;
}

int drp_razor_vr4(const uint8_t *text, size_t len, const struct drp_razor_ep4 *e,
                  char out[DRP_RAZOR_SIG_MAX + 1])
{
	struct hasher hs;
	int rc = -1;

	if (hasher_init(&hs) == 0)
		rc = vr4(text, len, e, out, &hs);
	hasher_free(&hs);
	return rc;
}

int drp_razor_vr8(const uint8_t *text, size_t len, char (*out)[DRP_RAZOR_SIG_MAX + 1], size_t max)
{
	struct hasher hs;
	int rc = -2;

	if (hasher_init(&hs) == 0)
		rc = vr8(text, len, out, max, &hs);
	hasher_free(&hs);
	return rc;
}

/* ---- the signature list ---- */

static int sig_push(struct drp_razor_sigs *s, size_t part, int engine, const char *sig)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		struct drp_razor_sig *nv = realloc(s->v, nc * sizeof(*nv));

		if (nv == NULL)
			return -1;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n].part = part;
	s->v[s->n].engine = engine;
	memcpy(s->v[s->n].s, sig, strlen(sig) + 1); /* at most DRP_RAZOR_SIG_MAX */
	s->n++;
	return 0;
}

int drp_razor_sign(const struct drp_razor_msg *m, unsigned engines, const char *ep4,
                   struct drp_razor_sigs *out, char *err, size_t errlen)
{
	struct drp_razor_ep4 e;
	struct hasher hs;
	size_t i, n0 = out->n;
	char(*v8)[DRP_RAZOR_SIG_MAX + 1] = NULL;
	size_t v8cap = 0;
	int rc;

	memset(&e, 0, sizeof(e));
	if ((engines & DRP_RAZOR_E4) && drp_razor_ep4_parse(ep4, &e, err, errlen) < 0)
		return -1;
	if (hasher_init(&hs) < 0) {
		hasher_free(&hs);
		snprintf(err, errlen, "razor: SHA-1 unavailable");
		return -1;
	}
	for (i = 0; i < m->nparts; i++) {
		const struct drp_razor_part *pt = &m->parts[i];

		if (pt->skipped)
			continue;
		if ((engines & DRP_RAZOR_E4) && e.ok) {
			char s[DRP_RAZOR_SIG_MAX + 1];

			if (vr4(pt->vr4.p, pt->vr4.len, &e, s, &hs) < 0 ||
			    sig_push(out, i, 4, s) < 0)
				goto oom;
		}
		if (engines & DRP_RAZOR_E8) {
			int k, j;

			for (;;) {
				k = vr8(pt->vr8.p, pt->vr8.len, v8, v8cap, &hs);
				if (k == -1) {
					snprintf(err, errlen,
					         "razor: VR8 host with a character above 255 "
					         "(razor-agents dies on this message)");
					goto fail;
				}
				if (k < 0)
					goto oom;
				if ((size_t)k <= v8cap)
					break;
				free(v8);
				v8cap = (size_t)k;
				v8 = malloc(v8cap * sizeof(*v8));
				if (v8 == NULL)
					goto oom;
			}
			for (j = 0; j < k; j++)
				if (sig_push(out, i, 8, v8[j]) < 0)
					goto oom;
		}
	}
	free(v8);
	hasher_free(&hs);
	return (int)(out->n - n0);
oom:
	snprintf(err, errlen, "razor: out of memory");
fail:
	free(v8);
	hasher_free(&hs);
	out->n = n0;
	rc = -1;
	return rc;
}

void drp_razor_sigs_free(struct drp_razor_sigs *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
