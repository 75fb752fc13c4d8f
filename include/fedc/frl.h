/* Federated Rank Learning (Mozaffari et al., USENIX Security 2023), the
 * parts both ends share. The network's weights stay at fixed random signed
 * constants drawn from the task's seed; what is learned is a score per edge
 * of every weight tensor (dense and conv weights), and the model is those
 * weights masked to the top strategy.frl_sparsity of each tensor's edges by
 * |score| (edge-popup, Ramanujan et al. 2020). The global model vector x
 * holds the scores: on a ranked tensor, edge e has the score of its global
 * rank, s_e = sorted initial scores[rank(e)]; elsewhere (biases, norms) x
 * is unused and their fixed initial values apply.
 *
 * A client trains its scores from x (straight-through gradient
 * dL/ds = dL/dw_eff * w * sign(s)) and uploads, in place of a delta, each
 * edge's rank position in its tensor (0 = lowest score) as exact floats.
 * The server sums the positions over the round's valid rankings and sorts
 * them: the vote is the new global ranking. */
#ifndef FEDC_FRL_H
#define FEDC_FRL_H

#include "fedc/export.h"
#include <stddef.h>

#include "fedc/error.h"
#include "fedc/nn.h"
#include "fedc/task.h"

typedef struct fedc_frl fedc_frl;

/* The shared state of a task: layout, fixed weights (from w0, the task's
 * initial model), sorted initial scores. Holds scratch: one per thread. */
FEDC_API fedc_frl *fedc_frl_create(const fedc_task *t, const fedc_arch *a, const float *w0, fedc_error *err);
FEDC_API void fedc_frl_free(fedc_frl *f);
/* The initial global model: the initial scores (ranking) from the seed. */
FEDC_API void fedc_frl_initial_scores(const fedc_frl *f, float *x);
/* The parameters scores x stand for (masked fixed weights), into w. */
FEDC_API void fedc_frl_weights(const fedc_frl *f, const float *x, float *w);
/* Score gradient from the gradient g with respect to the masked weights,
 * at scores s: straight-through, zero outside ranked tensors. */
FEDC_API void fedc_frl_score_grad(const fedc_frl *f, const float *s, const float *g, float *gs);
/* Each edge's rank position in its tensor by ascending score (ties by
 * index), as floats; 0 outside ranked tensors. */
FEDC_API void fedc_frl_rank_positions(const fedc_frl *f, const float *s, float *pos);
/* Scores of a ranking given as rank positions: s_e = sorted[pos_e]. */
FEDC_API void fedc_frl_scores_of_positions(const fedc_frl *f, const float *pos, float *s);
/* 1 if pos (d floats) is a valid upload: on every ranked tensor a
 * permutation of 0..count-1, zero elsewhere. */
FEDC_API int fedc_frl_is_ranking(const fedc_frl *f, const float *pos);
/* Reverses a ranking in place (position p -> count-1-p per tensor). */
FEDC_API void fedc_frl_reverse(const fedc_frl *f, float *pos);
/* The vote: positions of the ranking obtained by sorting the summed
 * positions (ties by index) of each tensor; sums holds d doubles. */
FEDC_API void fedc_frl_vote(const fedc_frl *f, const double *sums, float *pos);
FEDC_API size_t fedc_frl_nparams(const fedc_frl *f);

#endif
