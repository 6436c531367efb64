/* libvq: output files that appear whole or not at all. */
#ifndef VQ_FILE_H
#define VQ_FILE_H

#include <stdio.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An output file written under a temporary name beside its path and
 * renamed onto it by vq_outfile_commit(): a failed or abandoned write
 * never leaves a partial file and never replaces an existing one. */
typedef struct vq_outfile vq_outfile;

/* Creates the temporary file; *fp is where to write (owned by f). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_outfile_open(
    vq_outfile **f, FILE **fp, const char *path, vq_diag *diag);

/* Flushes and closes the stream, checking every error, and renames the
 * file onto its path. On failure the temporary file is removed. Frees f
 * in every case. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_outfile_commit(vq_outfile *f,
                                                      vq_diag *diag);

/* Closes and removes the temporary file; frees f. Accepts NULL. */
VQ_EXPORT void vq_outfile_abort(vq_outfile *f);

#ifdef __cplusplus
}
#endif
#endif /* VQ_FILE_H */
