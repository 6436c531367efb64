/* Helpers shared by the command-line tools. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

int cli_exit_code(int err) {
  switch (err) {
    case VQ_OK: return VQ_EXIT_OK;
    case VQ_ERR_IO:
    case VQ_ERR_NOMEM: return VQ_EXIT_IO;
    case VQ_ERR_ABI: return VQ_EXIT_USAGE;
    default: return VQ_EXIT_DATA;
  }
}

void cli_error(const char *prog, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int cli_fail(const char *prog, int err, const vq_diag *diag,
             const char *what) {
  if (diag && diag->msg[0]) cli_error(prog, "%s", diag->msg);
  else cli_error(prog, "%s: %s", what, vq_strerror(err));
  return cli_exit_code(err);
}

int cli_parse_u64(const char *prog, const char *opt, const char *text,
                  uint64_t lo, uint64_t hi, uint64_t *out) {
  char *end;
  unsigned long long v;
  errno = 0;
  if (!text || !*text || *text == '-') goto bad;
  v = strtoull(text, &end, 10);
  if (errno || *end || v < lo || v > hi) goto bad;
  *out = v;
  return 0;
bad:
  cli_error(prog, "%s: expected a whole number in [%llu, %llu], got '%s'",
            opt, (unsigned long long)lo, (unsigned long long)hi,
            text ? text : "");
  return -1;
}

int cli_parse_int(const char *prog, const char *opt, const char *text,
                  int lo, int hi, int *out) {
  char *end;
  long v;
  errno = 0;
  if (!text || !*text) goto bad;
  v = strtol(text, &end, 10);
  if (errno || *end || v < lo || v > hi) goto bad;
  *out = (int)v;
  return 0;
bad:
  cli_error(prog, "%s: expected a whole number in [%d, %d], got '%s'", opt,
            lo, hi, text ? text : "");
  return -1;
}

int cli_parse_double(const char *prog, const char *opt, const char *text,
                     double lo, double hi, double *out) {
  char *end;
  double v;
  errno = 0;
  if (!text || !*text) goto bad;
  v = strtod(text, &end);
  if (errno || *end || !isfinite(v) || v < lo || v > hi) goto bad;
  *out = v;
  return 0;
bad:
  cli_error(prog, "%s: expected a number in [%g, %g], got '%s'", opt, lo, hi,
            text ? text : "");
  return -1;
}

int cli_show_progress(int quiet, int verbose) {
  if (quiet) return 0;
  return verbose > 0 || isatty(STDERR_FILENO);
}

int cli_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

char *cli_beside(const char *path, const char *name) {
  const char *s = strrchr(path, '/');
  size_t n = s ? (size_t)(s - path) + 1 : 0;
  char *out = malloc(n + strlen(name) + 1);
  if (!out) return NULL;
  memcpy(out, path, n);
  strcpy(out + n, name);
  return out;
}

int cli_parse_layout(const char *prog, const char *opt, const char *text,
                     int allow_nd, cli_layout *out) {
  if (!strcmp(text, "chw")) *out = CLI_LAYOUT_CHW;
  else if (!strcmp(text, "hwc")) *out = CLI_LAYOUT_HWC;
  else if (allow_nd && !strcmp(text, "nd")) *out = CLI_LAYOUT_ND;
  else {
    cli_error(prog, "%s: expected chw%s hwc%s, got '%s'", opt,
              allow_nd ? "," : " or", allow_nd ? " or nd" : "", text);
    return -1;
  }
  return 0;
}

int cli_latent_dims(int ndim, const uint64_t *shape, cli_layout lay,
                    size_t *batch, size_t *c, size_t *h, size_t *w) {
  int o = ndim - 3, hwc = lay == CLI_LAYOUT_HWC;
  if (ndim != 3 && ndim != 4) return -1;
  *batch = o ? (size_t)shape[0] : 1;
  *c = (size_t)(hwc ? shape[o + 2] : shape[o]);
  *h = (size_t)(hwc ? shape[o] : shape[o + 1]);
  *w = (size_t)(hwc ? shape[o + 1] : shape[o + 2]);
  return 0;
}

void cli_chw_to_rows(float *rows, const float *x, size_t batch, size_t c,
                     size_t hw) {
  size_t b, i, j;
  for (b = 0; b < batch; b++)
    for (j = 0; j < c; j++)
      for (i = 0; i < hw; i++)
        rows[(b * hw + i) * c + j] = x[(b * c + j) * hw + i];
}

int cli_sniff(const char *path) {
  unsigned char b[16];
  struct stat st;
  size_t got;
  FILE *f;
  if (stat(path, &st) != 0) return -1;
  if (S_ISDIR(st.st_mode)) return CLI_KIND_DIR;
  f = fopen(path, "rb");
  if (!f) return -1;
  got = fread(b, 1, sizeof b, f);
  fclose(f);
  if (got >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return CLI_KIND_NPY;
  if (got >= 8 && memcmp(b, "\x89PNG", 4) == 0) return CLI_KIND_IMAGE;
  if (got >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
    return CLI_KIND_IMAGE;
  if (got >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6'))
    return CLI_KIND_IMAGE;
  if (got >= 8 && memcmp(b, "\x89VQF\r\n\x1a\n", 8) == 0)
    return CLI_KIND_VQ;
  if (got >= 9 && b[8] == '{' && b[6] == 0 && b[7] == 0)
    return CLI_KIND_SAFETENSORS;
  /* damaged files of a named type: let its reader say what is wrong */
  if (cli_ends_with(path, ".safetensors")) return CLI_KIND_SAFETENSORS;
  if (cli_ends_with(path, ".npy")) return CLI_KIND_NPY;
  if (cli_ends_with(path, ".vq")) return CLI_KIND_VQ;
  return CLI_KIND_UNKNOWN;
}

static int has_image_ext(const char *name) {
  static const char *ext[] = {".png", ".jpg", ".jpeg", ".ppm", ".pgm",
                              ".PNG", ".JPG", ".JPEG", ".PPM", ".PGM"};
  size_t n = strlen(name), i;
  for (i = 0; i < sizeof ext / sizeof *ext; i++) {
    size_t m = strlen(ext[i]);
    if (n > m && strcmp(name + n - m, ext[i]) == 0) return 1;
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push(char ***list, int *n, int *cap, char *s) {
  if (!s) return -1;
  if (*n == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    char **nl = realloc(*list, (size_t)nc * sizeof *nl);
    if (!nl) {
      free(s);
      return -1;
    }
    *list = nl, *cap = nc;
  }
  (*list)[(*n)++] = s;
  return 0;
}

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *s = malloc(a + b + 2);
  if (s) {
    memcpy(s, dir, a);
    s[a] = '/';
    memcpy(s + a + 1, name, b + 1);
  }
  return s;
}

static int expand_dir(const char *prog, const char *dir, char ***list,
                      int *n, int *cap) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int first = *n;
  if (!d) {
    cli_error(prog, "%s: cannot open folder: %s", dir, strerror(errno));
    return VQ_EXIT_IO;
  }
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || !has_image_ext(e->d_name)) continue;
    if (push(list, n, cap, join(dir, e->d_name))) {
      closedir(d);
      cli_error(prog, "out of memory");
      return VQ_EXIT_IO;
    }
  }
  closedir(d);
  if (*n == first) {
    cli_error(prog, "%s: folder holds no PNG, JPEG, PPM or PGM images", dir);
    return VQ_EXIT_DATA;
  }
  qsort(*list + first, (size_t)(*n - first), sizeof **list, cmp_str);
  return 0;
}

int cli_expand_images(const char *prog, char **in, int nin, char ***out,
                      int *nout) {
  char **list = NULL;
  int n = 0, cap = 0, i, rc;
  for (i = 0; i < nin; i++) {
    if (cli_sniff(in[i]) == CLI_KIND_DIR) {
      if ((rc = expand_dir(prog, in[i], &list, &n, &cap)) != 0) goto fail;
    } else if (push(&list, &n, &cap, strdup(in[i]))) {
      cli_error(prog, "out of memory");
      rc = VQ_EXIT_IO;
      goto fail;
    }
  }
  *out = list, *nout = n;
  return 0;
fail:
  cli_free_list(list, n);
  return rc;
}

void cli_free_list(char **list, int n) {
  int i;
  for (i = 0; i < n; i++) free(list[i]);
  free(list);
}

int cli_read_file(const char *prog, const char *path, uint64_t max,
                  uint8_t **buf, size_t *size) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  size_t got;
  *buf = NULL;
  *size = 0;
  if (!f || fstat(fileno(f), &st) != 0) {
    cli_error(prog, "%s: cannot open: %s", path, strerror(errno));
    if (f) fclose(f);
    return VQ_EXIT_IO;
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    cli_error(prog, "%s: not a regular file", path);
    return VQ_EXIT_IO;
  }
  if ((uint64_t)st.st_size > max || (uint64_t)st.st_size >= SIZE_MAX) {
    fclose(f);
    cli_error(prog, "%s: file of %lld bytes exceeds the limit of %llu", path,
              (long long)st.st_size, (unsigned long long)max);
    return VQ_EXIT_DATA;
  }
  *buf = malloc((size_t)st.st_size + 1);
  if (!*buf) {
    fclose(f);
    cli_error(prog, "%s: out of memory", path);
    return VQ_EXIT_IO;
  }
  got = fread(*buf, 1, (size_t)st.st_size, f);
  if (got != (size_t)st.st_size || ferror(f)) {
    fclose(f);
    free(*buf);
    *buf = NULL;
    cli_error(prog, "%s: read error", path);
    return VQ_EXIT_IO;
  }
  fclose(f);
  *size = got;
  return 0;
}

int cli_write_file(const char *prog, const char *path, const void *buf,
                   size_t size) {
  vq_diag diag = {{0}};
  vq_outfile *o;
  FILE *fp;
  int rc = vq_outfile_open(&o, &fp, path, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  if (size && fwrite(buf, 1, size, fp) != size) {
    vq_outfile_abort(o);
    cli_error(prog, "%s: write error", path);
    return VQ_EXIT_IO;
  }
  rc = vq_outfile_commit(o, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  return 0;
}

double cli_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

void cli_print_version(const char *prog) {
  printf("%s (libvq) %s\n", prog, vq_version_string());
}
