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

/* Creates path.tmp-PID-N exclusively; the kernel applies the umask to the
 * 0666 mode, as for any new file, with no process-wide state touched. */
static int create_temp(char *tmp, const char *path, size_t n) {
  static const char hex[] = "0123456789abcdef";
  unsigned long long r = (unsigned long long)getpid() * 0x9e3779b97f4a7c15ULL
                         ^ (unsigned long long)(uintptr_t)tmp;
  int attempt, fd = -1, i;
  for (attempt = 0; attempt < 100 && fd < 0; attempt++) {
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-", 5);
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    for (i = 0; i < 10; i++) tmp[n + 5 + i] = hex[(r >> (60 - 4 * i)) & 15];
    tmp[n + 15] = 0;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  return fd;
}

int vq_atomic_open(vq_atomic_file *a, const char *path, vq_diag *diag) {
  size_t n = strlen(path);
  int fd;
  a->fp = NULL;
  a->path = NULL;
  a->tmp_path = malloc(n + 16);
  if (!a->tmp_path) return vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
  fd = create_temp(a->tmp_path, path, n);
  if (fd < 0) {
    int e = errno;
    free(a->tmp_path);
    a->tmp_path = NULL;
    return vq_diag_set(diag, VQ_ERR_IO, "%s: cannot create: %s", path,
                       strerror(e));
  }
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

/* Public form of the atomic writer. */
struct vq_outfile {
  vq_atomic_file a;
};

int vq_outfile_open(vq_outfile **f, FILE **fp, const char *path,
                    vq_diag *diag) {
  int rc;
  if (!f || !fp || !path) return VQ_ERR_INVALID_ARG;
  *f = malloc(sizeof **f);
  *fp = NULL;
  if (!*f) return vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
  if ((rc = vq_atomic_open(&(*f)->a, path, diag)) < 0) {
    free(*f);
    *f = NULL;
    return rc;
  }
  *fp = (*f)->a.fp;
  return VQ_OK;
}

int vq_outfile_commit(vq_outfile *f, vq_diag *diag) {
  int rc;
  if (!f) return VQ_ERR_INVALID_ARG;
  rc = vq_atomic_commit(&f->a, diag);
  free(f);
  return rc;
}

void vq_outfile_abort(vq_outfile *f) {
  if (!f) return;
  vq_atomic_abort(&f->a);
  free(f);
}
