/*
 * Shared pure C (lib/): ASCII character helpers, locale-independent (the
 * <ctype.h> ones follow the locale and take int values a char may not
 * hold). Header only: each is small enough to inline where it is used.
 */
#ifndef PS_ASCII_H
#define PS_ASCII_H

/* SIP/XML whitespace: space, tab, CR, LF */
static inline int ascii_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline int ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static inline int ascii_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int ascii_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int ascii_is_alnum(int c)
{
	return ascii_is_alpha(c) || ascii_is_digit(c);
}

/* the value of a hex digit (either case), or -1 */
static inline int ascii_hex(int c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* narrows [*s, *e) to exclude leading and trailing whitespace */
static inline void ascii_trim(const char **s, const char **e)
{
	while(*s < *e && ascii_is_ws((unsigned char)**s))
		(*s)++;
	while(*e > *s && ascii_is_ws((unsigned char)(*e)[-1]))
		(*e)--;
}

#endif /* PS_ASCII_H */
