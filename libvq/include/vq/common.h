/* libvq: common definitions shared by every public header. */
#ifndef VQ_COMMON_H
#define VQ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VQ_VERSION_MAJOR 0
#define VQ_VERSION_MINOR 1
#define VQ_VERSION_PATCH 0
#define VQ_VERSION_NUMBER \
  (VQ_VERSION_MAJOR * 10000 + VQ_VERSION_MINOR * 100 + VQ_VERSION_PATCH)

/* Version of the parameter-struct ABI; checked by every *_params_init(). */
#define VQ_ABI_VERSION 1

#if defined(VQ_BUILDING_LIBRARY) && defined(__GNUC__)
# define VQ_EXPORT __attribute__((visibility("default")))
#else
# define VQ_EXPORT
#endif

#if defined(__GNUC__)
# define VQ_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#else
# define VQ_WARN_UNUSED_RESULT
#endif

/* Error codes. Every call that can fail returns 0 (or a count) on success
 * and one of these negative values on failure. The values are fixed. */
enum {
  VQ_OK = 0,
  VQ_ERR_INVALID_ARG = -1,  /* a parameter is out of range or inconsistent */
  VQ_ERR_NOMEM = -2,        /* memory allocation failed */
  VQ_ERR_IO = -3,           /* a file could not be opened, read or written */
  VQ_ERR_FORMAT = -4,       /* input data is malformed */
  VQ_ERR_TRUNCATED = -5,    /* input data ends early */
  VQ_ERR_UNSUPPORTED = -6,  /* valid input using a feature libvq lacks */
  VQ_ERR_LIMIT = -7,        /* a size exceeds a configured limit */
  VQ_ERR_NONFINITE = -8,    /* NaN or infinity in the input */
  VQ_ERR_ABI = -9,          /* header and library disagree on a struct */
  VQ_ERR_ABORTED = -10,     /* a progress callback asked to stop */
  VQ_ERR_NOT_FOUND = -11    /* a named item is absent */
};

/* Returns a static English description of an error code; never NULL. */
VQ_EXPORT const char *vq_strerror(int code);

/* Returns the library version as "MAJOR.MINOR.PATCH". */
VQ_EXPORT const char *vq_version_string(void);

/* Returns VQ_VERSION_NUMBER of the library actually linked. */
VQ_EXPORT int vq_version_number(void);

/* Frees memory that libvq allocated for the caller. Accepts NULL. */
VQ_EXPORT void vq_free(void *ptr);

/* Human-readable detail of the last failure of one call. Functions that
 * parse files or validate parameters take an optional vq_diag* (NULL is
 * fine) and, on failure, write a message that names the file or parameter
 * and the problem. Owned by the caller; no global state. */
typedef struct vq_diag {
  char msg[512];
} vq_diag;

/* Progress report passed to callbacks during long work. */
typedef struct vq_progress {
  const char *stage;    /* short name of the current phase, e.g. "lloyd" */
  int iter;             /* current iteration, from 1 */
  int iters;            /* planned iterations (0 when unknown) */
  int redo;             /* current restart, from 1 */
  int nredo;            /* planned restarts */
  double mse;           /* mean squared error per component, current */
  double utilization;   /* share of codes used at least once, in [0, 1] */
  double perplexity;    /* exp(entropy of code usage), in [1, k] */
  double seconds;       /* wall time of this iteration */
} vq_progress;

/* Progress callback: return 0 to continue, non-zero to abort the call,
 * which then returns VQ_ERR_ABORTED. */
typedef int (*vq_progress_fn)(const vq_progress *p, void *user);

#ifdef __cplusplus
}
#endif
#endif /* VQ_COMMON_H */
