/* The gossip relay's frames (gossip_relay.c): a deployed mixing strategy's
 * steps, server -> node and node -> server. */
#ifndef FEDC_GOSSIP_RELAY_H
#define FEDC_GOSSIP_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/proto.h"
#include "fedc/strategy.h"

/* Members of one row of a relayed mixing matrix (the node and its
 * neighbours); the control JSON must fit FEDC_PROTO_MAX_JSON. */
#define FEDC_RELAY_MAX_ROW 1024
/* Tensors of a model whose layout a variance-corrected push carries (as
 * many as an external model's manifest may name). */
#define FEDC_RELAY_MAX_TENSORS 4096

/* Server: node `self`-th member's STEP frame for gossip step `step` of
 * `round`: the row's m members (ids, weights w), their models x and, in the
 * first step, their updates (delta NULL, or delta[q] NULL for a member that
 * did not train), d floats each. */
int fedc_relay_step_encode(int round, int step, int self, int m, const int *ids, const double *w,
                           const float *const *x, const float *const *delta, size_t d, fedc_buf *out,
                           fedc_error *err);
/* Server: the STEP frame of a pairwise gossip push in `wave` of `round`:
 * members ids[0] (the receiver, which the frame goes to) and ids[1] (the
 * sender; m = 1: the receiver alone, taking its update), their models x and
 * updates delta (delta NULL or delta[q] NULL: none), the merge (corrected:
 * gossip-vc's, over layout's tensors). */
int fedc_relay_push_encode(int round, int wave, int m, const int *ids, const float *const *x,
                           const float *const *delta, size_t d, int corrected, const fedc_param_layout *layout,
                           fedc_buf *out, fedc_error *err);
/* Node: the STEP_REPLY to a relay STEP (decoded, m), carrying its mixed
 * model of d floats. Every field is checked; errors name it. */
int fedc_relay_answer(size_t d, const fedc_msg *m, fedc_buf *reply, fedc_error *err);
/* Server: a node's STEP_REPLY for (round, step): its d finite floats into out. */
int fedc_relay_reply_decode(const uint8_t *frame, size_t len, int round, int step, size_t d, float *out,
                            fedc_error *err);

#endif
