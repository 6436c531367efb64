/* Read-only file maps and atomic (temporary file + rename) writes. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

int vq_map_file(vq_map *m, const char *path, uint64_t max_size,
                vq_diag *diag) {
  struct stat st;
  int fd;
  void *p;
  m->data = NULL;
  m->size = 0;
  m->mapped = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return vq_diag_set(diag, VQ_ERR_IO, "%s: cannot open: %s", path,
                       strerror(errno));
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return vq_diag_set(diag, VQ_ERR_IO, "%s: cannot stat: %s", path,
                       strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return vq_diag_set(diag, VQ_ERR_IO, "%s: not a regular file", path);
  }
  if (max_size && (uint64_t)st.st_size > max_size) {
    close(fd);
    return vq_diag_set(diag, VQ_ERR_LIMIT,
                       "%s: file of %lld bytes exceeds the limit of %llu",
                       path, (long long)st.st_size,
                       (unsigned long long)max_size);
  }
  if ((uint64_t)st.st_size > SIZE_MAX) {
    close(fd);
    return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: file too large", path);
  }
  if (st.st_size == 0) {
    close(fd);
    return VQ_OK;
  }
  p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED)
    return vq_diag_set(diag, VQ_ERR_IO, "%s: cannot map: %s", path,
                       strerror(errno));
  m->data = p;
  m->size = (size_t)st.st_size;
  m->mapped = 1;
  return VQ_OK;
}

void vq_map_release(vq_map *m) {
  if (m->mapped && m->data) munmap((void *)m->data, m->size);
  else free((void *)m->data);
  m->data = NULL;
  m->size = 0;
  m->mapped = 0;
}

int vq_atomic_open(vq_atomic_file *a, const char *path, vq_diag *diag) {
  size_t n = strlen(path);
  mode_t mask;
  int fd;
  a->fp = NULL;
  a->path = NULL;
  a->tmp_path = malloc(n + 16);
  if (!a->tmp_path) return vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
  memcpy(a->tmp_path, path, n);
  memcpy(a->tmp_path + n, ".tmp-XXXXXX", 12);
  fd = mkstemp(a->tmp_path);
  if (fd < 0) {
    int e = errno;
    free(a->tmp_path);
    a->tmp_path = NULL;
    return vq_diag_set(diag, VQ_ERR_IO, "%s: cannot create: %s", path,
                       strerror(e));
  }
  /* mkstemp makes 0600 files; give the result the usual mode. */
  mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0) { /* not fatal */ }
  a->fp = fdopen(fd, "wb");
  a->path = vq_strdup(path);
  if (!a->fp || !a->path) {
    if (a->fp) fclose(a->fp);
    else close(fd);
    unlink(a->tmp_path);
    free(a->tmp_path);
    free(a->path);
    a->fp = NULL;
    a->tmp_path = a->path = NULL;
    return vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
  }
  return VQ_OK;
}

static void atomic_free(vq_atomic_file *a) {
  free(a->tmp_path);
  free(a->path);
  a->tmp_path = a->path = NULL;
  a->fp = NULL;
}

int vq_atomic_commit(vq_atomic_file *a, vq_diag *diag) {
  int bad = ferror(a->fp);
  int e = 0;
  if (fflush(a->fp) != 0) bad = 1, e = errno;
  if (fclose(a->fp) != 0) bad = 1, e = e ? e : errno;
  a->fp = NULL;
  if (bad) {
    unlink(a->tmp_path);
    vq_diag_set(diag, VQ_ERR_IO, "%s: write failed: %s", a->path,
                strerror(e ? e : EIO));
    atomic_free(a);
    return VQ_ERR_IO;
  }
  if (rename(a->tmp_path, a->path) != 0) {
    e = errno;
    unlink(a->tmp_path);
    vq_diag_set(diag, VQ_ERR_IO, "%s: cannot rename temporary file: %s",
                a->path, strerror(e));
    atomic_free(a);
    return VQ_ERR_IO;
  }
  atomic_free(a);
  return VQ_OK;
}

void vq_atomic_abort(vq_atomic_file *a) {
  if (a->fp) fclose(a->fp);
  if (a->tmp_path) unlink(a->tmp_path);
  atomic_free(a);
}
