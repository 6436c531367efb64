/* Error codes, diagnostics and version. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include "internal.h"

const char *vq_strerror(int code) {
  switch (code) {
    case VQ_OK: return "success";
    case VQ_ERR_INVALID_ARG: return "invalid argument";
    case VQ_ERR_NOMEM: return "out of memory";
    case VQ_ERR_IO: return "input/output error";
    case VQ_ERR_FORMAT: return "malformed data";
    case VQ_ERR_TRUNCATED: return "truncated data";
    case VQ_ERR_UNSUPPORTED: return "unsupported feature";
    case VQ_ERR_LIMIT: return "size limit exceeded";
    case VQ_ERR_NONFINITE: return "NaN or infinity in input";
    case VQ_ERR_ABI: return "ABI mismatch between header and library";
    case VQ_ERR_ABORTED: return "aborted by callback";
    case VQ_ERR_NOT_FOUND: return "not found";
    default: return code > 0 ? "success" : "unknown error";
  }
}

#define VQ_STR2(x) #x
#define VQ_STR(x) VQ_STR2(x)

const char *vq_version_string(void) {
  return VQ_STR(VQ_VERSION_MAJOR) "." VQ_STR(VQ_VERSION_MINOR) "."
      VQ_STR(VQ_VERSION_PATCH);
}

int vq_version_number(void) { return VQ_VERSION_NUMBER; }

int vq_diag_set(vq_diag *diag, int code, const char *fmt, ...) {
  if (diag) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}
