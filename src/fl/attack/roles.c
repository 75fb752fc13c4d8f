/* Who attacks: one seeded permutation of the clients, fixed for the run,
 * so that a client that attacks does so every round it is selected (the
 * papers' setting) and the same task and seed always pick the same ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attack_internal.h"

static int kind_of(const char *name) {
    static const char *const names[] = {"none", "sign-flip", "scaling", "noise", "label-flip",
                                        "backdoor", "alie", "ipm"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

double fedc_attack_scale(const fedc_task *t) {
    if (t->attack.scale > 0) return t->attack.scale;
    int k = kind_of(t->attack.kind);
    switch (k) {
    case ATK_SCALING: return 100.0;
    case ATK_NOISE: return 0.01;
    case ATK_IPM: return 0.1;
    case ATK_ALIE: {
        int n = t->clients_per_round;
        int f = (int)floor(t->attack.fraction * n + 0.5);
        return fedc_attack_alie_z(n, f);
    }
    default: return 1.0;
    }
}

fedc_attack *fedc_attack_create(const fedc_task *t, const fedc_frl *frl, fedc_error *err) {
    int kind = kind_of(t->attack.kind);
    if (kind < 0) {
        fedc_fail(err, "attack.kind: \"%s\" is not a known attack", t->attack.kind);
        return NULL;
    }
    fedc_attack *a = calloc(1, sizeof *a);
    if (!a || !(a->role = calloc((size_t)t->clients, sizeof *a->role))) {
        free(a);
        fedc_fail(err, "out of memory for the attack roles of %d clients", t->clients);
        return NULL;
    }
    a->task = *t;
    a->kind = kind;
    a->frl = frl;
    a->scale = fedc_attack_scale(t);
    a->n_clients = t->clients;
    uint32_t *perm = malloc((size_t)t->clients * sizeof *perm);
    if (!perm) {
        fedc_attack_free(a);
        fedc_fail(err, "out of memory for the attack roles of %d clients", t->clients);
        return NULL;
    }
    for (int k = 0; k < t->clients; k++) perm[k] = (uint32_t)k;
    fedc_rng rng = fedc_rng_derive(t->seed ^ 0xA77ACull, 0, 0);
    fedc_rng_shuffle_u32(&rng, perm, (size_t)t->clients);
    int attackers = kind == ATK_NONE ? 0 : (int)floor(t->attack.fraction * t->clients + 0.5);
    int unreliable = (int)floor(t->attack.unreliable * t->clients + 0.5);
    if (attackers > t->clients) attackers = t->clients;
    if (unreliable > t->clients - attackers) unreliable = t->clients - attackers;
    for (int k = 0; k < attackers; k++) a->role[perm[k]] = FEDC_ROLE_ATTACKER;
    for (int k = 0; k < unreliable; k++) a->role[perm[t->clients - 1 - k]] = FEDC_ROLE_UNRELIABLE;
    free(perm);
    return a;
}

void fedc_attack_free(fedc_attack *a) {
    if (!a) return;
    free(a->role);
    free(a);
}

fedc_role fedc_attack_role(const fedc_attack *a, int client) {
    if (client < 0 || client >= a->n_clients) return FEDC_ROLE_HONEST;
    return (fedc_role)a->role[client];
}

int fedc_attack_needs_peers(const fedc_attack *a) { return a->kind == ATK_ALIE || a->kind == ATK_IPM; }
