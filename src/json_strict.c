/* json_strict.c -- one whole text as one strict JSON value: see
 * json_strict.h. */
#include "json_strict.h"

#include <stdio.h>
#include <string.h>

struct json_object *json_strict_parse(const char *text, size_t len, int depth, int flags, char *err,
                                      size_t errlen)
{
    struct json_tokener *tok = depth > 0 ? json_tokener_new_ex(depth) : json_tokener_new();
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | flags);
    struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root && jerr == json_tokener_success) { /* the text is just null */
        snprintf(err, errlen, "null where a value was expected");
        return NULL;
    }
    if (!root || jerr != json_tokener_success) {
        if (jerr == json_tokener_continue) /* the text ended inside the value */
            jerr = json_tokener_error_parse_eof;
        snprintf(err, errlen, "%s near byte %zu", json_tokener_error_desc(jerr), end);
        json_object_put(root);
        return NULL;
    }
    while (end < len && text[end] != '\0' && strchr(" \t\r\n", text[end]))
        end++;
    if (end != len) {
        snprintf(err, errlen, "trailing data at byte %zu", end);
        json_object_put(root);
        return NULL;
    }
    return root;
}
