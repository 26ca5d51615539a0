/*
 * sip_privacy: ASCII text helpers shared by the Privacy and identity
 * parsers.
 */
#include "sp_text.h"

char sp_text_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int sp_text_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if(alen != blen)
		return 0;
	for(i = 0; i < alen; i++) {
		if(sp_text_lower(a[i]) != sp_text_lower(b[i]))
			return 0;
	}
	return 1;
}

int sp_text_is_token(unsigned char c)
{
	if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9'))
		return 1;
	switch(c) {
		case '-':
		case '.':
		case '!':
		case '%':
		case '*':
		case '_':
		case '+':
		case '`':
		case '\'':
		case '~':
			return 1;
	}
	return 0;
}
