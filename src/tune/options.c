/* Search options: defaults, ranges, and the canonical JSON kept in the store
 * so that a resumed search is checked against the one that started. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/pool.h"
#include "tune/tune_internal.h"

static const char *const k_methods[] = {"random", "asha", "tpe", "asha-tpe"};

int fedc_tune_method_parse(const char *s, fedc_tune_method *out) {
    for (int i = 0; i < 4; i++)
        if (s && !strcmp(s, k_methods[i])) {
            *out = (fedc_tune_method)i;
            return 0;
        }
    return -1;
}

const char *fedc_tune_method_name(fedc_tune_method m) {
    return (unsigned)m < 4 ? k_methods[m] : "?";
}

static const char *const k_status[] = {"pending", "paused", "stopped", "complete", "failed"};

const char *fedc_trial_status_name(fedc_trial_status s) {
    return (unsigned)s < 5 ? k_status[s] : "?";
}

#define CHECK_RANGE(field, lo, hi, what)                                                                    \
    do {                                                                                                     \
        if (o->field < (lo) || o->field > (hi))                                                              \
            return fedc_fail(err, "tune: " what ": %g is out of range; allowed: %g..%g", (double)o->field,     \
                             (double)(lo), (double)(hi));                                                    \
    } while (0)

int tune_options_normalize(fedc_tune_options *o, const fedc_task *base, fedc_error *err) {
    if ((unsigned)o->method > FEDC_TUNE_ASHA_TPE)
        return fedc_fail(err, "tune: method %d is not known; allowed: random, asha, tpe, asha-tpe", (int)o->method);
    CHECK_RANGE(budget, 1, FEDC_TUNE_MAX_BUDGET, "budget");
    if (o->seed > (uint64_t)INT64_MAX)
        return fedc_fail(err, "tune: seed %llu is out of range; allowed: 0..%lld", (unsigned long long)o->seed,
                         (long long)INT64_MAX);
    if (o->max_rounds == 0) {
        if (!base) return fedc_fail(err, "tune: max_rounds is needed when the search has no base task");
        o->max_rounds = base->rounds;
    }
    CHECK_RANGE(max_rounds, 1, 1000000, "max_rounds (rounds of a full trial)");
    if (o->eta == 0) o->eta = 3;
    CHECK_RANGE(eta, 2, 100, "eta (ASHA reduction factor)");
    if (o->min_rounds == 0) {
        long e3 = (long)o->eta * o->eta * o->eta;
        o->min_rounds = o->max_rounds / e3 > 1 ? (int)(o->max_rounds / e3) : 1;
    }
    CHECK_RANGE(min_rounds, 1, o->max_rounds, "min_rounds (first ASHA rung)");
    if (o->startup == 0) {
        int st = o->budget / 4;
        o->startup = st < 4 ? 4 : st > 10 ? 10 : st;
    }
    CHECK_RANGE(startup, 1, FEDC_TUNE_MAX_BUDGET, "startup (TPE warm-up trials)");
    if (o->gamma == 0) o->gamma = 0.25;
    if (!(o->gamma > 0 && o->gamma < 1))
        return fedc_fail(err, "tune: gamma (TPE good share): %g is out of range; allowed: between 0 and 1", o->gamma);
    if (o->candidates == 0) o->candidates = 24;
    CHECK_RANGE(candidates, 1, 10000, "candidates (TPE draws per proposal)");
    if (o->wave == 0) o->wave = 4;
    CHECK_RANGE(wave, 1, 10000, "wave (decisions taken together)");
    if (o->parallel == 0) o->parallel = fedc_cpu_count();
    CHECK_RANGE(parallel, 1, 1024, "parallel (trials at once)");
    if (o->keep_bytes == 0) o->keep_bytes = (size_t)1 << 30;
    CHECK_RANGE(n_classes, 0, 65536, "n_classes");
    if (o->propose_every == 0) o->propose_every = 2;
    o->include_base = o->include_base != 0;
    if (!memchr(o->objective, 0, sizeof o->objective))
        return fedc_fail(err, "tune: objective: the description is not NUL-terminated");
    CHECK_RANGE(propose_every, 1, FEDC_TUNE_MAX_BUDGET, "propose_every");
    if ((unsigned)o->goal > FEDC_TUNE_GOAL_PARETO)
        return fedc_fail(err, "tune: goal %d is not known; allowed: accuracy, accuracy@budget, pareto", (int)o->goal);
    const fedc_tune_limit *lim[2] = {&o->max_client_cpu, &o->max_bytes};
    for (int i = 0; i < 2; i++) {
        const fedc_tune_limit *l = lim[i];
        int ok = l->unit == FEDC_TUNE_LIMIT_OFF || l->unit == FEDC_TUNE_LIMIT_RELATIVE ||
                 (i == 0 && (l->unit == FEDC_TUNE_LIMIT_GFLOP || l->unit == FEDC_TUNE_LIMIT_SECONDS)) ||
                 (i == 1 && l->unit == FEDC_TUNE_LIMIT_BYTES);
        if (!ok || (l->unit != FEDC_TUNE_LIMIT_OFF && !(l->value > 0 && l->value <= 1e18)))
            return fedc_fail(err, "tune: %s: not a valid limit (unit %d, value %g)",
                             i ? "max_bytes" : "max_client_cpu", (int)l->unit, l->value);
    }
    int limited = o->max_client_cpu.unit != FEDC_TUNE_LIMIT_OFF || o->max_bytes.unit != FEDC_TUNE_LIMIT_OFF;
    if (o->goal == FEDC_TUNE_GOAL_BUDGET && !limited)
        return fedc_fail(err, "tune: accuracy@budget needs a limit: --max-client-cpu and/or --max-bytes");
    if (o->goal != FEDC_TUNE_GOAL_BUDGET && limited)
        return fedc_fail(err, "tune: --max-client-cpu and --max-bytes apply to the accuracy@budget objective only "
                         "(this search's is %s)", fedc_tune_goal_name(o->goal));
    if (o->pareto_axes & ~(FEDC_TUNE_AXIS_CLIENT | FEDC_TUNE_AXIS_BYTES | FEDC_TUNE_AXIS_WALL))
        return fedc_fail(err, "tune: pareto_axes: %#x has unknown bits", o->pareto_axes);
    if (o->goal == FEDC_TUNE_GOAL_PARETO && o->pareto_axes == 0)
        o->pareto_axes = FEDC_TUNE_AXIS_CLIENT | FEDC_TUNE_AXIS_BYTES;
    if (o->goal != FEDC_TUNE_GOAL_PARETO && o->pareto_axes != 0)
        return fedc_fail(err, "tune: --pareto-axes applies to the pareto objective only");
    int relative = o->max_client_cpu.unit == FEDC_TUNE_LIMIT_RELATIVE || o->max_bytes.unit == FEDC_TUNE_LIMIT_RELATIVE;
    if (relative && (!base || !o->include_base))
        return fedc_fail(err, "tune: a limit relative to the base task (\"2x\") needs the base task's own setting as "
                         "trial 0 (leave out --no-base), or give an absolute limit");
    return 0;
}

/* The goal's keys, added to the options JSON only when the goal is not
 * plain accuracy, so searches stored before goals existed resume as they were. */
static void goal_json(const fedc_tune_options *o, json_t *j) {
    if (o->goal == FEDC_TUNE_GOAL_ACCURACY) return;
    json_object_set_new(j, "goal", json_string(fedc_tune_goal_name(o->goal)));
    if (o->goal == FEDC_TUNE_GOAL_BUDGET) {
        json_object_set_new(j, "max_client_cpu", json_pack("{s:i,s:f}", "unit", (int)o->max_client_cpu.unit, "value",
                                                           tune_round_sig(o->max_client_cpu.value, 15)));
        json_object_set_new(j, "max_bytes", json_pack("{s:i,s:f}", "unit", (int)o->max_bytes.unit, "value",
                                                      tune_round_sig(o->max_bytes.value, 15)));
    }
    if (o->goal == FEDC_TUNE_GOAL_PARETO) json_object_set_new(j, "pareto_axes", json_integer(o->pareto_axes));
}

static int read_limit(json_t *j, const char *key, fedc_tune_limit *l) {
    json_t *v = json_object_get(j, key);
    if (!v) return 0;
    int unit = 0;
    double value = 0;
    if (json_unpack(v, "{s:i,s:F}", "unit", &unit, "value", &value) != 0 || unit < 0 || unit > FEDC_TUNE_LIMIT_BYTES)
        return -1;
    l->unit = (fedc_tune_limit_unit)unit;
    l->value = value;
    json_object_del(j, key);
    return 0;
}

/* Takes the goal's keys out of j into o; -1 when they are not readable. */
static int goal_from_json(json_t *j, fedc_tune_options *o) {
    json_t *g = json_object_get(j, "goal");
    o->goal = FEDC_TUNE_GOAL_ACCURACY;
    memset(&o->max_client_cpu, 0, sizeof o->max_client_cpu);
    memset(&o->max_bytes, 0, sizeof o->max_bytes);
    o->pareto_axes = 0;
    if (g && (!json_is_string(g) || fedc_tune_goal_parse(json_string_value(g), &o->goal) != 0)) return -1;
    json_object_del(j, "goal");
    if (read_limit(j, "max_client_cpu", &o->max_client_cpu) != 0 || read_limit(j, "max_bytes", &o->max_bytes) != 0)
        return -1;
    json_t *ax = json_object_get(j, "pareto_axes");
    if (ax) {
        if (!json_is_integer(ax) || json_integer_value(ax) < 0 || json_integer_value(ax) > 7) return -1;
        o->pareto_axes = (unsigned)json_integer_value(ax);
        json_object_del(j, "pareto_axes");
    }
    return 0;
}

/* The proposer is left out: a resumed search may add or drop it, since
 * stored trials keep the configuration and source they had. */
char *tune_options_json(const fedc_tune_options *o) {
    char objective[sizeof o->objective];
    snprintf(objective, sizeof objective, "%s", o->objective);
    json_t *j = json_pack("{s:s,s:I,s:i,s:i,s:i,s:i,s:f,s:i,s:i,s:i,s:b,s:s}", "method",
                          fedc_tune_method_name(o->method), "seed", (json_int_t)o->seed, "max_rounds", o->max_rounds,
                          "min_rounds", o->min_rounds, "eta", o->eta, "startup", o->startup, "gamma", o->gamma,
                          "candidates", o->candidates, "wave", o->wave, "n_classes", o->n_classes, "include_base",
                          o->include_base, "objective", objective);
    if (!j) return NULL;
    goal_json(o, j);
    char *text = json_dumps(j, TUNE_JSON_FLAGS);
    json_decref(j);
    return text;
}

int tune_options_from_json(const char *text, fedc_tune_options *o, fedc_error *err) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    const char *method = NULL, *objective = NULL;
    json_int_t seed = 0;
    fedc_tune_options t = *o;
    if (j && goal_from_json(j, &t) != 0) {
        json_decref(j);
        return fedc_fail(err, "stored search options: the goal is not readable");
    }
    if (!j ||
        json_unpack_ex(j, &je, JSON_STRICT, "{s:s,s:I,s:i,s:i,s:i,s:i,s:F,s:i,s:i,s:i,s:b,s:s}", "method", &method,
                       "seed", &seed, "max_rounds", &t.max_rounds, "min_rounds", &t.min_rounds, "eta", &t.eta,
                       "startup", &t.startup, "gamma", &t.gamma, "candidates", &t.candidates, "wave", &t.wave,
                       "n_classes", &t.n_classes, "include_base", &t.include_base, "objective", &objective) != 0 ||
        fedc_tune_method_parse(method, &t.method) != 0 || seed < 0 || strlen(objective) >= sizeof t.objective) {
        json_decref(j);
        return fedc_fail(err, "stored search options are not readable (%s)", je.text);
    }
    t.seed = (uint64_t)seed;
    snprintf(t.objective, sizeof t.objective, "%s", objective);
    json_decref(j);
    *o = t;
    return 0;
}
