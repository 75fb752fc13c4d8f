/* SecAgg+, node side. One round, as the server drives it:
 *   keys     <- my index, neighbours, threshold, weight
 *            -> fresh X25519 public keys: c (encrypting shares), s (masks)
 *   shares   <- neighbours' public keys
 *            -> Shamir shares of my self-mask seed b and of my mask key
 *               s_sk for each live neighbour, encrypted to it (crypto_box)
 *   collect  <- which neighbours are mask partners, and their encrypted
 *               shares for me (kept for the unmasking)
 *   TRAIN    -> y = q(w clip(delta)) + PRG(b) + sum_partners +-PRG(s_uv)
 *   unmask   <- for each partner: survived (send its b share) or dropped
 *               (send its s_sk share)
 * Never both shares of one partner: the unmask step is answered once per
 * round, and a partner is either survivor or dropped. Semi-honest server
 * model (no signatures or consistency round; see docs/privacy.md). */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/privacy.h"
#include "fl/secagg/secagg_internal.h"

enum { ST_NONE = 0, ST_KEYS, ST_SHARES, ST_COLLECT, ST_SEALED, ST_UNMASKED };

typedef struct sa_client {
    fedc_protocol_client base;
    int stage, round, index, n, k, t;
    double weight;
    int nb[SA_MAX_DEGREE];
    uint8_t c_pk[SA_PK], c_sk[SA_SECRET], s_pk[SA_PK], s_sk[SA_SECRET], b[SA_SECRET];
    uint8_t nb_live[SA_MAX_DEGREE];    /* keys received in the shares step */
    uint8_t nb_cpk[SA_MAX_DEGREE][SA_PK], nb_spk[SA_MAX_DEGREE][SA_PK];
    uint8_t partner[SA_MAX_DEGREE];    /* masks with it (collect step) */
    uint8_t sh_b[SA_MAX_DEGREE][SA_SHARE_BYTES], sh_s[SA_MAX_DEGREE][SA_SHARE_BYTES]; /* theirs, for me */
} sa_client;

static void client_free(fedc_protocol_client *c) {
    if (!c) return;
    sodium_memzero(c, sizeof(sa_client));
    free(c);
}

static int reply_frame(fedc_buf *reply, int round, const char *step, const char *extra, const uint8_t *blob,
                       size_t len, fedc_error *err) {
    char json[160];
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"step\":\"%s\"%s}", round, step, extra ? extra : "");
    fedc_msg m = {.type = FEDC_MSG_STEP_REPLY, .json = json, .json_len = (size_t)jl, .nblobs = blob ? 1 : 0};
    if (blob) {
        m.blobs[0].data = blob;
        m.blobs[0].len = len;
    }
    fedc_buf_clear(reply);
    return fedc_msg_encode(&m, reply, err);
}

static int on_keys(sa_client *c, json_t *ctl, const fedc_msg *m, int round, double samples, fedc_buf *reply,
                   fedc_error *err) {
    json_int_t index = -1, n = -1, t = -1;
    if (json_unpack(ctl, "{s:I,s:I,s:I}", "index", &index, "n", &n, "t", &t) != 0)
        return fedc_fail(err, "secagg keys step: index, n and t are required");
    size_t k = m->nblobs == 1 ? m->blobs[0].len / 4 : 0;
    if (m->nblobs != 1 || m->blobs[0].len % 4 || k < 1 || k > SA_MAX_DEGREE)
        return fedc_fail(err, "secagg keys step: the neighbour list must hold 1..%d 32-bit indices",
                         SA_MAX_DEGREE);
    if (n < 2 || n > 10000000 || index < 0 || index >= n || t < 1 || t > (json_int_t)k)
        return fedc_fail(err, "secagg keys step: index %lld, n %lld or t %lld out of range", (long long)index,
                         (long long)n, (long long)t);
    memset(c, 0, sizeof *c);
    c->base.free_state = client_free;
    c->round = round;
    c->index = (int)index;
    c->n = (int)n;
    c->k = (int)k;
    c->t = (int)t;
    c->weight = 0;
    for (size_t j = 0; j < k; j++) {
        uint32_t v = sa_get32(m->blobs[0].data + 4 * j);
        if (v >= (uint32_t)n || (int)v == c->index) return fedc_fail(err, "secagg keys step: neighbour %u invalid", v);
        for (size_t q = 0; q < j; q++)
            if (c->nb[q] == (int)v) return fedc_fail(err, "secagg keys step: neighbour %u listed twice", v);
        c->nb[j] = (int)v;
    }
    crypto_box_keypair(c->c_pk, c->c_sk);
    crypto_box_keypair(c->s_pk, c->s_sk);
    randombytes_buf(c->b, sizeof c->b);
    c->stage = ST_KEYS;
    uint8_t pk[2 * SA_PK];
    memcpy(pk, c->c_pk, SA_PK);
    memcpy(pk + SA_PK, c->s_pk, SA_PK);
    /* The sample count is the FedAvg weight; a plain update carries it in
     * the clear as well. */
    char extra[48];
    snprintf(extra, sizeof extra, ",\"samples\":%.0f", samples);
    return reply_frame(reply, round, "keys", extra, pk, sizeof pk, err);
}

static int on_shares(sa_client *c, json_t *ctl, const fedc_msg *m, fedc_buf *reply, fedc_error *err) {
    int k = c->k;
    double w = -1;
    if (json_unpack(ctl, "{s:F}", "weight", &w) != 0 || !(w >= 0 && w <= 1))
        return fedc_fail(err, "secagg shares step: \"weight\" must be a number in [0, 1]");
    c->weight = w;
    if (m->nblobs != 2 || m->blobs[0].len != (size_t)k * 2 * SA_PK || m->blobs[1].len != (size_t)k)
        return fedc_fail(err, "secagg shares step: expected %d public key pairs and %d flags", k, k);
    int live = 0;
    uint32_t xs[SA_MAX_DEGREE];
    int who[SA_MAX_DEGREE];
    for (int j = 0; j < k; j++) {
        c->nb_live[j] = m->blobs[1].data[j] == 1;
        if (m->blobs[1].data[j] > 1) return fedc_fail(err, "secagg shares step: flag %d is not 0 or 1", j);
        if (!c->nb_live[j]) continue;
        memcpy(c->nb_cpk[j], m->blobs[0].data + (size_t)j * 2 * SA_PK, SA_PK);
        memcpy(c->nb_spk[j], m->blobs[0].data + (size_t)j * 2 * SA_PK + SA_PK, SA_PK);
        xs[live] = (uint32_t)c->nb[j] + 1;
        who[live++] = j;
    }
    if (live < c->t)
        return fedc_fail(err, "secagg shares step: %d live neighbours, fewer than the threshold %d", live, c->t);
    sa_share sb[SA_MAX_DEGREE], ss[SA_MAX_DEGREE];
    sa_shamir_split(c->b, live, c->t, xs, sb);
    sa_shamir_split(c->s_sk, live, c->t, xs, ss);
    uint8_t *out = malloc((size_t)live * SA_CT_BYTES);
    if (!out) return fedc_fail(err, "out of memory for secagg shares");
    for (int q = 0; q < live; q++) {
        int j = who[q];
        uint8_t pt[SA_PLAIN_BYTES], *ct = out + (size_t)q * SA_CT_BYTES;
        sa_put32(pt, (uint32_t)c->index);
        sa_put32(pt + 4, (uint32_t)c->nb[j]);
        sa_put32(pt + 8, (uint32_t)c->round);
        sa_share_pack(&sb[q], pt + 12);
        sa_share_pack(&ss[q], pt + 12 + SA_SHARE_BYTES);
        randombytes_buf(ct, crypto_box_NONCEBYTES);
        int bad = crypto_box_easy(ct + crypto_box_NONCEBYTES, pt, sizeof pt, ct, c->nb_cpk[j], c->c_sk);
        sodium_memzero(pt, sizeof pt);
        if (bad) {
            free(out);
            return fedc_fail(err, "secagg shares step: neighbour %d's public key is invalid", c->nb[j]);
        }
    }
    sodium_memzero(sb, sizeof sb);
    sodium_memzero(ss, sizeof ss);
    c->stage = ST_SHARES;
    int rc = reply_frame(reply, c->round, "shares", NULL, out, (size_t)live * SA_CT_BYTES, err);
    free(out);
    return rc;
}

static int on_collect(sa_client *c, const fedc_msg *m, fedc_buf *reply, fedc_error *err) {
    int k = c->k;
    if (m->nblobs != 2 || m->blobs[0].len != (size_t)k)
        return fedc_fail(err, "secagg collect step: expected %d partner flags and their shares", k);
    size_t want = 0;
    for (int j = 0; j < k; j++) {
        uint8_t f = m->blobs[0].data[j];
        if (f > 1 || (f && !c->nb_live[j]))
            return fedc_fail(err, "secagg collect step: partner flag %d is invalid", j);
        want += f;
    }
    if (m->blobs[1].len != want * SA_CT_BYTES)
        return fedc_fail(err, "secagg collect step: %zu bytes of shares for %zu partners", m->blobs[1].len, want);
    const uint8_t *ct = m->blobs[1].data;
    for (int j = 0; j < k; j++) {
        c->partner[j] = m->blobs[0].data[j];
        if (!c->partner[j]) continue;
        uint8_t pt[SA_PLAIN_BYTES];
        if (crypto_box_open_easy(pt, ct + crypto_box_NONCEBYTES, SA_CT_BYTES - crypto_box_NONCEBYTES, ct,
                                 c->nb_cpk[j], c->c_sk) != 0)
            return fedc_fail(err, "secagg collect step: the shares of neighbour %d do not decrypt", c->nb[j]);
        sa_share x;
        if (sa_get32(pt) != (uint32_t)c->nb[j] || sa_get32(pt + 4) != (uint32_t)c->index ||
            sa_get32(pt + 8) != (uint32_t)c->round || sa_share_unpack(pt + 12, &x) != 0 ||
            x.x != (uint32_t)c->index + 1 || sa_share_unpack(pt + 12 + SA_SHARE_BYTES, &x) != 0) {
            sodium_memzero(pt, sizeof pt);
            return fedc_fail(err, "secagg collect step: the shares of neighbour %d are not addressed to this "
                                  "node for this round",
                             c->nb[j]);
        }
        memcpy(c->sh_b[j], pt + 12, SA_SHARE_BYTES);
        memcpy(c->sh_s[j], pt + 12 + SA_SHARE_BYTES, SA_SHARE_BYTES);
        sodium_memzero(pt, sizeof pt);
        ct += SA_CT_BYTES;
    }
    c->stage = ST_COLLECT;
    return reply_frame(reply, c->round, "collect", NULL, NULL, 0, err);
}

static int on_unmask(sa_client *c, const fedc_msg *m, fedc_buf *reply, fedc_error *err) {
    int k = c->k;
    if (m->nblobs != 1 || m->blobs[0].len != (size_t)k)
        return fedc_fail(err, "secagg unmask step: expected %d partner states", k);
    uint8_t *out = malloc((size_t)k * SA_SHARE_BYTES + 1);
    if (!out) return fedc_fail(err, "out of memory for secagg unmasking");
    size_t len = 0;
    for (int j = 0; j < k; j++) {
        uint8_t st = m->blobs[0].data[j];
        if (st > 2 || (st && !c->partner[j])) {
            free(out);
            return fedc_fail(err, "secagg unmask step: state %d of neighbour %d is invalid", st, c->nb[j]);
        }
        if (st == 1) memcpy(out + len, c->sh_b[j], SA_SHARE_BYTES); /* survived: its self-mask */
        if (st == 2) memcpy(out + len, c->sh_s[j], SA_SHARE_BYTES); /* dropped: its mask key */
        if (st) len += SA_SHARE_BYTES;
    }
    c->stage = ST_UNMASKED;
    int rc = reply_frame(reply, c->round, "unmask", NULL, out, len, err);
    sodium_memzero(out, len);
    free(out);
    return rc;
}

int sa_client_step(const fedc_task *t, size_t d, double samples, fedc_protocol_client **state, const fedc_msg *m,
                   fedc_buf *reply, fedc_error *err) {
    (void)t;
    (void)d;
    if (sodium_init() < 0) return fedc_fail(err, "libsodium failed to initialise");
    json_t *ctl = json_loads(m->json, 0, NULL);
    json_int_t round = -1;
    const char *step = NULL;
    int rc = -1;
    if (!ctl || json_unpack(ctl, "{s:I,s:s}", "round", &round, "step", &step) != 0 || round < 1 ||
        round > 100000000) {
        fedc_fail(err, "secagg step: \"round\" (1..100000000) and \"step\" are required");
        goto out;
    }
    if (!*state && !(*state = calloc(1, sizeof(sa_client)))) {
        fedc_fail(err, "out of memory for the secagg state");
        goto out;
    }
    sa_client *c = (sa_client *)*state;
    c->base.free_state = client_free;
    if (strcmp(step, "keys") == 0) {
        rc = on_keys(c, ctl, m, (int)round, samples, reply, err);
        if (rc != 0) c->stage = ST_NONE;
        goto out;
    }
    static const struct {
        const char *name;
        int needs;
    } order[] = {{"shares", ST_KEYS}, {"collect", ST_SHARES}, {"unmask", ST_SEALED}};
    int which = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(step, order[i].name) == 0) which = i;
    if (which < 0) {
        fedc_fail(err, "secagg step: \"%.32s\" is not a step of this protocol (keys, shares, collect, unmask)", step);
        goto out;
    }
    if (c->round != round || c->stage != order[which].needs) {
        fedc_fail(err, "secagg step: %s for round %lld arrived out of order", step, (long long)round);
        goto out;
    }
    rc = which == 0 ? on_shares(c, ctl, m, reply, err) : which == 1 ? on_collect(c, m, reply, err) : on_unmask(c, m, reply, err);
out:
    json_decref(ctl);
    return rc;
}

int sa_client_seal(const fedc_task *t, fedc_protocol_client *state, int round, float *delta, size_t d,
                   fedc_buf *out, fedc_error *err) {
    sa_client *c = (sa_client *)state;
    if (!c || c->stage != ST_COLLECT || c->round != round)
        return fedc_fail(err, "secagg: a train message for round %d arrived before its key agreement", round);
    size_t L = d + 1;
    uint32_t *y = malloc(L * sizeof *y);
    if (!y) return fedc_fail(err, "out of memory for the masked update");
    fedc_clip_l2(delta, d, t->secagg.clip);
    double scale = SA_FIX_ONE / t->secagg.clip;
    for (size_t j = 0; j < d; j++) y[j] = sa_quantise(c->weight * delta[j], scale);
    y[d] = sa_quantise(c->weight, SA_FIX_ONE);
    sa_mask_add(y, L, c->b, +1);
    for (int j = 0; j < c->k; j++) {
        if (!c->partner[j]) continue;
        uint8_t seed[SA_SECRET];
        if (sa_pair_seed(c->s_sk, c->s_pk, c->nb_spk[j], round, seed) != 0) {
            free(y);
            return fedc_fail(err, "secagg: neighbour %d's mask key is invalid", c->nb[j]);
        }
        /* The lower index adds, the higher subtracts: the pair cancels. */
        sa_mask_add(y, L, seed, c->index < c->nb[j] ? +1 : -1);
        sodium_memzero(seed, sizeof seed);
    }
    int rc = fedc_buf_reserve(out, L * 4);
    if (rc == 0) {
        uint8_t *p = out->data + out->len;
        for (size_t j = 0; j < L; j++) sa_put32(p + 4 * j, y[j]);
        out->len += L * 4;
    } else {
        fedc_fail(err, "out of memory for the masked update");
    }
    free(y);
    c->stage = ST_SEALED;
    return rc;
}
