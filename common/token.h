/*
 * token.h -- a client's bytes made into one log token: bytes outside a
 * small safe set are percent-encoded, so a field of a text line can never
 * hold a space, an '=' or a newline, and so never forge another field.
 */
#ifndef PASSTHROUGH_TOKEN_H
#define PASSTHROUGH_TOKEN_H

#include <stddef.h>

/*
 * Bytes a token keeps as they are: [A-Za-z0-9._~/:-] (RFC 3986's
 * unreserved characters, '/' and ':') and the characters of extra (may be
 * NULL; "," keeps an ALPN list's separators). Every other byte, '%'
 * included, becomes "%XX" (two upper-case hex digits): the encoding can be
 * undone, and a token never holds a space, an '=', a quote or a newline.
 */
#define TOKEN_SAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/:"

/*
 * Writes s as a token into out (NUL-terminated). A byte whose encoding no
 * longer fits ends the token there, never in the middle of a "%XX".
 * Returns the token's length; an empty s gives "" (the caller prints "-").
 */
size_t token_escape(char *out, size_t size, const char *s, const char *extra);

#endif
