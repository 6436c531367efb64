/* Runs a fuzz target over files and folders of inputs, as libFuzzer would
 * run one input: for make check, which replays the committed corpus with
 * the ordinary compiler (and under the sanitizers when configured so). */
#include "config.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  long n;
  if (!f) return -1;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return -1;
  }
  buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int i, files = 0, errors = 0;
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      char path[4096];
      if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", argv[i]);
        return 1;
      }
      while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
        if (run_file(path) < 0) errors++;
        else files++;
      }
      closedir(d);
    } else if (run_file(argv[i]) < 0) {
      errors++;
    } else {
      files++;
    }
  }
  fprintf(stderr, "replay: %d inputs run, %d unreadable\n", files, errors);
  return errors || files == 0;
}
