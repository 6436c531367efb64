/* libvq: umbrella header. */
#ifndef VQ_VQ_H
#define VQ_VQ_H

#include "common.h"
#include "array.h"
#include "safetensors.h"
#include "search.h"
#include "kmeans.h"
#include "codebook.h"
#include "image.h"
#include "file.h"
#include "entropy.h"
#include "sha256.h"
#include "container.h"
#include "tokenfile.h"
#include "tokenset.h"
#include "pvq.h"
#include "rangecoder.h"
#include "imagecodec.h"
#include "rvq.h"
#include "pq.h"
#include "projector.h"
#include "quantizer.h"
#include "latentcodec.h"

#endif /* VQ_VQ_H */
