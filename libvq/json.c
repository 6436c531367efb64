/* A strict JSON parser: objects, arrays, strings (all escapes, UTF-8
 * checked), numbers, true/false/null; duplicate object keys and nesting
 * deeper than VQ_JSON_MAX_DEPTH are errors. Memory stays proportional to
 * the input. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "json.h"

typedef struct parser {
  const char *s, *p, *end;
  char *err;
  size_t errlen;
  int depth;
} parser;

static int fail(parser *ps, const char *what) {
  if (ps->err && !ps->err[0])
    snprintf(ps->err, ps->errlen, "%s at byte %zu", what,
             (size_t)(ps->p - ps->s));
  return -1;
}

static void ws(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                             *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static int utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF && n >= 2 && (s[1] & 0xC0) == 0x80) return 2;
  if (c >= 0xE0 && c <= 0xEF && n >= 3 && (s[1] & 0xC0) == 0x80 &&
      (s[2] & 0xC0) == 0x80) {
    if (c == 0xE0 && s[1] < 0xA0) return 0;   /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0;  /* surrogate */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && n >= 4 && (s[1] & 0xC0) == 0x80 &&
      (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) {
    if (c == 0xF0 && s[1] < 0x90) return 0;
    if (c == 0xF4 && s[1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

int vq_utf8_valid(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    int l = utf8_len((const unsigned char *)s + i, n - i);
    if (!l) return 0;
    i += (size_t)l;
  }
  return 1;
}

static int hex4(parser *ps, unsigned *v) {
  int i;
  *v = 0;
  if (ps->end - ps->p < 4) return fail(ps, "truncated \\u escape");
  for (i = 0; i < 4; i++) {
    char c = *ps->p++;
    *v <<= 4;
    if (c >= '0' && c <= '9') *v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') *v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') *v |= (unsigned)(c - 'A' + 10);
    else return fail(ps, "bad \\u escape");
  }
  return 0;
}

static size_t put_utf8(char *d, unsigned cp) {
  if (cp < 0x80) return d[0] = (char)cp, 1;
  if (cp < 0x800)
    return d[0] = (char)(0xC0 | cp >> 6), d[1] = (char)(0x80 | (cp & 63)), 2;
  if (cp < 0x10000) {
    d[0] = (char)(0xE0 | cp >> 12), d[1] = (char)(0x80 | (cp >> 6 & 63));
    d[2] = (char)(0x80 | (cp & 63));
    return 3;
  }
  d[0] = (char)(0xF0 | cp >> 18), d[1] = (char)(0x80 | (cp >> 12 & 63));
  d[2] = (char)(0x80 | (cp >> 6 & 63)), d[3] = (char)(0x80 | (cp & 63));
  return 4;
}

static int escape(parser *ps, char *d, size_t *n) {
  unsigned cp, lo;
  char c;
  if (ps->p >= ps->end) return fail(ps, "truncated escape");
  c = *ps->p++;
  switch (c) {
    case '"': case '\\': case '/': d[(*n)++] = c; return 0;
    case 'b': d[(*n)++] = '\b'; return 0;
    case 'f': d[(*n)++] = '\f'; return 0;
    case 'n': d[(*n)++] = '\n'; return 0;
    case 'r': d[(*n)++] = '\r'; return 0;
    case 't': d[(*n)++] = '\t'; return 0;
    case 'u': break;
    default: return fail(ps, "bad escape");
  }
  if (hex4(ps, &cp)) return -1;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps, "lone low surrogate");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
      return fail(ps, "lone high surrogate");
    ps->p += 2;
    if (hex4(ps, &lo)) return -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps, "bad surrogate pair");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  if (cp == 0) return fail(ps, "NUL character in string");
  *n += put_utf8(d + *n, cp);
  return 0;
}

/* The decoded text is never longer than the literal. */
static int parse_string(parser *ps, char **out) {
  const char *start = ++ps->p;
  char *d;
  size_t n = 0;
  while (ps->p < ps->end && *ps->p != '"') ps->p += *ps->p == '\\' ? 2 : 1;
  if (ps->p >= ps->end) return fail(ps, "unterminated string");
  d = malloc((size_t)(ps->p - start) + 1);
  if (!d) return fail(ps, "out of memory");
  ps->p = start;
  while (*ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p;
    int l;
    if (c < 0x20) return free(d), fail(ps, "control character in string");
    if (c == '\\') {
      ps->p++;
      if (escape(ps, d, &n)) return free(d), -1;
      continue;
    }
    l = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
    if (!l) return free(d), fail(ps, "invalid UTF-8");
    memcpy(d + n, ps->p, (size_t)l);
    n += (size_t)l, ps->p += l;
  }
  ps->p++;
  d[n] = 0;
  *out = d;
  return 0;
}

static int is_digit(const parser *ps) {
  return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static int parse_number(parser *ps, vq_json *v) {
  const char *start = ps->p;
  uint64_t u = 0;
  int neg = 0, integral = 1, overflow = 0;
  if (*ps->p == '-') neg = 1, ps->p++;
  if (!is_digit(ps)) return fail(ps, "bad number");
  if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' &&
      ps->p[1] <= '9')
    return fail(ps, "leading zero in number");
  while (is_digit(ps)) {
    unsigned dg = (unsigned)(*ps->p++ - '0');
    if (u > (UINT64_MAX - dg) / 10) overflow = 1;
    else u = u * 10 + dg;
  }
  if (ps->p < ps->end && *ps->p == '.') {
    ps->p++, integral = 0;
    if (!is_digit(ps)) return fail(ps, "bad fraction");
    while (is_digit(ps)) ps->p++;
  }
  if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
    ps->p++, integral = 0;
    if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
    if (!is_digit(ps)) return fail(ps, "bad exponent");
    while (is_digit(ps)) ps->p++;
  }
  (void)start;
  v->type = VQ_JSON_NUMBER;
  v->is_uint = integral && !neg && !overflow;
  v->u = v->is_uint ? u : 0;
  return 0;
}

static int parse_value(parser *ps, vq_json *v);

static int grow(parser *ps, vq_json *v, size_t *cap, int object) {
  size_t nc = *cap ? *cap * 2 : 4;
  vq_json *it;
  if (v->n < *cap) return 0;
  it = vq_realloc_array(v->items, nc, sizeof *it);
  if (!it) return fail(ps, "out of memory");
  v->items = it;
  if (object) {
    char **k = vq_realloc_array(v->keys, nc, sizeof *k);
    if (!k) return fail(ps, "out of memory");
    v->keys = k;
  }
  *cap = nc;
  return 0;
}

static int parse_members(parser *ps, vq_json *v, int object) {
  size_t cap = 0, i;
  char close = object ? '}' : ']';
  ps->p++;
  ws(ps);
  if (ps->p < ps->end && *ps->p == close) return ps->p++, 0;
  for (;;) {
    char *key = NULL;
    ws(ps);
    if (object) {
      if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected key");
      if (parse_string(ps, &key)) return -1;
      for (i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
          return free(key), fail(ps, "duplicate key");
      ws(ps);
      if (ps->p >= ps->end || *ps->p != ':')
        return free(key), fail(ps, "expected ':'");
      ps->p++;
    }
    if (grow(ps, v, &cap, object)) return free(key), -1;
    memset(&v->items[v->n], 0, sizeof *v->items);
    if (object) v->keys[v->n] = key;
    v->n++;
    if (parse_value(ps, &v->items[v->n - 1])) return -1;
    ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == close) return ps->p++, 0;
    return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int literal(parser *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
    return fail(ps, "unexpected character");
  ps->p += n;
  return 0;
}

static int parse_value(parser *ps, vq_json *v) {
  int rc;
  ws(ps);
  if (ps->p >= ps->end) return fail(ps, "unexpected end");
  switch (*ps->p) {
    case '{':
    case '[':
      if (++ps->depth > VQ_JSON_MAX_DEPTH) return fail(ps, "nested too deep");
      v->type = *ps->p == '{' ? VQ_JSON_OBJECT : VQ_JSON_ARRAY;
      rc = parse_members(ps, v, v->type == VQ_JSON_OBJECT);
      ps->depth--;
      return rc;
    case '"': v->type = VQ_JSON_STRING; return parse_string(ps, &v->str);
    case 't': v->type = VQ_JSON_BOOL, v->boolean = 1; return literal(ps, "true");
    case 'f': v->type = VQ_JSON_BOOL; return literal(ps, "false");
    case 'n': v->type = VQ_JSON_NULL; return literal(ps, "null");
    default:
      if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
        return parse_number(ps, v);
      return fail(ps, "unexpected character");
  }
}

static void clear(vq_json *v) {
  size_t i;
  for (i = 0; i < v->n; i++) {
    clear(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->str);
}

void vq_json_free(vq_json *v) {
  if (!v) return;
  clear(v);
  free(v);
}

int vq_json_parse(vq_json **out, const char *text, size_t len, char *err,
                  size_t errlen) {
  parser ps;
  vq_json *v = calloc(1, sizeof *v);
  *out = NULL;
  if (err && errlen) err[0] = 0;
  ps.s = ps.p = text, ps.end = text + len, ps.err = err, ps.errlen = errlen;
  ps.depth = 0;
  if (!v) return fail(&ps, "out of memory");
  if (parse_value(&ps, v) == 0) {
    ws(&ps);
    if (ps.p == ps.end) {
      *out = v;
      return 0;
    }
    fail(&ps, "text after the value");
  }
  vq_json_free(v);
  return -1;
}

const vq_json *vq_json_get(const vq_json *obj, const char *key) {
  size_t i;
  if (!obj || obj->type != VQ_JSON_OBJECT) return NULL;
  for (i = 0; i < obj->n; i++)
    if (!strcmp(obj->keys[i], key)) return &obj->items[i];
  return NULL;
}

void vq_json_write_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}
