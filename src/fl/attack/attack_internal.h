/* Private: the attack object. */
#ifndef FEDC_ATTACK_INTERNAL_H
#define FEDC_ATTACK_INTERNAL_H

#include "fedc/attack.h"

enum { ATK_NONE, ATK_SIGN_FLIP, ATK_SCALING, ATK_NOISE, ATK_LABEL_FLIP, ATK_BACKDOOR, ATK_ALIE, ATK_IPM };

struct fedc_attack {
    fedc_task task;
    int kind;
    double scale;
    const fedc_frl *frl; /* rankings instead of deltas (aggregator frl) */
    int n_clients;
    unsigned char *role; /* fedc_role per client */
};

#endif
