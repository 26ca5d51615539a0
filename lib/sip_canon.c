/*
 * Shared pure C (lib/): the canonical form of a SIP identity (see
 * sip_canon.h). One copy for watcher_auth and notify_smime: a policy's
 * identities and a certificate's subjectAltName must compare alike.
 */
#include <string.h>

#include "ascii.h"
#include "sip_canon.h"

/* exact, ASCII case-insensitive token compare: never a prefix match */
static int _sip_canon_eq_ci(const char *a, size_t alen, const char *b)
{
	size_t i;

	if(alen != strlen(b))
		return 0;
	for(i = 0; i < alen; i++)
		if(ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* RFC 3261 user: unreserved / escaped / user-unreserved */
static int _sip_canon_user_char(int c)
{
	return ascii_is_alnum(c) || (c && strchr("-_.!~*'()&=+$,;?/", c) != NULL);
}

const char *sip_canon_host(
		const char *p, const char *e, char *out, size_t size, size_t *olen)
{
	const char *h = p;
	size_t n, i;

	if(p < e && *p == '[') {
		for(p++; p < e && *p != ']'; p++)
			if(ascii_hex((unsigned char)*p) < 0 && *p != ':' && *p != '.')
				return NULL;
		if(p == e || p - h < 3)
			return NULL;
		p++;
	} else {
		while(p < e
				&& (ascii_is_alnum((unsigned char)*p) || *p == '-'
						|| *p == '.'))
			p++;
	}
	n = (size_t)(p - h);
	if(n > 1 && h[n - 1] == '.' && h[0] != '[')
		n--;
	if(n == 0 || h[0] == '.' || n >= size)
		return NULL;
	/* no empty label: "a..b", or a second trailing dot, which would
	 * leave a name that a second pass changes again */
	for(i = 0; h[0] != '[' && i < n; i++)
		if(h[i] == '.' && (i + 1 == n || h[i + 1] == '.'))
			return NULL;
	for(*olen = 0; *olen < n; (*olen)++)
		out[*olen] = (char)ascii_lower((unsigned char)h[*olen]);
	out[n] = '\0';
	return p;
}

/* name-addr: [ "display name" ] <uri>, or a bare URI; [*s, *e) becomes the
 * URI. 0, or -1 when malformed. */
static int _sip_canon_nameaddr(const char **s, const char **e)
{
	const char *p, *lt, *gt;

	ascii_trim(s, e);
	/* skip a quoted display name, then take <...> */
	p = *s;
	if(p < *e && *p == '"') {
		for(p++; p < *e && *p != '"'; p++)
			if(*p == '\\' && p + 1 < *e)
				p++;
		if(p == *e)
			return -1;
		p++;
	}
	lt = memchr(p, '<', (size_t)(*e - p));
	if(lt != NULL) {
		gt = memchr(lt + 1, '>', (size_t)(*e - lt - 1));
		if(gt == NULL)
			return -1;
		*s = lt + 1;
		*e = gt;
		ascii_trim(s, e);
	} else if(p != *s) {
		return -1; /* display name without <uri> */
	}
	return 0;
}

/* a scheme other than sip/sips, [s, e) with the ':' at p: the lowercased
 * scheme, the rest verbatim */
static int _sip_canon_other(
		const char *s, const char *p, const char *e, char *out, size_t size)
{
	size_t i;
	int c;

	if(p + 1 == e || (size_t)(e - s) >= size)
		return -1;
	for(i = 0; s + i < e; i++) {
		c = (unsigned char)s[i];
		if(c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
			return -1;
		out[i] = (char)(s + i < p ? ascii_lower(c) : c);
	}
	out[i] = '\0';
	return (int)i;
}

/* the user part [p, at) decoded into out from n; the new n, or -1 */
static int _sip_canon_user(
		const char *p, const char *at, char *out, size_t size, size_t n)
{
	int c, hi, lo;

	for(; p < at; p++) {
		c = (unsigned char)*p;
		if(c == '%') {
			if(at - p < 3)
				return -1;
			hi = ascii_hex((unsigned char)p[1]);
			lo = ascii_hex((unsigned char)p[2]);
			if(hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			p += 2;
			/* decoded bytes that would make the form ambiguous */
			if(c <= 0x20 || c == 0x7f || c == '@' || c == ':' || c == '<'
					|| c == '>' || c == '"')
				return -1;
			/* any other byte that may not stand unescaped (e.g. '%',
			 * non-ASCII) stays escaped, in upper case: the canonical
			 * form is a URI again, and canonical once more unchanged */
			if(!_sip_canon_user_char(c)) {
				if(n + 3 >= size)
					return -1;
				out[n++] = '%';
				out[n++] = "0123456789ABCDEF"[c >> 4];
				out[n++] = "0123456789ABCDEF"[c & 15];
				continue;
			}
		} else if(!_sip_canon_user_char(c)) {
			return -1; /* includes ':' before a password */
		}
		if(n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	return (int)n;
}

int sip_canon_uri(const char *uri, size_t len, unsigned flags, char *out,
		size_t size, sip_canon_info_t *info)
{
	sip_canon_info_t dummy;
	const char *s, *e, *p, *at;
	size_t n = 0, hlen, host;
	int u;

	if(info == NULL)
		info = &dummy;
	info->sip = 0;
	info->host = -1;
	if(uri == NULL || out == NULL || size < 8)
		return -1;
	s = uri;
	e = uri + len;
	if((flags & SIP_CANON_NAMEADDR) && _sip_canon_nameaddr(&s, &e) < 0)
		return -1;

	/* scheme */
	p = s;
	if(p == e || !ascii_is_alpha((unsigned char)*p))
		return -1;
	while(p < e
			&& (ascii_is_alnum((unsigned char)*p) || *p == '+' || *p == '-'
					|| *p == '.'))
		p++;
	if(p == e || *p != ':')
		return -1;
	if(!_sip_canon_eq_ci(s, (size_t)(p - s), "sip")
			&& !_sip_canon_eq_ci(s, (size_t)(p - s), "sips"))
		return (flags & SIP_CANON_OTHER_SCHEME)
					   ? _sip_canon_other(s, p, e, out, size)
					   : -1;
	info->sip = 1;
	p++;
	memcpy(out, "sip:", 4);
	n = 4;

	/* userinfo ends at the first '@': neither URI parameters nor headers
	 * may hold one, while the user part may hold ';' and '?' */
	at = memchr(p, '@', (size_t)(e - p));
	if(at != NULL) {
		if(at == p)
			return -1;
		u = _sip_canon_user(p, at, out, size, n);
		if(u < 0 || (size_t)u + 1 >= size)
			return -1;
		n = (size_t)u;
		out[n++] = '@';
		p = at + 1;
	}
	p = sip_canon_host(p, e, out + n, size - n, &hlen);
	if(p == NULL)
		return -1;
	host = n;
	n += hlen;
	/* port, then nothing but parameters or headers */
	if(p < e && *p == ':') {
		const char *d = ++p;
		while(p < e && ascii_is_digit((unsigned char)*p))
			p++;
		if(p == d || p - d > 5)
			return -1;
	}
	if(p < e && *p != ';' && *p != '?')
		return -1;
	out[n] = '\0';
	info->host = (int)host;
	return (int)n;
}
