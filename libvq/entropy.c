/* Index streams to bytes and back: model choice, stream header and the
 * coding loops.
 *
 * A stream is two bytes, the model and its adaptation rate (0 for models
 * without one), followed by one range-coded body. The encoder in AUTO
 * mode codes the stream with every applicable model and keeps the
 * smallest: a static table wins on stationary streams, adaptive CDFs
 * where statistics drift, and the match flags where neighbours repeat. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/entropy.h"
#include "internal.h"
#include "vq/rangecoder.h"
#include "countmodel.h"
#include "statmodel.h"
#include "rcmodel.h"
#include "symmodel.h"

#define HEADER 2
/* How often (in indices) the decoder checks for a damaged stream. */
#define CHECK_EVERY 4096

int vq_entropy_params_init_(vq_entropy_params *p, uint32_t abi,
                            uint32_t size) {
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->model = VQ_ENTROPY_AUTO;
  return VQ_OK;
}

const char *vq_entropy_model_name(vq_entropy_model m) {
  switch (m) {
  case VQ_ENTROPY_AUTO: return "auto";
  case VQ_ENTROPY_CONSTANT: return "constant";
  case VQ_ENTROPY_STATIC: return "static";
  case VQ_ENTROPY_ADAPTIVE: return "adaptive";
  case VQ_ENTROPY_MATCH: return "match";
  case VQ_ENTROPY_ORDER1: return "order1";
  case VQ_ENTROPY_MATCH_STATIC: return "match-static";
  case VQ_ENTROPY_COUNTS: return "counts";
  case VQ_ENTROPY_MATCH_RECENT: return "match-recent";
  case VQ_ENTROPY_MATCH_CLASS: return "match-class";
  }
  return "unknown";
}

static int check_params(const vq_entropy_params *p, vq_diag *diag) {
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return vq_diag_set(diag, VQ_ERR_ABI, "entropy parameters not set up by "
                       "vq_entropy_params_init()");
  if (p->alphabet < 1 || p->alphabet > VQ_ENTROPY_MAX_ALPHABET)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "alphabet %lu outside "
                       "[1, %u]", (unsigned long)p->alphabet,
                       VQ_ENTROPY_MAX_ALPHABET);
  if ((unsigned)p->model > VQ_ENTROPY_LAST_MODEL)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "unknown model %d",
                       (int)p->model);
  if (p->rate < 0 || p->rate > 10)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "rate %d outside [0, 10]",
                       p->rate);
  if (p->context && (p->contexts < 2 ||
                     p->contexts > VQ_ENTROPY_MAX_CONTEXTS))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "%u context classes "
                       "outside [2, %u]", p->contexts,
                       VQ_ENTROPY_MAX_CONTEXTS);
  if (p->model == VQ_ENTROPY_MATCH_CLASS && !p->context)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "the match-class model "
                       "needs a context");
  return VQ_OK;
}

/* ---- the match model: neighbour flags, then the tree ------------------- */

typedef struct match_models {
  vq_bit_model left[4];   /* context: up == left, previous left flag */
  vq_bit_model up[2];     /* context: previous up flag */
  vq_sym_model tree;      /* the other indices: this tree, or */
  const vq_stat_model *stat; /* this table when not NULL, or */
  vq_sym_model *cls;      /* the tree of index i's class ctx[i] when */
  const uint8_t *ctx;     /* not NULL (match-class) */
} match_models;

static int match_init(match_models *m, uint32_t alphabet, unsigned rate) {
  unsigned i;
  for (i = 0; i < 4; i++) vq_bit_model_init(&m->left[i], rate);
  for (i = 0; i < 2; i++) vq_bit_model_init(&m->up[i], rate);
  m->stat = NULL;
  m->cls = NULL;
  m->ctx = NULL;
  return vq_sym_model_init(&m->tree, alphabet, rate);
}

/* The match-class model: match flags and nctx trees of alphabet k. */
static int class_init(match_models *m, uint32_t k, const uint8_t *ctx,
                      unsigned nctx, unsigned rate) {
  unsigned i;
  int rc = match_init(m, 1, rate); /* the tree is not used */
  if (rc < 0) return rc;
  if (!(m->cls = calloc(nctx, sizeof *m->cls))) rc = VQ_ERR_NOMEM;
  for (i = 0; i < nctx && rc == VQ_OK; i++)
    rc = vq_sym_model_init(&m->cls[i], k, rate);
  m->ctx = ctx;
  return rc;
}

static void class_clear(match_models *m, unsigned nctx) {
  unsigned i;
  if (m->cls)
    for (i = 0; i < nctx; i++) vq_sym_model_clear(&m->cls[i]);
  free(m->cls);
  m->cls = NULL;
  vq_sym_model_clear(&m->tree);
}

/* The neighbours of index i, in column col of a grid of rows of width w
 * (w = 0: one row): *a is the first candidate (left, else up), *b the
 * second (up, when it differs from left). Returns 0 without neighbours,
 * 1 with one, 2 with two different ones, 3 when left and up agree. */
static int neighbours(const uint32_t *s, size_t i, size_t col, size_t w,
                      uint32_t *a, uint32_t *b) {
  int has_up = w && i >= w;
  if (col > 0) {
    *a = s[i - 1];
    if (!has_up) return 1;
    if (s[i - w] == *a) return 3;
    *b = s[i - w];
    return 2;
  }
  if (has_up) {
    *a = s[i - w];
    return 1;
  }
  return 0;
}

static void match_encode(vq_rc_enc *e, match_models *m, const uint32_t *s,
                         size_t n, size_t w) {
  size_t i, col = 0;
  int lastl = 0, lastu = 0;
  for (i = 0; i < n; i++) {
    uint32_t a = 0, b = 0, v = s[i];
    int c = neighbours(s, i, col, w, &a, &b), hit;
    if (++col == w) col = 0;
    if (c >= 1) {
      int ctx = (c == 3 ? 2 : 0) + lastl;
      hit = v == a;
      vq_rc_enc_bit(e, hit, &m->left[ctx]);
      lastl = hit;
      if (hit) continue;
    }
    if (c == 2) {
      hit = v == b;
      vq_rc_enc_bit(e, hit, &m->up[lastu]);
      lastu = hit;
      if (hit) continue;
    }
    if (m->stat) vq_stat_encode(e, m->stat, v);
    else vq_sym_encode(e, m->cls ? &m->cls[m->ctx[i]] : &m->tree, v);
  }
}

/* Counts the indices that match neither neighbour (the ones the match
 * models code through their fallback). */
static void match_misses(uint64_t *counts, const uint32_t *s, size_t n,
                         size_t w) {
  size_t i, col = 0;
  for (i = 0; i < n; i++) {
    uint32_t a = 0, b = 0;
    int c = neighbours(s, i, col, w, &a, &b);
    if (++col == w) col = 0;
    if ((c >= 1 && s[i] == a) || (c == 2 && s[i] == b)) continue;
    counts[s[i]]++;
  }
}

static void match_decode(vq_rc_dec *d, match_models *m, uint32_t *s,
                         size_t n, size_t w) {
  size_t i, col = 0;
  int lastl = 0, lastu = 0;
  for (i = 0; i < n; i++) {
    uint32_t a = 0, b = 0;
    int c = neighbours(s, i, col, w, &a, &b);
    if (++col == w) col = 0;
    if (c >= 1) {
      int ctx = (c == 3 ? 2 : 0) + lastl;
      lastl = vq_rc_dec_binary(d, &m->left[ctx]);
      if (lastl) {
        s[i] = a;
        continue;
      }
    }
    if (c == 2) {
      lastu = vq_rc_dec_binary(d, &m->up[lastu]);
      if (lastu) {
        s[i] = b;
        continue;
      }
    }
    s[i] = m->stat ? vq_stat_decode(d, m->stat)
                   : vq_sym_decode(d, m->cls ? &m->cls[m->ctx[i]] : &m->tree);
    if (i % CHECK_EVERY == 0 && (d->error || d->pos > d->size)) return;
  }
}

/* ---- the match-recent model: neighbours, recent misses, the table ------ */

/* Each index is one of: the first neighbour, the second, one of the
 * RECENT indices most recently coded otherwise (kept in move-to-front
 * order), or another, coded with a frequency table sent in the stream (as
 * match-static). Which of these it is costs one adaptive symbol, in a
 * context of the neighbours there are and the previous index's outcome;
 * the position in the recent list a second one; the table's one
 * operation the others. At most two coder operations an index, against
 * five for the match model with K = 4096, and the recent list catches
 * the codewords a region repeats that neither neighbour has. */
#define RECENT 16

typedef struct recent_models {
  vq_cdf what[3][4];      /* [neighbours: none, one, two][last outcome] */
  vq_cdf pos;             /* position in the recent list */
  uint32_t list[RECENT];  /* most recent first */
  unsigned len;
  const vq_stat_model *stat;
} recent_models;

/* Outcomes; with one candidate the symbols are first, recent, other,
 * with none recent, other (the symbol is the outcome minus the missing
 * candidates). */
enum { OUT_FIRST, OUT_SECOND, OUT_RECENT, OUT_OTHER };

static void recent_init(recent_models *m, const vq_stat_model *st,
                        unsigned rate) {
  unsigned i, j;
  for (i = 0; i < 3; i++)
    for (j = 0; j < 4; j++) vq_cdf_init(&m->what[i][j], 4 - (2 - i), rate);
  vq_cdf_init(&m->pos, RECENT, rate);
  m->len = 0;
  m->stat = st;
}

/* Moves list[k] (k < len) or, for k = len, a new value v to the front. */
static void recent_front(recent_models *m, unsigned k, uint32_t v) {
  if (k == m->len && m->len < RECENT) m->len++;
  if (k == RECENT) k = RECENT - 1;
  memmove(m->list + 1, m->list, k * sizeof *m->list);
  m->list[0] = v;
}

/* Neighbour class (0 none, 1 one or two equal, 2 two) of neighbours()'s
 * result; the symbol an outcome has in a class, and back. */
static int recent_class(int c) { return c == 0 ? 0 : c == 2 ? 2 : 1; }

static unsigned outcome_symbol(int o, int cls) {
  return (unsigned)(cls == 2 || o == OUT_FIRST ? o : o - (2 - cls));
}

static int symbol_outcome(unsigned sym, int cls) {
  return cls == 2 || (cls == 1 && sym == 0) ? (int)sym
                                              : (int)sym + (2 - cls);
}

static void recent_encode(vq_rc_enc *e, recent_models *m, const uint32_t *s,
                          size_t n, size_t w) {
  size_t i, col = 0;
  int last = OUT_OTHER;
  for (i = 0; i < n; i++) {
    uint32_t a = 0, b = 0, v = s[i];
    int c = neighbours(s, i, col, w, &a, &b), cls = recent_class(c), o;
    unsigned k = 0;
    if (++col == w) col = 0;
    if (c && v == a) {
      o = OUT_FIRST;
    } else if (c == 2 && v == b) {
      o = OUT_SECOND;
    } else {
      while (k < m->len && m->list[k] != v) k++;
      o = k < m->len ? OUT_RECENT : OUT_OTHER;
    }
    vq_rc_enc_symbol(e, outcome_symbol(o, cls), &m->what[cls][last]);
    last = o;
    if (o == OUT_RECENT) {
      vq_rc_enc_symbol(e, k, &m->pos);
      recent_front(m, k, v);
    } else if (o == OUT_OTHER) {
      vq_stat_encode(e, m->stat, v);
      recent_front(m, m->len, v);
    }
  }
}

/* Counts the indices recent_encode() codes with the table. */
static void recent_misses(uint64_t *counts, const uint32_t *s, size_t n,
                          size_t w) {
  recent_models m;
  size_t i, col = 0;
  m.len = 0;
  for (i = 0; i < n; i++) {
    uint32_t a = 0, b = 0, v = s[i];
    int c = neighbours(s, i, col, w, &a, &b);
    unsigned k = 0;
    if (++col == w) col = 0;
    if ((c && v == a) || (c == 2 && v == b)) continue;
    while (k < m.len && m.list[k] != v) k++;
    if (k == m.len) counts[v]++;
    recent_front(&m, k, v);
  }
}

static void recent_decode(vq_rc_dec *d, recent_models *m, uint32_t *s,
                          size_t n, size_t w) {
  size_t i, col = 0;
  int last = OUT_OTHER;
  for (i = 0; i < n; i++) {
    uint32_t a = 0, b = 0;
    int c = neighbours(s, i, col, w, &a, &b), cls = recent_class(c), o;
    if (++col == w) col = 0;
    o = symbol_outcome(vq_rc_dec_adaptive(d, &m->what[cls][last]), cls);
    last = o;
    if (o == OUT_FIRST) {
      s[i] = a;
    } else if (o == OUT_SECOND) {
      s[i] = b;
    } else if (o == OUT_RECENT) {
      unsigned k = vq_rc_dec_adaptive(d, &m->pos);
      if (k >= m->len) { /* only a damaged stream gets here */
        d->error = 1;
        k = m->len ? m->len - 1 : 0;
      }
      s[i] = m->len ? m->list[k] : 0;
      if (m->len) recent_front(m, k, s[i]);
    } else {
      s[i] = vq_stat_decode(d, m->stat);
      recent_front(m, m->len, s[i]);
      if (i % CHECK_EVERY == 0 && (d->error || d->pos > d->size)) return;
    }
  }
}

/* ---- the order-1 model: a tree per value of the left neighbour --------- */

#define ORDER1_MAX_ALPHABET 256

typedef struct order1_models {
  vq_sym_model ctx[ORDER1_MAX_ALPHABET + 1]; /* the last: no left */
  uint32_t n;
} order1_models;

static void order1_clear(order1_models *m) {
  uint32_t i;
  for (i = 0; i < m->n; i++) vq_sym_model_clear(&m->ctx[i]);
  m->n = 0;
}

static int order1_init(order1_models *m, uint32_t alphabet, unsigned rate) {
  int rc = VQ_OK;
  m->n = 0;
  if (alphabet > ORDER1_MAX_ALPHABET) return VQ_ERR_UNSUPPORTED;
  while (m->n <= alphabet && rc == VQ_OK)
    rc = vq_sym_model_init(&m->ctx[m->n++], alphabet, rate);
  if (rc < 0) order1_clear(m);
  return rc;
}

/* Context of index i: its left neighbour, or alphabet at a row start. */
static uint32_t order1_ctx(const uint32_t *s, size_t col, size_t i,
                           uint32_t alphabet) {
  return col > 0 ? s[i - 1] : alphabet;
}

static void order1_encode(vq_rc_enc *e, order1_models *m, const uint32_t *s,
                          size_t n, size_t w, uint32_t alphabet) {
  size_t i, col = 0;
  for (i = 0; i < n; i++) {
    vq_sym_encode(e, &m->ctx[order1_ctx(s, col, i, alphabet)], s[i]);
    if (++col == w) col = 0;
  }
}

static void order1_decode(vq_rc_dec *d, order1_models *m, uint32_t *s,
                          size_t n, size_t w, uint32_t alphabet) {
  size_t i, col = 0;
  for (i = 0; i < n; i++) {
    s[i] = vq_sym_decode(d, &m->ctx[order1_ctx(s, col, i, alphabet)]);
    if (++col == w) col = 0;
    if (i % CHECK_EVERY == 0 && (d->error || d->pos > d->size)) return;
  }
}

/* ---- encoder ------------------------------------------------------------ */

typedef struct candidate {
  uint8_t *buf;
  size_t size;
} candidate;

/* Moves the finished body of e behind a two-byte header into c. */
static int take(candidate *c, vq_rc_enc *e, vq_entropy_model model,
                unsigned rate) {
  const uint8_t *body;
  size_t n;
  int rc = vq_rc_enc_finish(e, &body, &n);
  if (rc < 0) return rc;
  c->buf = malloc(n + HEADER);
  if (!c->buf) return VQ_ERR_NOMEM;
  c->buf[0] = (uint8_t)model;
  c->buf[1] = (uint8_t)rate;
  if (n) memcpy(c->buf + HEADER, body, n);
  c->size = n + HEADER;
  return VQ_OK;
}

static int enc_constant(candidate *c, const uint32_t *s, size_t n,
                        uint32_t k) {
  vq_rc_enc e;
  int rc;
  vq_rc_enc_init(&e);
  vq_rc_enc_uint(&e, n ? s[0] : 0, k);
  rc = take(c, &e, VQ_ENTROPY_CONSTANT, 0);
  vq_rc_enc_clear(&e);
  return rc;
}

/* The table, of all precisions tried, whose own bits plus the coded
 * indices' cost fewest (the first on a tie); *best is built, the others
 * are released. */
static int best_table(vq_stat_model *best, const uint64_t *counts,
                      uint32_t k) {
  static const unsigned tries[] = {16, 12, 10, 9, 8, 7, 6, 5, 4, 3};
  double best_bits = HUGE_VAL;
  size_t t;
  memset(best, 0, sizeof *best);
  for (t = 0; t < sizeof tries / sizeof *tries; t++) {
    vq_stat_model m;
    vq_rc_enc e;
    const uint8_t *out;
    size_t size;
    double bits = 0.0;
    int rc = vq_stat_model_build(&m, counts, k, tries[t]);
    if (rc == VQ_OK) {
      vq_rc_enc_init(&e);
      vq_stat_table_write(&e, &m);
      rc = vq_rc_enc_finish(&e, &out, &size);
      bits = 8.0 * (double)size + vq_stat_model_cost(&m, counts);
      vq_rc_enc_clear(&e);
    }
    if (rc < 0 || bits >= best_bits) {
      vq_stat_model_clear(&m);
      if (rc == VQ_OK) continue;
      vq_stat_model_clear(best);
      return rc;
    }
    vq_stat_model_clear(best);
    *best = m;
    best_bits = bits;
  }
  return VQ_OK;
}

static int enc_static(candidate *c, const uint32_t *s, size_t n,
                      uint32_t k, const uint64_t *counts) {
  vq_stat_model m;
  vq_rc_enc e;
  size_t i;
  int rc = best_table(&m, counts, k);
  if (rc < 0) return rc;
  vq_rc_enc_init(&e);
  vq_stat_table_write(&e, &m);
  for (i = 0; i < n; i++) vq_stat_encode(&e, &m, s[i]);
  rc = take(c, &e, VQ_ENTROPY_STATIC, 0);
  vq_rc_enc_clear(&e);
  vq_stat_model_clear(&m);
  return rc;
}

/* match-static or match-recent: the table of the indices the model codes
 * through it, then the stream. */
static int enc_table_model(candidate *c, const uint32_t *s, size_t n,
                           uint32_t k, size_t w, unsigned rate,
                           vq_entropy_model model) {
  uint64_t *miss = vq_calloc_array(k, sizeof *miss);
  vq_stat_model st;
  vq_rc_enc e;
  int rc;
  if (!miss) return VQ_ERR_NOMEM;
  if (model == VQ_ENTROPY_MATCH_RECENT) recent_misses(miss, s, n, w);
  else match_misses(miss, s, n, w);
  rc = best_table(&st, miss, k);
  free(miss);
  if (rc < 0) return rc;
  vq_rc_enc_init(&e);
  vq_stat_table_write(&e, &st);
  if (model == VQ_ENTROPY_MATCH_RECENT) {
    recent_models m;
    recent_init(&m, &st, rate);
    recent_encode(&e, &m, s, n, w);
  } else {
    match_models m;
    rc = match_init(&m, 1, rate); /* the tree is not used */
    m.stat = &st;
    if (rc == VQ_OK) match_encode(&e, &m, s, n, w);
    vq_sym_model_clear(&m.tree);
  }
  if (rc == VQ_OK) rc = take(c, &e, model, rate);
  vq_rc_enc_clear(&e);
  vq_stat_model_clear(&st);
  return rc;
}

static int enc_adaptive(candidate *c, const uint32_t *s, size_t n,
                        uint32_t k, size_t w, vq_entropy_model model,
                        unsigned rate) {
  vq_rc_enc e;
  int rc;
  vq_rc_enc_init(&e);
  if (model == VQ_ENTROPY_MATCH) {
    match_models m;
    rc = match_init(&m, k, rate);
    if (rc == VQ_OK) match_encode(&e, &m, s, n, w);
    vq_sym_model_clear(&m.tree);
  } else if (model == VQ_ENTROPY_ORDER1) {
    order1_models *m = malloc(sizeof *m);
    rc = m ? order1_init(m, k, rate) : VQ_ERR_NOMEM;
    if (rc == VQ_OK) order1_encode(&e, m, s, n, w, k);
    if (m) order1_clear(m);
    free(m);
  } else {
    vq_sym_model m;
    size_t i;
    rc = vq_sym_model_init(&m, k, rate);
    if (rc == VQ_OK)
      for (i = 0; i < n; i++) vq_sym_encode(&e, &m, s[i]);
    vq_sym_model_clear(&m);
  }
  if (rc == VQ_OK) rc = take(c, &e, model, rate);
  vq_rc_enc_clear(&e);
  return rc;
}

/* match-class: the number of classes, then the flags and trees. */
static int enc_class(candidate *c, const uint32_t *s, size_t n, uint32_t k,
                     size_t w, const uint8_t *ctx, unsigned nctx,
                     unsigned rate) {
  match_models m;
  vq_rc_enc e;
  int rc;
  vq_rc_enc_init(&e);
  rc = class_init(&m, k, ctx, nctx, rate);
  if (rc == VQ_OK) {
    vq_rc_enc_uint(&e, nctx - 1, VQ_ENTROPY_MAX_CONTEXTS);
    match_encode(&e, &m, s, n, w);
    rc = take(c, &e, VQ_ENTROPY_MATCH_CLASS, rate);
  }
  class_clear(&m, nctx);
  vq_rc_enc_clear(&e);
  return rc;
}

static int enc_counts(candidate *c, const uint32_t *s, size_t n,
                      uint32_t k, const uint64_t *counts, unsigned rate) {
  vq_rc_enc e;
  int rc;
  vq_rc_enc_init(&e);
  rc = vq_count_encode(&e, s, n, counts, k, rate);
  if (rc == VQ_OK) rc = take(c, &e, VQ_ENTROPY_COUNTS, rate);
  vq_rc_enc_clear(&e);
  return rc;
}

/* Keeps the smaller of *best and c (the first on a tie). */
static void keep(candidate *best, candidate *c, vq_entropy_stats *st,
                 vq_entropy_model model, int rate) {
  if (!best->buf || c->size < best->size) {
    free(best->buf);
    *best = *c;
    st->model = model;
    st->rate = rate;
  } else {
    free(c->buf);
  }
  c->buf = NULL;
}

static double entropy_of(const uint64_t *counts, uint32_t k, size_t n,
                         uint32_t *distinct) {
  double h = 0.0;
  uint32_t s;
  *distinct = 0;
  for (s = 0; s < k; s++)
    if (counts[s]) {
      double q = (double)counts[s] / (double)n;
      h -= q * log2(q);
      ++*distinct;
    }
  return h;
}

/* Codes with every model that applies (or the one asked for). */
static int encode_all(candidate *best, vq_entropy_stats *st,
                      const vq_entropy_params *p, const uint32_t *s,
                      size_t n, const uint64_t *counts, vq_diag *diag) {
  vq_entropy_model want = p->model;
  candidate c = {NULL, 0};
  int rc = VQ_OK, r, t;
  if (want == VQ_ENTROPY_CONSTANT || (want == VQ_ENTROPY_AUTO &&
                                      st->distinct <= 1)) {
    if (st->distinct > 1)
      return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "the constant model "
                         "needs a single distinct index, not %lu",
                         (unsigned long)st->distinct);
    if ((rc = enc_constant(&c, s, n, p->alphabet)) == VQ_OK)
      keep(best, &c, st, VQ_ENTROPY_CONSTANT, 0);
    return rc;
  }
  if (want == VQ_ENTROPY_STATIC || (want == VQ_ENTROPY_AUTO &&
                                    st->distinct <= VQ_STAT_MAX_USED)) {
    if (st->distinct > VQ_STAT_MAX_USED || st->distinct < 2)
      return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "the static model needs "
                         "2 to %u distinct indices, not %lu",
                         VQ_STAT_MAX_USED, (unsigned long)st->distinct);
    if ((rc = enc_static(&c, s, n, p->alphabet, counts)) < 0) return rc;
    keep(best, &c, st, VQ_ENTROPY_STATIC, 0);
  }
  for (r = 4; r <= 5; r++) {
    int rate = p->rate ? p->rate : r;
    if (want == VQ_ENTROPY_AUTO || want == VQ_ENTROPY_ADAPTIVE) {
      rc = enc_adaptive(&c, s, n, p->alphabet, p->width,
                        VQ_ENTROPY_ADAPTIVE, (unsigned)rate);
      if (rc < 0) return rc;
      keep(best, &c, st, VQ_ENTROPY_ADAPTIVE, rate);
    }
    if (want == VQ_ENTROPY_AUTO || want == VQ_ENTROPY_MATCH) {
      rc = enc_adaptive(&c, s, n, p->alphabet, p->width, VQ_ENTROPY_MATCH,
                        (unsigned)rate);
      if (rc < 0) return rc;
      keep(best, &c, st, VQ_ENTROPY_MATCH, rate);
    }
    if (p->context && (want == VQ_ENTROPY_AUTO ||
                       want == VQ_ENTROPY_MATCH_CLASS)) {
      rc = enc_class(&c, s, n, p->alphabet, p->width, p->context,
                     p->contexts, (unsigned)rate);
      if (rc < 0) return rc;
      keep(best, &c, st, VQ_ENTROPY_MATCH_CLASS, rate);
    }
    for (t = 0; t < 2; t++) { /* the models with a table of the misses */
      static const vq_entropy_model tm[2] = {VQ_ENTROPY_MATCH_STATIC,
                                             VQ_ENTROPY_MATCH_RECENT};
      static const char *const which[2] = {
          "that match neither neighbour", "coded with its table"};
      if (want != VQ_ENTROPY_AUTO && want != tm[t]) continue;
      rc = enc_table_model(&c, s, n, p->alphabet, p->width, (unsigned)rate,
                           tm[t]);
      if (rc == VQ_OK) keep(best, &c, st, tm[t], rate);
      else if (rc != VQ_ERR_UNSUPPORTED || want != VQ_ENTROPY_AUTO)
        return rc == VQ_ERR_UNSUPPORTED
                   ? vq_diag_set(diag, rc, "the %s model needs 2 to %u "
                                 "distinct indices %s",
                                 vq_entropy_model_name(tm[t]),
                                 VQ_STAT_MAX_USED, which[t])
                   : rc;
    }
    if (want == VQ_ENTROPY_ORDER1 || (want == VQ_ENTROPY_AUTO &&
                                      p->alphabet <= ORDER1_MAX_ALPHABET)) {
      if (p->alphabet > ORDER1_MAX_ALPHABET)
        return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "the order-1 model "
                           "needs an alphabet of at most %u, not %lu",
                           ORDER1_MAX_ALPHABET, (unsigned long)p->alphabet);
      rc = enc_adaptive(&c, s, n, p->alphabet, p->width, VQ_ENTROPY_ORDER1,
                        (unsigned)rate);
      if (rc < 0) return rc;
      keep(best, &c, st, VQ_ENTROPY_ORDER1, rate);
    }
    if (p->rate) break;
  }
  if (want == VQ_ENTROPY_COUNTS || (want == VQ_ENTROPY_AUTO &&
                                    n <= VQ_COUNT_MAX_N)) {
    unsigned rate = p->rate ? (unsigned)p->rate : 4;
    if (n > VQ_COUNT_MAX_N)
      return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "the counts model codes "
                         "at most %u indices, not %lu", VQ_COUNT_MAX_N,
                         (unsigned long)n);
    if ((rc = enc_counts(&c, s, n, p->alphabet, counts, rate)) < 0)
      return rc;
    /* it decodes at a third of the speed of the others: in auto mode it
       must save more than 1/128 of the size */
    if (want == VQ_ENTROPY_AUTO && best->buf &&
        c.size + best->size / 128 >= best->size) {
      free(c.buf);
      c.buf = NULL;
    } else {
      keep(best, &c, st, VQ_ENTROPY_COUNTS, (int)rate);
    }
  }
  return VQ_OK;
}

int vq_entropy_encode(uint8_t **out, size_t *size, vq_entropy_stats *stats,
                      const vq_entropy_params *p, const uint32_t *sym,
                      size_t n, vq_diag *diag) {
  vq_entropy_stats st;
  candidate best = {NULL, 0};
  uint64_t *counts;
  size_t i;
  int rc;
  *out = NULL;
  *size = 0;
  memset(&st, 0, sizeof st);
  if ((rc = check_params(p, diag)) < 0) return rc;
  if (n && !sym)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "no indices given");
  counts = vq_calloc_array(p->alphabet, sizeof *counts);
  if (!counts) return vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
  for (i = 0; i < n; i++) {
    if (sym[i] >= p->alphabet) {
      free(counts);
      return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "index %lu at position "
                         "%lu is not below the alphabet size %lu",
                         (unsigned long)sym[i], (unsigned long)i,
                         (unsigned long)p->alphabet);
    }
    counts[sym[i]]++;
    if (p->context && p->context[i] >= p->contexts) {
      free(counts);
      return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "context class %u at "
                         "position %lu is not below %u", p->context[i],
                         (unsigned long)i, p->contexts);
    }
  }
  st.entropy = n ? entropy_of(counts, p->alphabet, n, &st.distinct) : 0.0;
  rc = encode_all(&best, &st, p, sym, n, counts, diag);
  free(counts);
  if (rc < 0) {
    free(best.buf);
    return rc == VQ_ERR_NOMEM ? vq_diag_set(diag, rc, "out of memory") : rc;
  }
  st.bytes = best.size;
  st.bits_per_symbol = n ? 8.0 * (double)best.size / (double)n : 0.0;
  if (stats) *stats = st;
  *out = best.buf;
  *size = best.size;
  return VQ_OK;
}

/* ---- decoder ------------------------------------------------------------ */

static int dec_static(vq_rc_dec *d, uint32_t *s, size_t n, uint32_t k) {
  vq_stat_model m;
  size_t i;
  int rc = vq_stat_table_read(d, &m, k);
  if (rc < 0) return rc;
  for (i = 0; i < n; i++) {
    s[i] = vq_stat_decode(d, &m);
    if (i % CHECK_EVERY == 0 && (d->error || d->pos > d->size)) break;
  }
  vq_stat_model_clear(&m);
  return VQ_OK;
}

static int dec_adaptive(vq_rc_dec *d, uint32_t *s, size_t n, uint32_t k,
                        size_t w, int model, unsigned rate,
                        const uint8_t *ctx, unsigned nctx) {
  int rc;
  if (model == VQ_ENTROPY_MATCH_CLASS) {
    match_models m;
    if (!ctx || vq_rc_dec_uint(d, VQ_ENTROPY_MAX_CONTEXTS) != nctx - 1)
      return VQ_ERR_FORMAT;
    if ((rc = class_init(&m, k, ctx, nctx, rate)) == VQ_OK)
      match_decode(d, &m, s, n, w);
    class_clear(&m, nctx);
  } else if (model == VQ_ENTROPY_MATCH) {
    match_models m;
    if ((rc = match_init(&m, k, rate)) == VQ_OK)
      match_decode(d, &m, s, n, w);
    vq_sym_model_clear(&m.tree);
  } else if (model == VQ_ENTROPY_MATCH_STATIC) {
    vq_stat_model st;
    match_models m;
    if (k < 2) return VQ_ERR_FORMAT;
    if ((rc = vq_stat_table_read(d, &st, k)) < 0) return rc;
    if ((rc = match_init(&m, 1, rate)) == VQ_OK) {
      m.stat = &st;
      match_decode(d, &m, s, n, w);
    }
    vq_sym_model_clear(&m.tree);
    vq_stat_model_clear(&st);
  } else if (model == VQ_ENTROPY_MATCH_RECENT) {
    vq_stat_model st;
    recent_models m;
    if (k < 2) return VQ_ERR_FORMAT;
    if ((rc = vq_stat_table_read(d, &st, k)) < 0) return rc;
    recent_init(&m, &st, rate);
    recent_decode(d, &m, s, n, w);
    vq_stat_model_clear(&st);
  } else if (model == VQ_ENTROPY_COUNTS) {
    rc = vq_count_decode(d, s, n, k, rate);
  } else if (model == VQ_ENTROPY_ORDER1) {
    order1_models *m = malloc(sizeof *m);
    rc = m ? order1_init(m, k, rate) : VQ_ERR_NOMEM;
    if (rc == VQ_ERR_UNSUPPORTED) rc = VQ_ERR_FORMAT;
    if (rc == VQ_OK) order1_decode(d, m, s, n, w, k);
    if (m) order1_clear(m);
    free(m);
  } else {
    vq_sym_model m;
    size_t i;
    if ((rc = vq_sym_model_init(&m, k, rate)) == VQ_OK)
      for (i = 0; i < n; i++) {
        s[i] = vq_sym_decode(d, &m);
        if (i % CHECK_EVERY == 0 && (d->error || d->pos > d->size)) break;
      }
    vq_sym_model_clear(&m);
  }
  return rc;
}

int vq_entropy_decode(uint32_t *sym, size_t n, uint32_t alphabet,
                      size_t width, const void *buf, size_t size,
                      vq_diag *diag) {
  return vq_entropy_decode_context(sym, n, alphabet, width, NULL, 0, buf,
                                   size, diag);
}

int vq_entropy_decode_context(uint32_t *sym, size_t n, uint32_t alphabet,
                              size_t width, const uint8_t *context,
                              unsigned contexts, const void *buf,
                              size_t size, vq_diag *diag) {
  const uint8_t *b = buf;
  vq_rc_dec d;
  int model, rc = VQ_OK;
  unsigned rate;
  size_t i;
  if (alphabet < 1 || alphabet > VQ_ENTROPY_MAX_ALPHABET || (n && !sym))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "alphabet %lu outside "
                       "[1, %u]", (unsigned long)alphabet,
                       VQ_ENTROPY_MAX_ALPHABET);
  if (context) {
    if (contexts < 2 || contexts > VQ_ENTROPY_MAX_CONTEXTS)
      return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "%u context classes "
                         "outside [2, %u]", contexts,
                         VQ_ENTROPY_MAX_CONTEXTS);
    for (i = 0; i < n; i++)
      if (context[i] >= contexts)
        return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "context class %u at "
                           "position %lu is not below %u", context[i],
                           (unsigned long)i, contexts);
  }
  if (!b || size < HEADER)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "index stream of %lu bytes "
                       "is shorter than its header", (unsigned long)size);
  model = b[0];
  rate = b[1];
  if (model < VQ_ENTROPY_CONSTANT || model > VQ_ENTROPY_LAST_MODEL)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "unknown index model %d", model);
  if ((model >= VQ_ENTROPY_ADAPTIVE) != (rate != 0) || rate > 10)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "invalid rate %u for the %s "
                       "model", rate, vq_entropy_model_name(model));
  vq_rc_dec_init(&d, b + HEADER, size - HEADER);
  switch (model) {
  case VQ_ENTROPY_CONSTANT: {
    uint32_t v = (uint32_t)vq_rc_dec_uint(&d, alphabet);
    for (i = 0; i < n; i++) sym[i] = v;
    break;
  }
  case VQ_ENTROPY_STATIC:
    rc = alphabet < 2 ? VQ_ERR_FORMAT : dec_static(&d, sym, n, alphabet);
    break;
  default:
    if (model == VQ_ENTROPY_MATCH_CLASS && !context) {
      return vq_diag_set(diag, VQ_ERR_FORMAT, "index stream of the "
                         "match-class model, and no context to decode it "
                         "with");
    }
    rc = dec_adaptive(&d, sym, n, alphabet, width, model, rate, context,
                      contexts);
  }
  if (rc == VQ_ERR_NOMEM) return vq_diag_set(diag, rc, "out of memory");
  if (rc == VQ_OK) rc = vq_rc_dec_finish(&d);
  if (rc == VQ_ERR_TRUNCATED)
    return vq_diag_set(diag, rc, "index stream is truncated");
  if (rc < 0)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "index stream is corrupt");
  return VQ_OK;
}
