/* Robust aggregation: one "combine these updates" interface that every
 * strategy calls in place of the plain weighted mean (strategy.aggregator).
 *
 *   mean          weighted by sample count (FedAvg)
 *   median        coordinate-wise median (Yin et al. 2018)
 *   trimmed-mean  coordinate-wise mean without f values at each end
 *   krum          the update closest to its n-f-2 nearest (Blanchard et al. 2017)
 *   multi-krum    the mean of the m best krum scores
 *   bulyan        krum selection of n-2f, then a trimmed mean (El Mhamdi et al. 2018)
 *   geomed        geometric median, smoothed Weiszfeld (RFA, Pillutla et al. 2022)
 *   flag          Flag Aggregator: subspace of the normalised updates by IRLS
 *                 (Almasi et al. 2023)
 *   mudhog        MUD-HoG: long/short per-client histories flag malicious and
 *                 unreliable clients (Gupta et al. 2022)
 *   frl           Federated Rank Learning: clients send edge rankings of a
 *                 supermask over fixed random weights; the server votes
 *                 (Mozaffari et al. 2023)
 *
 * strategy.norm_bound scales every update down to an L2 bound first.
 * After each call the combiner tells, per update, what it decided
 * (kept / left out / malicious / unreliable) and why: the engine reports it
 * in the metrics, a deployment flags the nodes. The combiner never sees
 * which clients are attackers. */
#ifndef FEDC_AGGREGATE_H
#define FEDC_AGGREGATE_H

#include "fedc/export.h"
#include <stddef.h>

#include "fedc/error.h"
#include "fedc/nn.h"
#include "fedc/strategy.h"
#include "fedc/task.h"

typedef enum fedc_verdict {
    FEDC_VERDICT_KEPT = 0,   /* part of the combined update */
    FEDC_VERDICT_LEFT_OUT,   /* the rule's selection left it out (krum family, not a ranking) */
    FEDC_VERDICT_MALICIOUS,  /* a detector judged the client malicious: left out */
    FEDC_VERDICT_UNRELIABLE, /* judged honest but unreliable: kept at a reduced weight */
} fedc_verdict;

/* "kept", "left-out", "malicious", "unreliable". */
FEDC_API const char *fedc_verdict_name(fedc_verdict v);

typedef struct fedc_combiner fedc_combiner;

/* For task t over a model of d parameters and a federation of n_clients
 * (MUD-HoG keeps state per client id in [0, n_clients)). a is the model's
 * architecture: FRL ranks its weight tensors; the other rules use only d,
 * so a may be NULL for them (an external model, which has none). w0 is the
 * task's initial model: FRL's fixed weights come from it (others ignore it;
 * NULL is fine for them). */
FEDC_API fedc_combiner *fedc_combiner_create(const fedc_task *t, const fedc_arch *a, size_t d, const float *w0,
                                             int n_clients, fedc_error *err);
FEDC_API void fedc_combiner_free(fedc_combiner *c);

/* out (d floats) <- the combined delta of n updates of round `round`; x is
 * the current global model (FRL's vote replaces it: out = vote - x).
 * Updates of clients outside [0, n_clients) are left out. Fails, out
 * untouched, when no update is usable. */
FEDC_API int fedc_combine(fedc_combiner *c, const fedc_update *u, int n, int round, const float *x, float *out,
                 fedc_error *err);

/* The engine's side of a strategy's "combine these updates" hook
 * (fedc_strategy_set_combine(s, fedc_combiner_combine_fn, c)): before each
 * fedc_strategy_aggregate, fedc_combiner_round gives the round and the
 * current model; the hook then runs fedc_combine and returns the number of
 * updates it kept (<= 0 when it failed: fedc_combiner_error says why). */
FEDC_API void fedc_combiner_round(fedc_combiner *c, int round, const float *x);
FEDC_API double fedc_combiner_combine_fn(void *ctx, const fedc_update *u, int n, size_t d, float *out);
FEDC_API const char *fedc_combiner_error(const fedc_combiner *c);
/* Updates in the last fedc_combine call, and the client of update i. */
FEDC_API int fedc_combiner_count(const fedc_combiner *c);
FEDC_API int fedc_combiner_client(const fedc_combiner *c, int i);

/* What the last fedc_combine decided about its update i; why (if not NULL)
 * gets a short reason ("" when kept normally), valid until the next call. */
FEDC_API fedc_verdict fedc_combiner_verdict(const fedc_combiner *c, int i, const char **why);
/* Updates the last call scaled down to strategy.norm_bound. */
FEDC_API int fedc_combiner_clipped(const fedc_combiner *c);

/* Replaces the task's initial model x (the w0 given at creation) by the
 * rule's starting point: FRL's initial scores; the other rules keep x. */
FEDC_API void fedc_combiner_initial_model(const fedc_combiner *c, float *x);
/* The parameters the global model x stands for: x itself, except under
 * frl, where x holds edge scores and the model is the fixed random weights
 * masked by the top-scored edges (written to an internal buffer). */
FEDC_API const float *fedc_combiner_model(fedc_combiner *c, const float *x);

#endif
