/* SecAgg+, server side: relays keys and encrypted shares along the masking
 * graph, collects the masked updates, and after the unmask step removes
 * what does not cancel:
 *   survivors' self masks      PRG(b_u), b_u rebuilt from t shares;
 *   dropped partners' pair masks PRG(s_uv) for every surviving partner u of
 *                              a node v that shared keys but sent no update,
 *                              s_sk_v rebuilt from t shares.
 * The sum of the survivors' quantised weighted updates is all that is left;
 * the server never holds an individual update in the clear.
 *
 * Participant sets, as in the paper: U1 answered keys, U2 answered shares
 * (its secrets are recoverable), partners = graph neighbours both in U2,
 * U3 sent an accepted masked update, and the unmask answers come from U3. */
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/secagg/secagg_internal.h"

enum { STEP_KEYS = 0, STEP_SHARES, STEP_COLLECT, STEP_TRAIN, STEP_UNMASK, STEP_DONE };
static const char *const k_step_names[] = {"keys", "shares", "collect", "train", "unmask"};

typedef struct part {
    int client;
    double samples, w;
    int done;          /* highest step answered + 1 (0: none) */
    int out;           /* dropped or refused */
    uint8_t c_pk[SA_PK], s_pk[SA_PK];
    uint8_t *ct;       /* k slots of SA_CT_BYTES: its shares for neighbour slot j */
    uint8_t *has_ct;   /* k */
    uint8_t *live;     /* k: neighbours it was sent keys of in the shares step */
    int in3;           /* in U3, fixed when the unmask step starts */
    uint32_t *masked;  /* its masked update (L words), once sent */
    sa_share *sh_b, *sh_s; /* shares of its secrets received at unmask */
    int n_b, n_s;
} part;

typedef struct sa_server {
    fedc_task task;
    size_t d, L;
    int round, n, k, t, step;
    int *adj;
    part *p;
    pthread_mutex_t mu; /* reply/update callbacks run concurrently for distinct i */
} sa_server;

static void free_parts(sa_server *s) {
    for (int i = 0; s->p && i < s->n; i++) {
        free(s->p[i].ct);
        free(s->p[i].has_ct);
        free(s->p[i].live);
        free(s->p[i].masked);
        if (s->p[i].sh_b) sodium_memzero(s->p[i].sh_b, (size_t)s->k * sizeof(sa_share));
        if (s->p[i].sh_s) sodium_memzero(s->p[i].sh_s, (size_t)s->k * sizeof(sa_share));
        free(s->p[i].sh_b);
        free(s->p[i].sh_s);
    }
    free(s->p);
    free(s->adj);
    s->p = NULL;
    s->adj = NULL;
    s->n = 0;
}

void *sa_server_create(const fedc_task *t, size_t d, fedc_error *err) {
    if (sodium_init() < 0) {
        fedc_fail(err, "libsodium failed to initialise");
        return NULL;
    }
    sa_server *s = calloc(1, sizeof *s);
    if (!s) {
        fedc_fail(err, "out of memory for the secagg server");
        return NULL;
    }
    s->task = *t;
    s->d = d;
    s->L = d + 1;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void sa_server_free(void *self) {
    sa_server *s = self;
    if (!s) return;
    free_parts(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int sa_server_begin(void *self, int round, int n, const int *clients, fedc_error *err) {
    sa_server *s = self;
    free_parts(s);
    s->round = round;
    s->n = n;
    s->step = -1;
    s->k = sa_graph_degree(n, s->task.secagg.degree);
    s->t = sa_threshold(s->k, s->task.secagg.threshold);
    s->p = calloc((size_t)n, sizeof *s->p);
    s->adj = malloc((size_t)n * (size_t)s->k * sizeof(int));
    if (!s->p || !s->adj) return fedc_fail(err, "out of memory for a secagg round of %d nodes", n);
    for (int i = 0; i < n; i++) {
        part *q = &s->p[i];
        q->client = clients[i];
        q->ct = malloc((size_t)s->k * SA_CT_BYTES);
        q->has_ct = calloc((size_t)s->k, 1);
        q->live = calloc((size_t)s->k, 1);
        q->sh_b = calloc((size_t)s->k, sizeof(sa_share));
        q->sh_s = calloc((size_t)s->k, sizeof(sa_share));
        if (!q->ct || !q->has_ct || !q->live || !q->sh_b || !q->sh_s)
            return fedc_fail(err, "out of memory for a secagg round of %d nodes", n);
    }
    sa_graph_build(n, s->k, s->task.seed, round, s->adj);
    return 0;
}

static int slot_of(const sa_server *s, int v, int u) {
    for (int j = 0; j < s->k; j++)
        if (s->adj[v * s->k + j] == u) return j;
    return -1;
}

static int in_u2(const part *q) { return q->done > STEP_SHARES; }
static int in_u3(const part *q) { return q->in3; }
/* i and its neighbour in slot j mask with each other: both in U2 and each
 * holds the other's shares. */
static int partners(const sa_server *s, int i, int j) {
    int vi = s->adj[i * s->k + j];
    int back = slot_of(s, vi, i);
    return in_u2(&s->p[i]) && in_u2(&s->p[vi]) && back >= 0 && s->p[vi].has_ct[back] && s->p[i].has_ct[j];
}

static int frame(fedc_buf *f, int round, const char *step, const char *extra, const uint8_t *b0, size_t l0,
                 const uint8_t *b1, size_t l1, int nb, fedc_error *err) {
    char json[256];
    int jl = snprintf(json, sizeof json, "{\"round\":%d,\"step\":\"%s\"%s}", round, step, extra ? extra : "");
    fedc_msg m = {.type = FEDC_MSG_STEP, .json = json, .json_len = (size_t)jl, .nblobs = nb};
    m.blobs[0].data = b0;
    m.blobs[0].len = l0;
    m.blobs[1].data = b1;
    m.blobs[1].len = l1;
    fedc_buf_clear(f);
    return fedc_msg_encode(&m, f, err);
}

static int build_frame(sa_server *s, int i, fedc_buf *f, uint8_t *tmp, fedc_error *err) {
    int k = s->k;
    const int *nb = s->adj + (size_t)i * k;
    part *q = &s->p[i];
    switch (s->step) {
    case STEP_KEYS: {
        for (int j = 0; j < k; j++) sa_put32(tmp + 4 * j, (uint32_t)nb[j]);
        char extra[160];
        snprintf(extra, sizeof extra, ",\"index\":%d,\"n\":%d,\"t\":%d", i, s->n, s->t);
        return frame(f, s->round, "keys", extra, tmp, (size_t)k * 4, NULL, 0, 1, err);
    }
    case STEP_SHARES: {
        uint8_t *flags = tmp + (size_t)k * 2 * SA_PK;
        for (int j = 0; j < k; j++) {
            const part *v = &s->p[nb[j]];
            flags[j] = v->done > STEP_KEYS && !v->out;
            q->live[j] = flags[j];
            memcpy(tmp + (size_t)j * 2 * SA_PK, v->c_pk, SA_PK);
            memcpy(tmp + (size_t)j * 2 * SA_PK + SA_PK, v->s_pk, SA_PK);
            if (!flags[j]) memset(tmp + (size_t)j * 2 * SA_PK, 0, 2 * SA_PK);
        }
        /* Its FedAvg weight: its share of the samples of those still in. */
        char extra[64];
        snprintf(extra, sizeof extra, ",\"weight\":%.17g", q->w);
        return frame(f, s->round, "shares", extra, tmp, (size_t)k * 2 * SA_PK, flags, (size_t)k, 2, err);
    }
    case STEP_COLLECT: {
        /* Partners: neighbours in U2 that sent this node a share. */
        uint8_t *flags = tmp, *cts = tmp + k;
        size_t len = 0;
        for (int j = 0; j < k; j++) {
            const part *v = &s->p[nb[j]];
            int back = slot_of(s, nb[j], i);
            flags[j] = in_u2(v) && back >= 0 && v->has_ct[back];
            if (flags[j]) {
                memcpy(cts + len, v->ct + (size_t)back * SA_CT_BYTES, SA_CT_BYTES);
                len += SA_CT_BYTES;
            }
        }
        return frame(f, s->round, "collect", NULL, flags, (size_t)k, cts, len, 2, err);
    }
    case STEP_UNMASK: {
        for (int j = 0; j < k; j++) tmp[j] = !partners(s, i, j) ? 0 : in_u3(&s->p[nb[j]]) ? 1 : 2;
        return frame(f, s->round, "unmask", NULL, tmp, (size_t)k, NULL, 0, 1, err);
    }
    }
    return fedc_fail(err, "secagg: no frame for step %d", s->step);
}

int sa_server_step(void *self, int phase, const char *alive, fedc_buf *frames, fedc_error *err) {
    sa_server *s = self;
    for (int i = 0; i < s->n; i++)
        if (!alive[i]) s->p[i].out = 1;
    /* keys -> shares -> collect before training; unmask after. */
    if (phase == FEDC_PROTOCOL_BEFORE_TRAIN) {
        if (s->step >= STEP_COLLECT) {
            s->step = STEP_TRAIN;
            return 0;
        }
        s->step++;
        if (s->step == STEP_SHARES) {
            double total = 0;
            for (int i = 0; i < s->n; i++)
                if (alive[i]) total += s->p[i].samples;
            for (int i = 0; i < s->n; i++) s->p[i].w = total > 0 ? s->p[i].samples / total : 0;
        }
    } else {
        if (s->step != STEP_TRAIN) {
            s->step = STEP_DONE;
            return 0;
        }
        s->step = STEP_UNMASK;
        /* U3 is fixed now: who later fails to answer still counts. */
        for (int i = 0; i < s->n; i++) s->p[i].in3 = s->p[i].masked != NULL && !s->p[i].out;
    }
    uint8_t *tmp = malloc((size_t)s->k * (2 * SA_PK + 1 + SA_CT_BYTES) + 64);
    if (!tmp) return fedc_fail(err, "out of memory for secagg frames");
    int rc = 0;
    for (int i = 0; i < s->n && rc == 0; i++)
        if (alive[i]) rc = build_frame(s, i, &frames[i], tmp, err);
    free(tmp);
    return rc == 0 ? 1 : -1;
}

int sa_server_reply(void *self, int i, const fedc_msg *m, fedc_error *err) {
    sa_server *s = self;
    if (i < 0 || i >= s->n) return fedc_fail(err, "secagg: participant %d out of range", i);
    part *q = &s->p[i];
    json_t *ctl = json_loads(m->json, 0, NULL);
    json_int_t round = -1;
    const char *step = "";
    int rc = -1, k = s->k;
    if (m->type != FEDC_MSG_STEP_REPLY || !ctl ||
        json_unpack(ctl, "{s:I,s:s}", "round", &round, "step", &step) != 0) {
        fedc_fail(err, "secagg: expected a step-reply with round and step");
        goto out;
    }
    int cur = s->step;
    if (cur < STEP_KEYS || cur > STEP_UNMASK || cur == STEP_TRAIN) {
        fedc_fail(err, "secagg: a %s reply while no step is waiting for one", step);
        goto out;
    }
    if (round != s->round || strcmp(step, k_step_names[cur]) != 0) {
        fedc_fail(err, "secagg: a %s reply for round %lld while waiting for %s of round %d", step, (long long)round,
                  k_step_names[cur], s->round);
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    switch (s->step) {
    case STEP_KEYS:
        if (m->nblobs != 1 || m->blobs[0].len != 2 * SA_PK) {
            fedc_fail(err, "secagg keys reply: expected two %d-byte public keys", SA_PK);
            break;
        }
        double samples = -1;
        if (json_unpack(ctl, "{s:F}", "samples", &samples) != 0 || !(samples >= 0 && samples <= 1e12)) {
            fedc_fail(err, "secagg keys reply: \"samples\" must be a count in 0..1e12");
            break;
        }
        q->samples = samples;
        memcpy(q->c_pk, m->blobs[0].data, SA_PK);
        memcpy(q->s_pk, m->blobs[0].data + SA_PK, SA_PK);
        q->done = STEP_KEYS + 1;
        rc = 0;
        break;
    case STEP_SHARES: {
        /* One ciphertext per neighbour that was live in its shares step. */
        int live = 0;
        for (int j = 0; j < k; j++) live += q->live[j];
        if (m->nblobs != 1 || m->blobs[0].len != (size_t)live * SA_CT_BYTES) {
            fedc_fail(err, "secagg shares reply: expected %d encrypted shares", live);
            break;
        }
        const uint8_t *ct = m->blobs[0].data;
        for (int j = 0; j < k; j++) {
            if (!q->live[j]) continue;
            memcpy(q->ct + (size_t)j * SA_CT_BYTES, ct, SA_CT_BYTES);
            q->has_ct[j] = 1;
            ct += SA_CT_BYTES;
        }
        q->done = STEP_SHARES + 1;
        rc = 0;
        break;
    }
    case STEP_COLLECT:
        q->done = STEP_COLLECT + 1;
        rc = 0;
        break;
    case STEP_UNMASK: {
        /* Shares in the order of the unmask frame: survivors' b, dropped s. */
        const uint8_t *p = m->nblobs == 1 ? m->blobs[0].data : NULL;
        size_t need = 0;
        for (int j = 0; j < k; j++) need += partners(s, i, j);
        if (!p || m->blobs[0].len != need * SA_SHARE_BYTES || q->done > STEP_UNMASK) {
            fedc_fail(err, "secagg unmask reply: expected %zu shares, once", need);
            break;
        }
        rc = 0;
        for (int j = 0; j < k && rc == 0; j++) {
            if (!partners(s, i, j)) continue;
            part *v = &s->p[s->adj[i * k + j]];
            sa_share sh;
            if (sa_share_unpack(p, &sh) != 0 || sh.x != (uint32_t)i + 1) {
                rc = fedc_fail(err, "secagg unmask reply: share %d is malformed", j);
                break;
            }
            if (in_u3(v)) v->sh_b[v->n_b++] = sh;
            else v->sh_s[v->n_s++] = sh;
            p += SA_SHARE_BYTES;
        }
        if (rc == 0) q->done = STEP_UNMASK + 1;
        break;
    }
    default:
        fedc_fail(err, "secagg: no step is waiting for replies");
    }
    pthread_mutex_unlock(&s->mu);
out:
    json_decref(ctl);
    return rc;
}

int sa_server_update(void *self, int i, const uint8_t *data, size_t len, fedc_error *err) {
    sa_server *s = self;
    if (i < 0 || i >= s->n || s->step != STEP_TRAIN || s->p[i].done != STEP_COLLECT + 1 || s->p[i].masked)
        return fedc_fail(err, "secagg: a masked update from a node that did not complete the key agreement");
    if (len != s->L * 4)
        return fedc_fail(err, "secagg: masked update of %zu bytes; expected %zu (%zu parameters + weight)", len,
                         s->L * 4, s->d);
    uint32_t *y = malloc(s->L * sizeof *y);
    if (!y) return fedc_fail(err, "out of memory for a masked update");
    for (size_t j = 0; j < s->L; j++) y[j] = sa_get32(data + 4 * j);
    s->p[i].masked = y; /* slot i is only written by its own callback */
    return 0;
}

void sa_server_drop(void *self, int i) {
    sa_server *s = self;
    if (i >= 0 && i < s->n) s->p[i].out = 1;
}

int sa_server_finish(void *self, float *out, double *weight, fedc_error *err) {
    sa_server *s = self;
    size_t L = s->L;
    int n3 = 0;
    for (int i = 0; i < s->n; i++) n3 += in_u3(&s->p[i]);
    if (n3 < 2)
        return fedc_fail(err, "secagg: %d masked update%s survived; unmasking %s would reveal it", n3,
                         n3 == 1 ? "" : "s", n3 == 1 ? "it alone" : "nothing");
    uint32_t *z = calloc(L, sizeof *z);
    if (!z) return fedc_fail(err, "out of memory for the secagg sum");
    int rc = 0;
    double samples = 0;
    for (int i = 0; i < s->n && rc == 0; i++) {
        part *q = &s->p[i];
        if (in_u3(q)) {
            for (size_t j = 0; j < L; j++) z[j] += q->masked[j];
            samples += q->samples;
            uint8_t b[SA_SECRET];
            if (sa_shamir_combine(q->sh_b, q->n_b, s->t, b) != 0) {
                rc = fedc_fail(err, "secagg: the self mask of client %d cannot be rebuilt (%d of %d shares)",
                               q->client, q->n_b, s->t);
                break;
            }
            sa_mask_add(z, L, b, -1);
            sodium_memzero(b, sizeof b);
        } else if (in_u2(q)) {
            /* Dropped after sharing: its partners masked with it. */
            int n_partners = 0;
            for (int j = 0; j < s->k; j++) n_partners += partners(s, i, j) && in_u3(&s->p[s->adj[i * s->k + j]]);
            if (!n_partners) continue;
            uint8_t sk[SA_SECRET];
            if (sa_shamir_combine(q->sh_s, q->n_s, s->t, sk) != 0) {
                rc = fedc_fail(err, "secagg: the masks of dropped client %d cannot be removed (%d of %d shares)",
                               q->client, q->n_s, s->t);
                break;
            }
            for (int j = 0; j < s->k && rc == 0; j++) {
                int ui = s->adj[i * s->k + j];
                const part *u = &s->p[ui];
                if (!(partners(s, i, j) && in_u3(u))) continue;
                uint8_t seed[SA_SECRET];
                if (sa_pair_seed(sk, q->s_pk, u->s_pk, s->round, seed) != 0) {
                    rc = fedc_fail(err, "secagg: client %d's mask key is invalid", u->client);
                    break;
                }
                /* u added +PRG when u < v, -PRG otherwise: take it back. */
                sa_mask_add(z, L, seed, ui < i ? -1 : +1);
                sodium_memzero(seed, sizeof seed);
            }
            sodium_memzero(sk, sizeof sk);
        }
    }
    if (rc == 0) {
        double wsum = sa_dequantise(z[L - 1], SA_FIX_ONE);
        if (!(wsum > 0)) {
            rc = fedc_fail(err, "secagg: the recovered total weight %g is not positive", wsum);
        } else {
            double scale = SA_FIX_ONE / s->task.secagg.clip;
            for (size_t j = 0; j < s->d; j++) out[j] = (float)(sa_dequantise(z[j], scale) / wsum);
            *weight = samples;
        }
    }
    free(z);
    return rc;
}

const fedc_protocol_ops sa_protocol_ops = {
    .name = "secagg+",
    .server_create = sa_server_create,
    .server_free = sa_server_free,
    .begin = sa_server_begin,
    .step = sa_server_step,
    .reply = sa_server_reply,
    .update = sa_server_update,
    .drop = sa_server_drop,
    .finish = sa_server_finish,
    .client_step = sa_client_step,
    .client_seal = sa_client_seal,
};
