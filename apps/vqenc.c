/* vqenc: compresses token files (integer .npy) into .vq files. */
#include "config.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *prog = "vqenc";

/* Largest input read into memory. */
#define MAX_INPUT ((uint64_t)1 << 36)

static void usage(FILE *f) {
  fprintf(f,
"Usage: vqenc [options] IN.npy -o OUT.vq\n"
"\n"
"A float .npy (float16, float32 or float64; weights, latents, features)\n"
"is quantized with gain-shape pyramid VQ: its last axis is cut into\n"
"blocks, each coded as a gain and the nearest PVQ codeword of K pulses.\n"
"vqdec returns a float32 .npy of the same shape.\n"
"\n"
"An integer .npy is a token file, of any shape (codebook\n"
"indices, for example), into a .vq file; vqdec restores the very same\n"
"bytes. Indices are entropy-coded with the model that gives the smallest\n"
"file: a frequency table sent in the stream, adaptive distributions,\n"
"adaptive distributions after 'same as the left / upper neighbour' flags\n"
"(the upper neighbour is one row of the last axis back), the same flags\n"
"then a frequency table, or adaptive distributions conditioned on the\n"
"left neighbour (alphabets up to 256).\n"
"\n"
"Options:\n"
"  -o, --output FILE  the .vq file to write (required)\n"
"\n"
"Float input (PVQ):\n"
"  --block N          values per block along the last axis (default 32)\n"
"  --pulses K         pulses per block (default: from --bits)\n"
"  --bits B           shape bits per value when --pulses is not given\n"
"                     (default 2)\n"
"  --step S           gain step (default: balanced against the shape\n"
"                     error)\n"
"  --beta B           gain companding exponent, >= 1 (default 1)\n"
"  --refine           refine the pulse search (blocks with N K <= 4096)\n"
"  --threads N        threads for the search (default: all cores)\n"
"\n"
"Integer input (tokens):\n"
"  --alphabet K       token values lie in [0, K) (default: the range of\n"
"                     the data, negative values included)\n"
"  --model M          auto (default), static, adaptive, match,\n"
"                     match-static, order1 or counts\n"
"  --json             print statistics as one JSON object on stdout\n"
"  -q, --quiet        print nothing on success\n"
"  -v, --verbose      (accepted for symmetry with vqdec)\n"
"  -h, --help         this help\n"
"  --version          print the version\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 bad input data, 3 I/O error.\n");
}

static int parse_model(const char *s, vq_entropy_model *m) {
  static const vq_entropy_model all[] = {VQ_ENTROPY_AUTO, VQ_ENTROPY_STATIC,
                                         VQ_ENTROPY_ADAPTIVE,
                                         VQ_ENTROPY_MATCH,
                                         VQ_ENTROPY_MATCH_STATIC,
                                         VQ_ENTROPY_ORDER1,
                                         VQ_ENTROPY_COUNTS};
  size_t i;
  for (i = 0; i < sizeof all / sizeof *all; i++)
    if (!strcmp(s, vq_entropy_model_name(all[i]))) {
      *m = all[i];
      return 0;
    }
  cli_error(prog, "--model: expected auto, static, adaptive, match, "
            "match-static, order1 or counts, got '%s'", s);
  return -1;
}

static void print_json(const char *in, const char *out,
                       const vq_tokenfile_stats *st, double seconds) {
  printf("{\"input\": ");
  cli_json_string(stdout, in);
  printf(", \"output\": ");
  cli_json_string(stdout, out);
  printf(", \"kind\": \"tokens\", \"tokens\": %llu, \"alphabet\": %lu, "
         "\"offset\": %lld, \"model\": \"%s\", \"rate\": %d, "
         "\"distinct\": %lu, \"input_bytes\": %zu, \"bytes\": %zu, "
         "\"payload_bytes\": %zu, \"bits_per_token\": %.6f, "
         "\"payload_bits_per_token\": %.6f, \"entropy_bits\": %.6f, "
         "\"seconds\": %.6f}\n",
         (unsigned long long)st->count, (unsigned long)st->alphabet,
         (long long)st->offset, vq_entropy_model_name(st->entropy.model),
         st->entropy.rate, (unsigned long)st->entropy.distinct,
         st->input_bytes, st->bytes, st->payload_bytes, st->bits_per_token,
         st->entropy.bits_per_symbol, st->entropy.entropy, seconds);
}

static void print_pvq_json(const char *in, const char *out,
                           const vq_pvq_stats *st, double seconds) {
  printf("{\"input\": ");
  cli_json_string(stdout, in);
  printf(", \"output\": ");
  cli_json_string(stdout, out);
  printf(", \"kind\": \"pvq\", \"pulses\": %lu, \"step\": %.9g, "
         "\"blocks\": %llu, \"bytes\": %zu, \"bits_per_value\": %.6f, "
         "\"mse\": %.9g, \"snr_db\": %.4f, \"seconds\": %.6f}\n",
         (unsigned long)st->k, st->step, (unsigned long long)st->blocks,
         st->bytes, st->bits_per_value, st->mse, st->snr_db, seconds);
}

static int encode_pvq(const char *in, const char *out,
                      const vq_pvq_params *p, int json, int quiet) {
  vq_diag diag = {{0}};
  vq_pvq_stats st;
  vq_array *a = NULL;
  uint8_t *vq = NULL;
  size_t vq_size;
  double t0 = cli_now();
  int rc = vq_npy_read(&a, in, VQ_DTYPE_F32, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  if (a->ndim < 1) {
    vq_array_destroy(a);
    cli_error(prog, "%s: a scalar has no axis to cut into blocks", in);
    return VQ_EXIT_DATA;
  }
  rc = vq_pvqfile_encode(&vq, &vq_size, &st, p, a->data, a->ndim, a->shape,
                         &diag);
  vq_array_destroy(a);
  if (rc < 0) {
    cli_error(prog, "%s: %s", in, diag.msg[0] ? diag.msg : vq_strerror(rc));
    return cli_exit_code(rc);
  }
  rc = cli_write_file(prog, out, vq, vq_size);
  vq_free(vq);
  if (rc) return rc;
  if (json) print_pvq_json(in, out, &st, cli_now() - t0);
  else if (!quiet)
    fprintf(stderr, "%s: %llu blocks of %u, %lu pulses: %zu bytes, %.4f "
            "bits/value, SNR %.2f dB\n", in, (unsigned long long)st.blocks,
            p->block, (unsigned long)st.k, st.bytes, st.bits_per_value,
            st.snr_db);
  return 0;
}

/* 1 when the .npy at path holds floating-point data. */
static int is_float_npy(const char *path) {
  vq_array *a = NULL;
  int f;
  if (vq_npy_read(&a, path, VQ_DTYPE_NONE, NULL, NULL) < 0) return 0;
  f = a->dtype == VQ_DTYPE_F16 || a->dtype == VQ_DTYPE_F32 ||
      a->dtype == VQ_DTYPE_F64 || a->dtype == VQ_DTYPE_BF16;
  vq_array_destroy(a);
  return f;
}

static int encode_tokens(const char *in, const char *out,
                         const vq_tokenfile_params *p, int json, int quiet) {
  vq_diag diag = {{0}};
  vq_tokenfile_stats st;
  uint8_t *buf, *vq = NULL;
  size_t size, vq_size;
  double t0 = cli_now();
  int rc = cli_read_file(prog, in, MAX_INPUT, &buf, &size);
  if (rc) return rc;
  rc = vq_tokenfile_encode(&vq, &vq_size, &st, p, buf, size, &diag);
  free(buf);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  rc = cli_write_file(prog, out, vq, vq_size);
  vq_free(vq);
  if (rc) return rc;
  if (json) print_json(in, out, &st, cli_now() - t0);
  else if (!quiet)
    fprintf(stderr, "%s: %llu tokens, alphabet %lu: %zu -> %zu bytes, "
            "%.4f bits/token (order-0 entropy %.4f), %s model\n", in,
            (unsigned long long)st.count, (unsigned long)st.alphabet,
            st.input_bytes, st.bytes, st.bits_per_token,
            st.entropy.entropy, vq_entropy_model_name(st.entropy.model));
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"output", required_argument, 0, 'o'},
    {"alphabet", required_argument, 0, 'K'},
    {"model", required_argument, 0, 'M'},
    {"block", required_argument, 0, 'B'},
    {"pulses", required_argument, 0, 'P'},
    {"bits", required_argument, 0, 'b'},
    {"step", required_argument, 0, 'S'},
    {"beta", required_argument, 0, 'e'},
    {"refine", no_argument, 0, 'R'},
    {"threads", required_argument, 0, 't'},
    {"json", no_argument, 0, 'j'},
    {"quiet", no_argument, 0, 'q'},
    {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0}
  };
  vq_tokenfile_params p;
  vq_pvq_params pp;
  const char *out = NULL;
  int c, json = 0, quiet = 0, kind;
  uint64_t k;
  double v;
  if (vq_tokenfile_params_init(&p) < 0 || vq_pvq_params_init(&pp) < 0) {
    cli_error(prog, "library and header disagree (ABI)");
    return VQ_EXIT_USAGE;
  }
  while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'K':
        if (cli_parse_u64(prog, "--alphabet", optarg, 1,
                          VQ_ENTROPY_MAX_ALPHABET, &k))
          return VQ_EXIT_USAGE;
        p.alphabet = (uint32_t)k;
        break;
      case 'M':
        if (parse_model(optarg, &p.model)) return VQ_EXIT_USAGE;
        break;
      case 'B':
        if (cli_parse_u64(prog, "--block", optarg, 1, VQ_PVQ_MAX_N, &k))
          return VQ_EXIT_USAGE;
        pp.block = (uint32_t)k;
        break;
      case 'P':
        if (cli_parse_u64(prog, "--pulses", optarg, 1, VQ_PVQ_MAX_K, &k))
          return VQ_EXIT_USAGE;
        pp.k = (uint32_t)k;
        break;
      case 'b':
        if (cli_parse_double(prog, "--bits", optarg, 0.001, 64.0, &v))
          return VQ_EXIT_USAGE;
        pp.bits = v;
        break;
      case 'S':
        if (cli_parse_double(prog, "--step", optarg, 1e-30, 1e30, &v))
          return VQ_EXIT_USAGE;
        pp.step = (float)v;
        break;
      case 'e':
        if (cli_parse_double(prog, "--beta", optarg, 1.0, 16.0, &v))
          return VQ_EXIT_USAGE;
        pp.beta = (float)v;
        break;
      case 'R': pp.flags |= VQ_PVQ_REFINE; break;
      case 't':
        if (cli_parse_int(prog, "--threads", optarg, 1, 1024, &pp.nthreads))
          return VQ_EXIT_USAGE;
        break;
      case 'j': json = 1; break;
      case 'q': quiet = 1; break;
      case 'v': break;
      case 'h': usage(stdout); return 0;
      case 'V': cli_print_version(prog); return 0;
      default:
        fprintf(stderr, "Try 'vqenc --help'.\n");
        return VQ_EXIT_USAGE;
    }
  }
  if (optind + 1 != argc || !out) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  p.name = argv[optind];
  kind = cli_sniff(argv[optind]);
  if (kind == -1) {
    cli_error(prog, "%s: cannot read file", argv[optind]);
    return VQ_EXIT_IO;
  }
  if (kind != CLI_KIND_NPY) {
    cli_error(prog, "%s: not a .npy file (vqenc codes integer token files "
              "and float arrays so far)", argv[optind]);
    return VQ_EXIT_DATA;
  }
  if (is_float_npy(argv[optind]))
    return encode_pvq(argv[optind], out, &pp, json, quiet);
  return encode_tokens(argv[optind], out, &p, json, quiet);
}
