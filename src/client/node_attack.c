/* The hostile mode of `fedc node` for deployment tests (--attack SPEC):
 * the node attacks whatever run it serves, as a simulated attacker would.
 * An honest node never attacks: the attack section of the task a server
 * sends is always dropped, so a server cannot turn its nodes hostile.
 *
 * SPEC: KIND[,key=value...] with KIND an attack.kind (sign-flip, scaling,
 * noise, label-flip, backdoor, alie, ipm) or "unreliable", and keys scale,
 * target, source, poison_fraction (the attack.* fields of the task). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "client/client_internal.h"
#include "fedc/attack.h"

#define SPEC_MAX 256

static const char *const k_keys[] = {"scale", "target", "source", "poison_fraction"};

int node_attack_parse(const char *spec, node_attack *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    size_t len = strlen(spec);
    if (len == 0 || len >= SPEC_MAX)
        return fedc_fail(err, "--attack: the spec must be 1 to %d characters, e.g. scaling,scale=100", SPEC_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if (!isprint((unsigned char)spec[i]) || spec[i] == ' ')
            return fedc_fail(err, "--attack: character %zu is not allowed (printable, no spaces)", i + 1);
    char buf[SPEC_MAX];
    memcpy(buf, spec, len + 1);
    char *save = NULL, *tok = strtok_r(buf, ",", &save);
    if (!tok) return fedc_fail(err, "--attack %s: no attack kind; allowed: KIND[,key=value...]", spec);
    if (strcmp(tok, "unreliable") == 0) {
        out->unreliable = 1;
        snprintf(out->assign[out->n++], sizeof out->assign[0], "attack.unreliable=1");
    } else {
        if (strcmp(tok, "none") == 0 || strlen(tok) >= sizeof out->kind)
            return fedc_fail(err, "--attack %s: \"%s\" is not an attack; allowed: sign-flip, scaling, noise, label-flip, "
                                  "backdoor, alie, ipm, unreliable",
                             spec, tok);
        snprintf(out->kind, sizeof out->kind, "%s", tok);
        snprintf(out->assign[out->n++], sizeof out->assign[0], "attack.kind=%s", tok);
        snprintf(out->assign[out->n++], sizeof out->assign[0], "attack.fraction=1");
    }
    while ((tok = strtok_r(NULL, ",", &save))) {
        char *eq = strchr(tok, '=');
        int known = 0;
        for (size_t k = 0; eq && k < sizeof k_keys / sizeof k_keys[0]; k++)
            known |= (size_t)(eq - tok) == strlen(k_keys[k]) && strncmp(tok, k_keys[k], strlen(k_keys[k])) == 0;
        if (!eq || !known)
            return fedc_fail(err, "--attack %s: \"%s\" is not key=value with a known key; allowed keys: scale, target, "
                                  "source, poison_fraction",
                             spec, tok);
        if (out->n >= NODE_ATTACK_MAX_ASSIGN) return fedc_fail(err, "--attack %s: too many settings", spec);
        if (strncmp(tok, "scale=", 6) == 0) out->has_scale = 1;
        snprintf(out->assign[out->n++], sizeof out->assign[0], "attack.%s", tok);
    }
    out->on = 1;
    return 0;
}

int node_attack_apply(const node_attack *a, int colluders, fedc_task *t, fedc_error *err) {
    fedc_task defaults;
    fedc_task_defaults(&defaults);
    t->attack = defaults.attack;
    if (!a || !a->on) return 0;
    const char *assign[NODE_ATTACK_MAX_ASSIGN + 1];
    char zbuf[64];
    int n = 0;
    for (int i = 0; i < a->n; i++) assign[n++] = a->assign[i];
    /* ALIE's z from the round size and the colluders, unless given. */
    if (strcmp(a->kind, "alie") == 0 && !a->has_scale) {
        double z = fedc_attack_alie_z(t->clients_per_round, colluders > 0 ? colluders : 1);
        snprintf(zbuf, sizeof zbuf, "attack.scale=%.17g", z > 0 ? z : 1e-9);
        assign[n++] = zbuf;
    }
    if (fedc_task_set_many(t, assign, n, err) != 0) {
        fedc_fail_prefix(err, "--attack: ");
        return -1;
    }
    return 0;
}
