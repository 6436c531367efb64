/* The PVQ search (libvq/pvqsearch.c) compiled with AVX2 enabled and FMA
 * contraction off: the same codewords in fewer instructions. */
#define VQ_PVQ_AVX2_VARIANT 1
#include "../pvqsearch.c"
