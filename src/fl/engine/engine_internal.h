/* Private helpers shared by the engine's files. */
#ifndef FEDC_ENGINE_INTERNAL_H
#define FEDC_ENGINE_INTERNAL_H

#include "fedc/engine.h"

/* The task's local optimizer settings as an nn optimizer config. */
int fedc_engine_optim_config(const fedc_task *t, fedc_optim_config *oc, fedc_error *err);

/* 1 if the codec reproduces its input exactly ("none", "zstd"): then the
 * downlink sends whole models; otherwise deltas against the node's copy. */
int fedc_engine_codec_lossless(const fedc_codec *c);

/* The task's initial global model, derived from its seed alone, so nodes
 * can rebuild it without a download (the lossy downlink's first base). */
void fedc_engine_initial_model(const fedc_task *t, const fedc_arch *a, float *x);

#endif
