/* Helpers shared by the command-line tools. Public API only. */
#ifndef VQ_CLI_H
#define VQ_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <vq/vq.h>

/* Exit statuses of every tool (DESIGN.md). */
enum {
  VQ_EXIT_OK = 0,
  VQ_EXIT_USAGE = 1,
  VQ_EXIT_DATA = 2,
  VQ_EXIT_IO = 3
};

/* Exit status for a library error code. */
int cli_exit_code(int err);

/* Prints "prog: message" to stderr (printf-style). */
void cli_error(const char *prog, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Reports a failed library call: the diag message when set, else the
 * error text; returns the matching exit status. */
int cli_fail(const char *prog, int err, const vq_diag *diag,
             const char *what);

/* Strict number parsing; print a usage error and return -1 when text is
 * not a whole number within [lo, hi]. */
int cli_parse_u64(const char *prog, const char *opt, const char *text,
                  uint64_t lo, uint64_t hi, uint64_t *out);
int cli_parse_int(const char *prog, const char *opt, const char *text,
                  int lo, int hi, int *out);
int cli_parse_double(const char *prog, const char *opt, const char *text,
                     double lo, double hi, double *out);

/* 1 when progress should be drawn: stderr is a terminal (or forced with
 * verbose > 0) and quiet is 0. */
int cli_show_progress(int quiet, int verbose);

/* Kind of an input file, from its first bytes. */
typedef enum cli_kind {
  CLI_KIND_UNKNOWN = 0,
  CLI_KIND_NPY,
  CLI_KIND_SAFETENSORS,
  CLI_KIND_IMAGE,
  CLI_KIND_DIR,
  CLI_KIND_VQ
} cli_kind;

/* Sniffs a path; returns CLI_KIND_* or -1 when it cannot be read. */
int cli_sniff(const char *path);

/* Expands inputs: folders become their image files (sorted by name),
 * other paths are kept. *out is a malloc'd array of malloc'd strings. */
int cli_expand_images(const char *prog, char **in, int nin, char ***out,
                      int *nout);
void cli_free_list(char **list, int n);

/* Reads a whole file of at most max bytes into *buf (malloc'd; free()).
 * Prints the problem and returns an exit status on failure, else 0. */
int cli_read_file(const char *prog, const char *path, uint64_t max,
                  uint8_t **buf, size_t *size);

/* Writes buf to path through a temporary file renamed at the end; prints
 * the problem and returns an exit status on failure, else 0. */
int cli_write_file(const char *prog, const char *path, const void *buf,
                   size_t size);

/* Monotonic clock in seconds. */
double cli_now(void);

/* 1 when path ends with suffix. */
int cli_ends_with(const char *path, const char *suffix);

/* The folder of path (up to its last '/') with name appended: name alone
 * when path has no folder. malloc'd; NULL when out of memory. */
char *cli_beside(const char *path, const char *name);

/* How a float .npy holds its vectors: rows of the last axis (nd), or a
 * latent [C, H, W] / [B, C, H, W] (chw) or [H, W, C] / [B, H, W, C]
 * (hwc) whose C-vectors are the vectors. */
typedef enum cli_layout {
  CLI_LAYOUT_AUTO = 0,   /* nd for 1 and 2 axes, chw for 3 and 4 */
  CLI_LAYOUT_CHW,
  CLI_LAYOUT_HWC,
  CLI_LAYOUT_ND
} cli_layout;

/* Parses "chw", "hwc" or "nd" (the ones allowed by `allow_nd`); prints a
 * usage error naming opt and returns -1 otherwise. */
int cli_parse_layout(const char *prog, const char *opt, const char *text,
                     int allow_nd, cli_layout *out);

/* The latent's batch (1 without a batch axis), channels, height and
 * width for a 3- or 4-axis shape in layout chw or hwc; -1 for another
 * number of axes. */
int cli_latent_dims(int ndim, const uint64_t *shape, cli_layout lay,
                    size_t *batch, size_t *c, size_t *h, size_t *w);

/* [B, C, H * W] to rows [B * H * W, C]. */
void cli_chw_to_rows(float *rows, const float *x, size_t batch, size_t c,
                     size_t hw);

/* Writes s as a JSON string literal (with quotes). */
void cli_json_string(FILE *f, const char *s);

/* Standard --version text. */
void cli_print_version(const char *prog);

#endif /* VQ_CLI_H */
