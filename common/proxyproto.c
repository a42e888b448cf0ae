/*
 * proxyproto.c -- PROXY protocol v1 and v2 headers: a state-free parser
 * of the received prefix and the two builders (see proxyproto.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"
#include "tls.h"

/* The SNI we put in AUTHORITY is a TLS host name: PROXY_V2_MAX must hold one. */
_Static_assert(PROXY_AUTHORITY_MAX >= TLS_MAX_HOSTNAME, "AUTHORITY TLV holds an SNI");
_Static_assert(PROXY_V2_MAX <= PROXY_PARSE_MAX, "what we build we can parse");

/* Spec 2.1 and 2.2: what a header starts with. */
static const uint8_t proxy_v1_sig[] = { 'P', 'R', 'O', 'X', 'Y', ' ' };
static const uint8_t proxy_v2_sig[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define V1_SIG_BYTES	sizeof(proxy_v1_sig)
#define V2_SIG_BYTES	sizeof(proxy_v2_sig)

/* v2 fixed-part offsets and the values of its two small fields (spec 2.2). */
#define V2_VER_CMD	12u	/* high nibble version, low nibble command */
#define V2_FAM		13u	/* high nibble family, low nibble transport */
#define V2_LEN		14u	/* 16-bit block length, network order */
#define V2_VERSION	0x2u
#define V2_CMD_LOCAL	0x0u
#define V2_CMD_PROXY	0x1u
#define V2_UNSPEC	0x00u
#define V2_TCP4		0x11u
#define V2_UDP4		0x12u
#define V2_TCP6		0x21u
#define V2_UDP6		0x22u
#define V2_UNIX_STREAM	0x31u
#define V2_UNIX_DGRAM	0x32u

/* v1 fields after "PROXY ": protocol, src, dst, sport, dport. */
#define V1_FIELDS	5u
#define V1_IPV4_MAX	15u	/* "255.255.255.255" */
#define V1_IPV6_MAX	45u	/* INET6_ADDRSTRLEN less the NUL: "ffff:...:255.255.255.255" */
#define V1_PORT_DIGITS	5u	/* "65535" */

static const char WHY_NOT_PROXY[] = "not a PROXY protocol header";
static const char WHY_TOO_BIG[] = "PROXY header longer than the limit";

/* A token of the v1 line: where it starts and how long it is. */
struct v1_field {
	const uint8_t *p;
	size_t n;
};

static bool
v1_is(const struct v1_field *f, const char *word)
{
	return f->n == strlen(word) && memcmp(f->p, word, f->n) == 0;
}

/* A decimal 0..max without leading zeros (spec 2.1: "Heading zeroes are not permitted"). */
static bool
v1_number(const uint8_t *s, size_t n, size_t digits, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;

	if (n == 0 || n > digits || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Exactly four decimal 0..255 joined by single dots. */
static bool
v1_ipv4(const struct v1_field *f, struct in_addr *out)
{
	uint8_t b[4];
	size_t at = 0, i;
	uint32_t v;

	if (f->n > V1_IPV4_MAX)
		return false;
	for (i = 0; i < 4; i++) {
		size_t start = at;

		while (at < f->n && f->p[at] != '.')
			at++;
		if (!v1_number(f->p + start, at - start, 3, 255, &v))
			return false;
		b[i] = (uint8_t)v;
		if (i < 3 && at++ == f->n)	/* a dot must follow the first three */
			return false;
	}
	if (at != f->n)
		return false;
	memcpy(&out->s_addr, b, sizeof(b));
	return true;
}

static bool
v1_ipv6(const struct v1_field *f, struct in6_addr *out)
{
	char text[V1_IPV6_MAX + 1];

	if (f->n > V1_IPV6_MAX || memchr(f->p, '\0', f->n) != NULL)
		return false;
	memcpy(text, f->p, f->n);
	text[f->n] = '\0';
	return inet_pton(AF_INET6, text, out) == 1;
}

/* An IPv4 (4-byte ip) or IPv6 (16-byte ip) address with its port, in host order. */
static void
proxy_addr_set(struct addr *a, int family, const void *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->u.in.sin_family = AF_INET;
		memcpy(&a->u.in.sin_addr, ip, 4);
		a->u.in.sin_port = htons(port);
		a->len = sizeof(a->u.in);
	} else {
		a->u.in6.sin6_family = AF_INET6;
		memcpy(&a->u.in6.sin6_addr, ip, 16);
		a->u.in6.sin6_port = htons(port);
		a->len = sizeof(a->u.in6);
	}
}

/*
 * Splits the line between "PROXY " and CR on single spaces into at most
 * V1_FIELDS fields. Returns their count, or -1 on an empty field (two
 * spaces, or one at an end) or one field too many.
 */
static int
v1_split(const uint8_t *p, const uint8_t *end, struct v1_field f[V1_FIELDS])
{
	int count = 0;

	for (;;) {
		const uint8_t *sp = memchr(p, ' ', (size_t)(end - p));
		const uint8_t *stop = sp != NULL ? sp : end;

		if (stop == p || count == (int)V1_FIELDS)
			return -1;
		f[count].p = p;
		f[count++].n = (size_t)(stop - p);
		if (sp == NULL)
			return count;
		p = sp + 1;
	}
}

/* The line between "PROXY " and its CR. 0 or -EPROTO. */
static int
v1_line(const uint8_t *p, const uint8_t *end, struct proxy_info *info, const char **why)
{
	struct v1_field f[V1_FIELDS];
	const uint8_t *sp = memchr(p, ' ', (size_t)(end - p));
	struct v1_field proto = { p, (size_t)((sp != NULL ? sp : end) - p) };
	union { struct in_addr v4; struct in6_addr v6; } src, dst;
	uint32_t sport, dport;
	bool v6;

	info->version = 1;
	/* Spec 2.1: after UNKNOWN the receiver ignores everything up to the CRLF. */
	if (v1_is(&proto, "UNKNOWN")) {
		info->command = PROXY_CMD_UNKNOWN;
		return 0;
	}
	if (!v1_is(&proto, "TCP4") && !v1_is(&proto, "TCP6")) {
		*why = "v1: protocol is not TCP4, TCP6 or UNKNOWN";
		return -EPROTO;
	}
	if (v1_split(p, end, f) != (int)V1_FIELDS) {
		*why = "v1: not 4 fields after the protocol, each after one space";
		return -EPROTO;
	}
	v6 = v1_is(&proto, "TCP6");
	if (v6 ? !v1_ipv6(&f[1], &src.v6) : !v1_ipv4(&f[1], &src.v4)) {
		*why = v6 ? "v1: bad IPv6 source address" : "v1: bad IPv4 source address";
		return -EPROTO;
	}
	if (v6 ? !v1_ipv6(&f[2], &dst.v6) : !v1_ipv4(&f[2], &dst.v4)) {
		*why = v6 ? "v1: bad IPv6 destination address" : "v1: bad IPv4 destination address";
		return -EPROTO;
	}
	if (!v1_number(f[3].p, f[3].n, V1_PORT_DIGITS, UINT16_MAX, &sport) ||
	    !v1_number(f[4].p, f[4].n, V1_PORT_DIGITS, UINT16_MAX, &dport)) {
		*why = "v1: port not a decimal 0..65535 without leading zeros";
		return -EPROTO;
	}
	info->command = PROXY_CMD_PROXY;
	proxy_addr_set(&info->src, v6 ? AF_INET6 : AF_INET, &src, (uint16_t)sport);
	proxy_addr_set(&info->dst, v6 ? AF_INET6 : AF_INET, &dst, (uint16_t)dport);
	return 0;
}

/* v1, n bytes in, "PROXY " matched so far. Spec 2.1: CRLF within 107 bytes, no lone CR or LF. */
static ssize_t
v1_parse(const uint8_t *buf, size_t n, struct proxy_info *info, const char **why)
{
	size_t scan = n < PROXY_V1_MAX ? n : PROXY_V1_MAX;
	int rc;

	for (size_t i = V1_SIG_BYTES; i < scan; i++) {
		if (buf[i] == '\n') {
			*why = "v1: LF without CR";
			return -EPROTO;
		}
		if (buf[i] != '\r')
			continue;
		if (i + 2 > PROXY_V1_MAX)
			break;
		if (i + 1 == n)
			return -EAGAIN;
		if (buf[i + 1] != '\n') {
			*why = "v1: CR without LF";
			return -EPROTO;
		}
		rc = v1_line(buf + V1_SIG_BYTES, buf + i, info, why);
		return rc < 0 ? rc : (ssize_t)(i + 2);
	}
	if (n < PROXY_V1_MAX)
		return -EAGAIN;
	*why = "v1: no CRLF within 107 bytes";
	return -EPROTO;
}

/* ver_cmd and fam, checked as soon as each is in. 0, -EAGAIN or -EPROTO. */
static int
v2_fixed(const uint8_t *buf, size_t n, const char **why)
{
	uint8_t cmd;

	if (n <= V2_VER_CMD)
		return -EAGAIN;
	if (buf[V2_VER_CMD] >> 4 != V2_VERSION) {
		*why = "v2: version is not 2";
		return -EPROTO;
	}
	cmd = buf[V2_VER_CMD] & 0x0f;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY) {
		*why = "v2: command is neither LOCAL nor PROXY";
		return -EPROTO;
	}
	if (n <= V2_FAM)
		return -EAGAIN;
	switch (buf[V2_FAM]) {
	case V2_UNSPEC:
	case V2_TCP4:
	case V2_TCP6:
		return 0;
	case V2_UDP4:
	case V2_UDP6:
	case V2_UNIX_STREAM:
	case V2_UNIX_DGRAM:
		/* Spec 2.2: LOCAL discards the protocol block, family included. */
		if (cmd == V2_CMD_LOCAL)
			return 0;
		*why = buf[V2_FAM] >> 4 == V2_UNIX_STREAM >> 4 ?
		    "v2: AF_UNIX is not supported" : "v2: DGRAM transport is not supported";
		return -EPROTO;
	default:	/* spec 2.2: other values must be rejected as invalid */
		*why = "v2: unknown address family or transport";
		return -EPROTO;
	}
}

/* The TLVs in buf[at, end): each must end inside the block. 0 or -EPROTO. */
static int
v2_tlvs(const uint8_t *buf, size_t at, size_t end, struct proxy_info *info,
    const char **why)
{
	uint32_t *off, *len;
	size_t vlen;

	while (at < end) {
		if (end - at < PROXY_V2_TLV_HEADER) {
			*why = "v2: TLV header past the end of the block";
			return -EPROTO;
		}
		vlen = (size_t)buf[at + 1] << 8 | buf[at + 2];
		if (vlen > end - at - PROXY_V2_TLV_HEADER) {
			*why = "v2: TLV value past the end of the block";
			return -EPROTO;
		}
		off = len = NULL;
		if (buf[at] == PROXY_TLV_AUTHORITY) {
			off = &info->authority_off;
			len = &info->authority_len;
		} else if (buf[at] == PROXY_TLV_ALPN) {
			off = &info->alpn_off;
			len = &info->alpn_len;
		}
		if (off != NULL) {
			if (*off != 0) {
				*why = "v2: a second AUTHORITY or ALPN TLV";
				return -EPROTO;
			}
			*off = (uint32_t)(at + PROXY_V2_TLV_HEADER);
			*len = (uint32_t)vlen;
		}
		at += PROXY_V2_TLV_HEADER + vlen;
	}
	return 0;
}

/* v2, n bytes in (at most max), the signature's prefix matched so far. */
static ssize_t
v2_parse(const uint8_t *buf, size_t n, size_t max, struct proxy_info *info,
    const char **why)
{
	size_t total, need;
	const uint8_t *a;
	int rc;

	if (n < V2_SIG_BYTES)
		return -EAGAIN;
	if ((rc = v2_fixed(buf, n, why)) != 0)
		return rc;
	if (n < PROXY_V2_HEADER)
		return -EAGAIN;
	total = PROXY_V2_HEADER + ((size_t)buf[V2_LEN] << 8 | buf[V2_LEN + 1]);
	if (total > max) {
		*why = WHY_TOO_BIG;
		return -E2BIG;
	}
	need = buf[V2_FAM] == V2_TCP4 ? PROXY_V2_INET_BYTES :
	    buf[V2_FAM] == V2_TCP6 ? PROXY_V2_INET6_BYTES : 0;
	if ((buf[V2_VER_CMD] & 0x0f) == V2_CMD_LOCAL)
		need = 0;
	if (total - PROXY_V2_HEADER < need) {
		*why = "v2: address block shorter than the family's addresses";
		return -EPROTO;
	}
	if (n < total)
		return -EAGAIN;
	info->version = 2;
	if ((buf[V2_VER_CMD] & 0x0f) == V2_CMD_LOCAL) {
		info->command = PROXY_CMD_LOCAL;
		return (ssize_t)total;
	}
	info->command = buf[V2_FAM] == V2_UNSPEC ? PROXY_CMD_UNKNOWN : PROXY_CMD_PROXY;
	a = buf + PROXY_V2_HEADER;
	if (buf[V2_FAM] == V2_TCP4) {
		proxy_addr_set(&info->src, AF_INET, a, (uint16_t)(a[8] << 8 | a[9]));
		proxy_addr_set(&info->dst, AF_INET, a + 4, (uint16_t)(a[10] << 8 | a[11]));
	} else if (buf[V2_FAM] == V2_TCP6) {
		proxy_addr_set(&info->src, AF_INET6, a, (uint16_t)(a[32] << 8 | a[33]));
		proxy_addr_set(&info->dst, AF_INET6, a + 16, (uint16_t)(a[34] << 8 | a[35]));
	}
	rc = v2_tlvs(buf, PROXY_V2_HEADER + need, total, info, why);
	return rc < 0 ? rc : (ssize_t)total;
}

ssize_t
proxy_parse(const uint8_t *buf, size_t len, size_t max, struct proxy_info *info,
    const char **why)
{
	/* Bytes past max are never looked at, so a verdict at max is final. */
	size_t n = len < max ? len : max;
	ssize_t rc;

	memset(info, 0, sizeof(*info));
	*why = NULL;
	if (n == 0)
		rc = -EAGAIN;
	else if (buf[0] == proxy_v1_sig[0] &&
	    memcmp(buf, proxy_v1_sig, n < V1_SIG_BYTES ? n : V1_SIG_BYTES) == 0)
		rc = v1_parse(buf, n, info, why);
	else if (buf[0] == proxy_v2_sig[0] &&
	    memcmp(buf, proxy_v2_sig, n < V2_SIG_BYTES ? n : V2_SIG_BYTES) == 0)
		rc = v2_parse(buf, n, max, info, why);
	else {
		*why = WHY_NOT_PROXY;
		return -ENOMSG;
	}
	if (rc == -EAGAIN && len >= max) {
		*why = WHY_TOO_BIG;
		rc = -E2BIG;
	}
	if (rc < 0)
		memset(info, 0, sizeof(*info));
	return rc;
}

/*
 * Both ends as IPv6 when they are of mixed families (the IPv4 one
 * v4-mapped, ::ffff:a.b.c.d); copies of the originals otherwise. Returns
 * the common family, or AF_UNSPEC when either is neither IPv4 nor IPv6.
 */
static int
proxy_pair(const struct addr *src, const struct addr *dst, struct addr *s, struct addr *d)
{
	const struct addr *in[2] = { src, dst };
	struct addr *out[2] = { s, d };
	int fs = src->u.sa.sa_family, fd = dst->u.sa.sa_family;

	if ((fs != AF_INET && fs != AF_INET6) || (fd != AF_INET && fd != AF_INET6))
		return AF_UNSPEC;
	for (int i = 0; i < 2; i++) {
		uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };

		if (fs == fd || in[i]->u.sa.sa_family == AF_INET6) {
			*out[i] = *in[i];
			continue;
		}
		memcpy(mapped + 12, &in[i]->u.in.sin_addr, 4);
		proxy_addr_set(out[i], AF_INET6, mapped, ntohs(in[i]->u.in.sin_port));
	}
	return fs == fd ? fs : AF_INET6;
}

size_t
proxy_build_v1(char *buf, size_t size, const struct addr *src, const struct addr *dst)
{
	char line[PROXY_V1_MAX + 1], st[INET6_ADDRSTRLEN], dt[INET6_ADDRSTRLEN];
	struct addr s, d;
	int fam = proxy_pair(src, dst, &s, &d), n;

	if (fam == AF_INET) {
		inet_ntop(AF_INET, &s.u.in.sin_addr, st, sizeof(st));
		inet_ntop(AF_INET, &d.u.in.sin_addr, dt, sizeof(dt));
		n = snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n", st, dt,
		    ntohs(s.u.in.sin_port), ntohs(d.u.in.sin_port));
	} else if (fam == AF_INET6) {
		inet_ntop(AF_INET6, &s.u.in6.sin6_addr, st, sizeof(st));
		inet_ntop(AF_INET6, &d.u.in6.sin6_addr, dt, sizeof(dt));
		n = snprintf(line, sizeof(line), "PROXY TCP6 %s %s %u %u\r\n", st, dt,
		    ntohs(s.u.in6.sin6_port), ntohs(d.u.in6.sin6_port));
	} else
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	/* The longest TCP6 line is 104 bytes: n never reaches sizeof(line). */
	if (n < 0 || (size_t)n > size || (size_t)n >= sizeof(line))
		return 0;
	memcpy(buf, line, (size_t)n);
	return (size_t)n;
}

static size_t
v2_put_tlv(uint8_t *p, uint8_t type, const uint8_t *v, size_t n)
{
	if (n == 0)
		return 0;
	p[0] = type;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	memcpy(p + PROXY_V2_TLV_HEADER, v, n);
	return PROXY_V2_TLV_HEADER + n;
}

size_t
proxy_build_v2(uint8_t *buf, size_t size, const struct addr *src,
    const struct addr *dst, const uint8_t *authority, size_t authority_len,
    const uint8_t *alpn, size_t alpn_len)
{
	struct addr s, d;
	int fam = proxy_pair(src, dst, &s, &d);
	size_t addrs = fam == AF_INET ? PROXY_V2_INET_BYTES :
	    fam == AF_INET6 ? PROXY_V2_INET6_BYTES : 0;
	size_t block = addrs, at = PROXY_V2_HEADER;
	uint8_t *a = buf + PROXY_V2_HEADER;

	/* Each added length is checked against the 16-bit field first: no overflow. */
	if (authority_len > 0xffff || alpn_len > 0xffff)
		return 0;
	block += authority_len > 0 ? PROXY_V2_TLV_HEADER + authority_len : 0;
	block += alpn_len > 0 ? PROXY_V2_TLV_HEADER + alpn_len : 0;
	if (block > 0xffff || size < PROXY_V2_HEADER || block > size - PROXY_V2_HEADER)
		return 0;
	memcpy(buf, proxy_v2_sig, V2_SIG_BYTES);
	buf[V2_VER_CMD] = V2_VERSION << 4 | V2_CMD_PROXY;
	buf[V2_FAM] = fam == AF_INET ? V2_TCP4 : fam == AF_INET6 ? V2_TCP6 : V2_UNSPEC;
	buf[V2_LEN] = (uint8_t)(block >> 8);
	buf[V2_LEN + 1] = (uint8_t)block;
	if (fam == AF_INET) {
		memcpy(a, &s.u.in.sin_addr, 4);
		memcpy(a + 4, &d.u.in.sin_addr, 4);
		memcpy(a + 8, &s.u.in.sin_port, 2);	/* both in network order */
		memcpy(a + 10, &d.u.in.sin_port, 2);
	} else if (fam == AF_INET6) {
		memcpy(a, &s.u.in6.sin6_addr, 16);
		memcpy(a + 16, &d.u.in6.sin6_addr, 16);
		memcpy(a + 32, &s.u.in6.sin6_port, 2);
		memcpy(a + 34, &d.u.in6.sin6_port, 2);
	}
	at += addrs;
	at += v2_put_tlv(buf + at, PROXY_TLV_AUTHORITY, authority, authority_len);
	at += v2_put_tlv(buf + at, PROXY_TLV_ALPN, alpn, alpn_len);
	return at;
}

size_t
proxy_build_v2_local(uint8_t *buf, size_t size)
{
	if (size < PROXY_V2_HEADER)
		return 0;
	memcpy(buf, proxy_v2_sig, V2_SIG_BYTES);
	buf[V2_VER_CMD] = V2_VERSION << 4 | V2_CMD_LOCAL;
	buf[V2_FAM] = V2_UNSPEC;
	buf[V2_LEN] = 0;	/* no block */
	buf[V2_LEN + 1] = 0;
	return PROXY_V2_HEADER;
}
