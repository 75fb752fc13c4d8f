/* SecAgg+ building blocks: Shamir sharing over GF(2^61 - 1), the sparse
 * masking graph, mask streams, fixed-point quantisation, and the wire sizes
 * the client and server halves agree on. */
#ifndef FEDC_SECAGG_INTERNAL_H
#define FEDC_SECAGG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/protocol.h"
#include "fedc/rng.h"

#define SA_SECRET 32 /* bytes of a mask seed or a private key */
/* A 32-byte secret as 5 field elements of 7 bytes (56 bits < 61). */
#define SA_CHUNKS 5
#define SA_SHARE_BYTES (4 + 8 * SA_CHUNKS) /* x, then y per chunk */
#define SA_PK 32
#define SA_MAX_DEGREE 255 /* neighbours per node (and so shares needed) at most */
/* Encrypted pair of shares u -> v: nonce, MAC, from, to, round, two shares. */
#define SA_PLAIN_BYTES (12 + 2 * SA_SHARE_BYTES)
#define SA_CT_BYTES (24 + 16 + SA_PLAIN_BYTES)
/* Fixed point: a coordinate in [-clip, clip] maps to [-2^30, 2^30]; a sum
 * of weights <= 1 of such values stays inside int32. */
#define SA_FIX_ONE 1073741824.0

/* ---- Shamir over the prime field p = 2^61 - 1 ---- */
typedef struct sa_share {
    uint32_t x;               /* evaluation point, 1..n */
    uint64_t y[SA_CHUNKS];
} sa_share;
/* Splits a secret into n shares at points xs (distinct, non-zero), any t of
 * which reconstruct it; coefficients from the CSPRNG. */
void sa_shamir_split(const uint8_t secret[SA_SECRET], int n, int t, const uint32_t *xs, sa_share *out);
/* Reconstructs from m >= t shares with distinct points (uses the first t);
 * -1 if fewer than t, repeated points, or a value out of the field. */
int sa_shamir_combine(const sa_share *shares, int m, int t, uint8_t secret[SA_SECRET]);
void sa_share_pack(const sa_share *s, uint8_t out[SA_SHARE_BYTES]);
int sa_share_unpack(const uint8_t in[SA_SHARE_BYTES], sa_share *s);

/* ---- The masking graph: Harary graph H(k, n) under a random relabelling
 * (Bell et al. 2020, section 3), so each node has k neighbours. ---- */
/* Degree used for n participants when `requested` (0 = automatic). */
int sa_graph_degree(int n, int requested);
/* Shares needed to reconstruct: floor(frac k) + 1, at most k. */
int sa_threshold(int k, double frac);
/* adj[i * k + j]: neighbour j of participant i, from the public seed. */
void sa_graph_build(int n, int k, uint64_t seed, int round, int *adj);

/* ---- Masks and quantisation (all arithmetic mod 2^32) ---- */
/* acc += sign * PRG(seed) over L words (ChaCha20 keystream). */
void sa_mask_add(uint32_t *acc, size_t L, const uint8_t seed[SA_SECRET], int sign);
/* The seed of the pairwise mask of two nodes from one's private and the
 * other's public key (X25519 + BLAKE2b over both public keys and the round);
 * both ends get the same. -1 for an invalid key. */
int sa_pair_seed(const uint8_t sk[SA_SECRET], const uint8_t pk_own[SA_PK], const uint8_t pk_other[SA_PK],
                 int round, uint8_t seed[SA_SECRET]);
uint32_t sa_quantise(double v, double scale);
double sa_dequantise(uint32_t w, double scale);

extern const fedc_protocol_ops sa_protocol_ops;

/* Node side (client.c) and server side (server.c) of the protocol table. */
int sa_client_step(const fedc_task *t, size_t d, double samples, fedc_protocol_client **state, const fedc_msg *m,
                   fedc_buf *reply, fedc_error *err);
int sa_client_seal(const fedc_task *t, fedc_protocol_client *state, int round, float *delta, size_t d,
                   fedc_buf *out, fedc_error *err);
void *sa_server_create(const fedc_task *t, size_t d, fedc_error *err);
void sa_server_free(void *self);
int sa_server_begin(void *self, int round, int n, const int *clients, fedc_error *err);
int sa_server_step(void *self, int phase, const char *alive, fedc_buf *frames, fedc_error *err);
int sa_server_reply(void *self, int i, const fedc_msg *m, fedc_error *err);
int sa_server_update(void *self, int i, const uint8_t *data, size_t len, fedc_error *err);
void sa_server_drop(void *self, int i);
int sa_server_finish(void *self, float *out, double *weight, fedc_error *err);

/* Little-endian helpers shared by both halves. */
static inline void sa_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t sa_get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
