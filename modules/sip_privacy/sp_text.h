/*
 * sip_privacy: ASCII text helpers shared by the Privacy and identity
 * parsers. Pure C, no Kamailio headers.
 */
#ifndef _SIP_PRIVACY_TEXT_H_
#define _SIP_PRIVACY_TEXT_H_

#include <stddef.h>

/* c in ASCII lowercase */
char sp_text_lower(char c);

/* Two byte strings are equal, ASCII case-insensitive. */
int sp_text_ieq(const char *a, size_t alen, const char *b, size_t blen);

/* c is an RFC 3261 token character. */
int sp_text_is_token(unsigned char c);

#endif
