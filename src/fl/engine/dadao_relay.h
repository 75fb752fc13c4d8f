/* DADAO across real nodes (dadao_relay.c): the frames of its relay, server
 * -> node and node -> server. Every node keeps its own six vectors (in its
 * client record, saved in its state directory); the server routes only what
 * the algorithm exchanges between neighbours: at a communication event, each
 * of the two nodes' y and z. */
#ifndef FEDC_DADAO_RELAY_H
#define FEDC_DADAO_RELAY_H

#include <stddef.h>

#include "fedc/buf.h"
#include "fedc/error.h"
#include "fedc/proto.h"
#include "fl/strategy/dadao_internal.h"

/* Gradient events of one node in one step (a node has about one per unit of
 * time; the bound keeps the control part within FEDC_PROTO_MAX_JSON). */
#define FEDC_DADAO_MAX_GRADS 1024

/* One step for one node, as the server sends it. */
typedef struct fedc_dadao_step {
    int round, step;
    int first;            /* the node's first step of the round */
    int send_x;           /* answer x at `until` (the round's end), else y and z at `until` */
    double from, until;   /* the node's time when the step starts; where it ends */
    double mu;
    dadao_consts k;
    int n_grads;
    double grads[FEDC_DADAO_MAX_GRADS];
    const float *init;    /* first step of round 1: the starting model (d floats), else NULL */
    const float *peer;    /* the pending communication's peer y then z (2 d floats), or NULL */
    int owned;            /* decoded: init and peer are copies this step frees */
} fedc_dadao_step;

/* Server: the STEP frame of s (init and peer hold d and 2 d floats). */
int fedc_dadao_step_encode(const fedc_dadao_step *s, size_t d, fedc_buf *out, fedc_error *err);
/* Node: a STEP frame m (decoded) into s, for a model of d floats; s->init
 * and s->peer are copies of m's blobs (fedc_dadao_step_free). Every field is
 * checked; errors name it. */
int fedc_dadao_step_decode(const fedc_msg *m, size_t d, fedc_dadao_step *s, fedc_error *err);
void fedc_dadao_step_free(fedc_dadao_step *s);
/* Is m a DADAO step (rather than a gossip relay step)? */
int fedc_dadao_is_step(const fedc_msg *m);
/* Node: the STEP_REPLY: `grads` gradient events played in cpu_s seconds
 * of CPU, the vectors sent (n floats: y then z, or x). */
int fedc_dadao_reply_encode(int round, int step, int grads, double cpu_s, const float *v, size_t n, fedc_buf *out,
                            fedc_error *err);
/* Server: a node's STEP_REPLY for (round, step) carrying n finite floats
 * into out; *grads, the gradient events it played, *cpu_s their CPU time. */
int fedc_dadao_reply_decode(const uint8_t *frame, size_t len, int round, int step, size_t n, float *out,
                            int *grads, double *cpu_s, fedc_error *err);

#endif
