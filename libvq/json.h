/* A small strict JSON parser (RFC 8259) for .safetensors headers, and a
 * string escaper for writing them. Internal. */
#ifndef VQ_JSON_H
#define VQ_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum vq_json_type {
  VQ_JSON_NULL, VQ_JSON_BOOL, VQ_JSON_NUMBER, VQ_JSON_STRING,
  VQ_JSON_ARRAY, VQ_JSON_OBJECT
} vq_json_type;

typedef struct vq_json {
  vq_json_type type;
  int boolean;
  int is_uint;            /* NUMBER: a non-negative integer that fits u64 */
  uint64_t u;
  char *str;              /* STRING: UTF-8, no NUL inside */
  size_t n;               /* ARRAY / OBJECT: number of members */
  struct vq_json *items;  /* members */
  char **keys;            /* OBJECT: member names (unique) */
} vq_json;

#define VQ_JSON_MAX_DEPTH 64

/* Parses text[0..len) as one JSON value (whitespace around allowed). On
 * error returns -1 and writes a message (with the byte offset) to err. */
int vq_json_parse(vq_json **out, const char *text, size_t len, char *err,
                  size_t errlen);
void vq_json_free(vq_json *v);

/* Member of an object by name, or NULL. */
const vq_json *vq_json_get(const vq_json *obj, const char *key);

/* 1 when s[0..n) is valid UTF-8 (no overlong forms, no surrogates). */
int vq_utf8_valid(const char *s, size_t n);

/* Writes s as a JSON string literal. */
void vq_json_write_string(FILE *f, const char *s);

#endif
