/* Compression rules: codec stages named in words ("8-bit", "fp16", "top
 * 1%", "random-k 5%", "sign", "zstd") or as a pipeline ("topk:0.01|q8"),
 * each assigned to a direction by the nearest direction word ("updates" /
 * "uplink" -> up, "downlink" / "broadcast" -> down, "both directions").
 * With no direction word a stage applies to the client updates, and the
 * explanation says so. Stages compose in the order sparsify | quantise |
 * zstd; two different quantisers for one direction are a question. */
#include <stdio.h>
#include <string.h>

#include "intent/intent_internal.h"

enum { DIR_UP = 1, DIR_DOWN = 2, DIR_BOTH = 3 };

/* Direction of the stage at item i, from the nearest direction word in the
 * sentence (ties go to the left). Marks that word used. */
/* Whether a clause boundary (punctuation, "and", "but", "while") lies
 * between items a and b. */
static int clause_between(const intent_ctx *c, int a, int b) {
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    for (int j = a + 1; j < b; j++) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_PUNCT && strchr(",;.!?", it->text[0])) return 1;
        if (it->kind == IT_WORD && (!strcmp(it->text, "and") || !strcmp(it->text, "but") || !strcmp(it->text, "while")))
            return 1;
    }
    return 0;
}

/* Whether punctuation lies between items a and b ("and" does not count). */
static int punct_between(const intent_ctx *c, int a, int b) {
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    for (int j = a + 1; j < b; j++)
        if (c->it[j].kind == IT_PUNCT && strchr(",;.!?", c->it[j].text[0])) return 1;
    return 0;
}

/* The direction word that governs the stage at item i: one in the same
 * clause first, then one in the same stretch between punctuation ("model
 * broadcast sparsified ... and quantized to 8 bits": the subject governs
 * both verbs), then the nearest in the sentence (ties go to the left). */
static int direction(intent_ctx *c, int i, int *defaulted) {
    int best = -1, bestd = 1 << 30, best_level = -1;
    for (int j = 0; j < c->nit; j++) {
        if (!(intent_is(c, j, C_UP) || intent_is(c, j, C_DOWN) || intent_is(c, j, C_BOTH))) continue;
        if (!intent_same_sentence(c, i, j)) continue;
        int level = !clause_between(c, i, j) ? 2 : !punct_between(c, i, j) ? 1 : 0;
        int d = j > i ? j - i : i - j;
        if (level > best_level || (level == best_level && (d < bestd || (d == bestd && j < i)))) {
            best = j;
            bestd = d;
            best_level = level;
        }
    }
    *defaulted = best < 0;
    if (best < 0) return DIR_UP;
    intent_use(c, best);
    return intent_is(c, best, C_BOTH) ? DIR_BOTH : intent_is(c, best, C_DOWN) ? DIR_DOWN : DIR_UP;
}

static const char *stage_name(int st) {
    switch (st) {
    case STAGE_FP16: return "fp16";
    case STAGE_BF16: return "bf16";
    case STAGE_Q8: return "q8";
    case STAGE_Q4: return "q4";
    case STAGE_Q2: return "q2";
    case STAGE_SIGN: return "sign";
    default: return "zstd";
    }
}

static void widen(intent_codec_side *s, int start, int end) {
    if (!s->start && !s->end) {
        s->start = start;
        s->end = end;
        return;
    }
    if (start < s->start) s->start = start;
    if (end > s->end) s->end = end;
}

/* Adds a stage (STAGE_*) or a sparsifier ('t'/'r' with fraction) from items
 * a..b to the sides of dir. */
static int add_stage(intent_ctx *c, int dir, int stage, int sparsifier, double fraction, int a, int b) {
    int start, end;
    intent_items_span(c, a, b, &start, &end);
    for (int side = 0; side < 2; side++) {
        if (!(dir & (side ? DIR_DOWN : DIR_UP))) continue;
        intent_codec_side *s = &c->codec[side];
        const char *name = side ? "compression.down" : "compression.up";
        char ev[96], prev[96];
        intent_evidence(c, start, end, ev, sizeof ev);
        if (sparsifier) {
            if (s->sparsifier && (s->sparsifier != sparsifier || s->fraction != fraction)) {
                intent_evidence(c, s->s_start, s->s_end, prev, sizeof prev);
                return intent_ask(c, "%s: \"%s\" and \"%s\" ask for two different sparsifiers. Which one?", name,
                                  prev, ev);
            }
            s->sparsifier = sparsifier;
            s->fraction = fraction;
            s->s_start = start;
            s->s_end = end;
        } else if (stage == STAGE_ZSTD) {
            s->zstd = 1;
        } else {
            if (s->quant && s->quant != stage) {
                intent_evidence(c, s->q_start, s->q_end, prev, sizeof prev);
                return intent_ask(c, "%s: \"%s\" and \"%s\" ask for two different number formats (%s vs %s). "
                                     "Which one?",
                                  name, prev, ev, stage_name(s->quant), stage_name(stage));
            }
            s->quant = stage;
            s->q_start = start;
            s->q_end = end;
        }
        widen(s, start, end);
    }
    return 0;
}

static int bits_stage(intent_ctx *c, int n, int u) {
    const intent_item *it = &c->it[n];
    int stage = 0;
    if (it->num == 8) stage = STAGE_Q8;
    else if (it->num == 4) stage = STAGE_Q4;
    else if (it->num == 2) stage = STAGE_Q2;
    else if (it->num == 1) stage = STAGE_SIGN;
    else if (it->num == 16) stage = STAGE_FP16;
    if (!stage || (it->flags & (TK_PERCENT | TK_FRACTION))) {
        char ev[96];
        intent_evidence(c, intent_span_start(c, n), intent_span_end(c, u), ev, sizeof ev);
        return intent_ask(c,
                          "compression: %s-bit quantisation (\"%s\") is not available; allowed: 1 (sign), 2, 4, 8 "
                          "(q2, q4, q8) or 16 (fp16) bits. Which did you mean?",
                          c->tok[it->t0].text, ev);
    }
    return stage;
}

/* Fraction kept by a sparsifier: "1%" -> 0.01, "0.05" -> 0.05; "top 10" is
 * ambiguous. Returns -1 after asking. */
static double kept_fraction(intent_ctx *c, int k, int n) {
    const intent_item *it = &c->it[n];
    if (it->flags & TK_PERCENT) {
        if (it->num > 0 && it->num <= 100) return it->num / 100.0;
    } else if (it->num > 0 && it->num <= 1) {
        return it->num;
    }
    char ev[96];
    intent_evidence(c, intent_span_start(c, k), intent_span_end(c, n), ev, sizeof ev);
    intent_ask(c, "compression: \"%s\" is ambiguous: keep %s percent (say \"%s%%\") or a fraction (say \"0.%s\")? "
                  "Sparsifiers keep a share between 0 and 1 of the values.",
               ev, c->tok[it->t0].text, c->tok[it->t0].text, c->tok[it->t0].text);
    return -1;
}

/* Words between a sparsifier keyword and its share: "top k with k = 1%",
 * "keeping the top 1% of entries", "random-k sparsification at 5%". */
static int share_after(intent_ctx *c, int i) {
    for (int j = i + 1, d = 0; j < c->nit && d < 5; j++, d++) {
        const intent_item *it = &c->it[j];
        if (it->kind == IT_NUM) return it->used ? -1 : j;
        if (intent_is(c, j, C_SPARSIFY) || (it->kind == IT_WORD && ((it->wclass & W_FILL) || !strcmp(it->text, "k") ||
                                                                    !strcmp(it->text, "keep") || !strcmp(it->text, "only"))) ||
            (it->kind == IT_PUNCT && (it->text[0] == '=' || it->text[0] == ':' || it->text[0] == '(')))
            continue;
        return -1;
    }
    return -1;
}

static int word_is(const intent_ctx *c, int i, const char *const *ws);

/* "the coordinates", "the update values", "its gradient entries" at item j. */
static int coordinates_at(const intent_ctx *c, int j, const char *const *nouns) {
    static const char *const fillers[] = {"the", "its", "their", "each", "update", "model", "gradient", NULL};
    for (int d = 0; d < 3 && (word_is(c, j, fillers) || intent_is(c, j, C_UP)); d++) j++;
    return word_is(c, j, nouns);
}

static int is_word_at(const intent_ctx *c, int i, const char *w) {
    return i >= 0 && i < c->nit && c->it[i].kind == IT_WORD && !strcmp(c->it[i].text, w);
}

static int word_is(const intent_ctx *c, int i, const char *const *ws) {
    if (i < 0 || i >= c->nit || c->it[i].kind != IT_WORD) return 0;
    for (int k = 0; ws[k]; k++)
        if (!strcmp(c->it[i].text, ws[k]) || !strcmp(c->tok[c->it[i].t0].text, ws[k])) return 1;
    return 0;
}

/* "keep (just) 1% of the coordinates", "send a random 5% of the update
 * entries", "transmit a tenth of the values": a share of the coordinates
 * an update keeps is a sparsifier even without its name; top-k, or rand-k
 * when the clause says "random(ly)". The share at item n. */
static int coordinate_share(intent_ctx *c, int n) {
    static const char *const nouns[] = {"coordinate", "coordinates", "entry", "entries", "element", "elements",
                                        "value", "values", "parameter", "parameters", "weight", "weights",
                                        "component", "components", "gradient", "gradients", NULL};
    static const char *const verbs[] = {"keep", "keeps", "keeping", "kept", "send", "sends", "sending", "sent",
                                        "upload", "uploads", "uploading", "transmit", "transmits", "transmitting",
                                        "retain", "retains", "retaining", "share", "communicate", "ship",
                                        "only", "just", NULL};
    static const char *const fillers[] = {"the", "each", "every", "its", "their", "an", "a", "update", "model",
                                          "client", NULL};
    static const char *const random_words[] = {"random", "randomly", "arbitrary", NULL};
    const intent_item *it = &c->it[n];
    if (it->used || !(it->flags & (TK_PERCENT | TK_FRACTION)) || !word_is(c, n + 1, (const char *const[]){"of", NULL}))
        return 0;
    int j = n + 2;
    for (int d = 0; d < 3 && j < c->nit && (word_is(c, j, fillers) || intent_is(c, j, C_UP) || intent_is(c, j, C_CLIENT));
         d++)
        j++;
    if (!word_is(c, j, nouns)) return 0;
    int verb = -1, random = 0;
    for (int k = n - 1, d = 0; k >= 0 && d < 5; k--, d++) {
        if (c->it[k].kind == IT_PUNCT && strchr(",;.!?\n", c->it[k].text[0])) break;
        if (word_is(c, k, verbs) && verb < 0) verb = k;
        if (word_is(c, k, random_words) || intent_is(c, k, C_RANDK) ||
            (intent_is(c, k, C_POL_RANDOM) && !strncmp(c->tok[c->it[k].t0].text, "random", 6)))
            random = k + 1;
    }
    if (verb < 0) return 0;
    double f = kept_fraction(c, n, n);
    if (f < 0) return -1;
    int first = verb < n ? verb : n;
    if (random && random - 1 < first) first = random - 1;
    for (int k = first; k <= j; k++)
        if (c->it[k].kind != IT_PUNCT) intent_use(c, k);
    int defaulted, dir = direction(c, n, &defaulted);
    if (add_stage(c, dir, 0, random ? 'r' : 't', f, first, j) < 0) return -1;
    return defaulted ? 2 : 1;
}

/* A pipeline written out: "topk:0.01|q8|zstd" (checked by the validator). */
static int pipeline(intent_ctx *c, int i) {
    int defaulted;
    int dir = direction(c, i, &defaulted);
    int s = intent_span_start(c, i), e = intent_span_end(c, i);
    char v[260];
    snprintf(v, sizeof v, "%.*s", e - s, c->text + s);
    for (char *p = v; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    intent_use(c, i);
    if (dir & DIR_UP && intent_set_str(c, "compression.up", v, RANK_WORDS, i, i, NULL) < 0) return -1;
    if (dir & DIR_DOWN && intent_set_str(c, "compression.down", v, RANK_WORDS, i, i, NULL) < 0) return -1;
    if (defaulted) intent_note(c, "no direction given for \"%s\": applied to the client updates (uplink)", v);
    return 0;
}

int intent_rules_codec(intent_ctx *c) {
    int any_default = 0, any_stage = 0;
    for (int i = 0; i < c->nit && !c->failed; i++) {
        intent_item *it = &c->it[i];
        if (it->used) continue;
        if (it->kind == IT_SPEC && (it->flags & TK_CODEC)) {
            if (pipeline(c, i) < 0) return -1;
            any_stage = 1;
            continue;
        }
        if (it->kind == IT_NUM) {
            int rc = coordinate_share(c, i);
            if (rc < 0) return -1;
            if (rc > 0) any_stage = 1;
            any_default |= rc == 2;
            continue;
        }
        if (it->kind != IT_CONCEPT) continue;
        int defaulted = 0, dir, n;
        switch (it->concept) {
        case C_BIT: {
            n = intent_num_before(c, i, 1);
            if (n < 0) break;
            int stage = bits_stage(c, n, i);
            if (stage < 0) return -1;
            int q = intent_next(c, i), p = intent_prev(c, n);
            int first = n, last = i;
            if (q >= 0 && intent_is(c, q, C_QUANTIZE)) last = q;
            if (p >= 0 && intent_is(c, p, C_QUANTIZE)) first = p;
            for (int k = first; k <= last; k++)
                if (intent_is(c, k, C_QUANTIZE) || k == n || k == i) intent_use(c, k);
            dir = direction(c, i, &defaulted);
            if (add_stage(c, dir, stage, 0, 0, first, last) < 0) return -1;
            break;
        }
        case C_STAGE:
            intent_use(c, i);
            dir = direction(c, i, &defaulted);
            if (add_stage(c, dir, (int)it->arg, 0, 0, i, i) < 0) return -1;
            break;
        case C_TOPK:
        case C_RANDK:
        case C_SPARSIFY: {
            n = share_after(c, i);
            if (n < 0) {
                if (it->concept == C_SPARSIFY) break; /* "top-1% sparsification": the share came first */
                if (it->concept == C_TOPK && !strcmp(it->text, "top")) break; /* "top" alone: not a codec */
                char ev[96];
                intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), ev, sizeof ev);
                return intent_ask(c, "compression: \"%s\" needs the share of values to keep, e.g. \"top 1%%\". "
                                     "How much should it keep?",
                                  ev);
            }
            double f = kept_fraction(c, i, n);
            if (f < 0) return -1;
            int last = n;
            for (int k = i; k <= n; k++) intent_use(c, k);
            int nx = intent_next(c, n);
            if (nx >= 0 && intent_is(c, nx, C_SPARSIFY)) {
                intent_use(c, nx);
                last = nx;
            }
            int random = it->concept == C_RANDK;
            for (int k = i - 2; k < i; k++)
                if (k >= 0 && intent_is(c, k, C_RANDK)) random = 1;
            dir = direction(c, i, &defaulted);
            if (add_stage(c, dir, 0, random ? 'r' : 't', f, i, last) < 0) return -1;
            break;
        }
        case C_NO_COMPRESSION: {
            intent_use(c, i);
            dir = direction(c, i, &defaulted);
            if (defaulted) dir = DIR_BOTH; /* "no compression" means none anywhere */
            defaulted = 0;
            int s, e;
            intent_items_span(c, i, i, &s, &e);
            for (int side = 0; side < 2; side++)
                if (dir & (side ? DIR_DOWN : DIR_UP)) {
                    c->codec[side].none = 1;
                    widen(&c->codec[side], s, e);
                }
            break;
        }
        default:
            continue;
        }
        if (it->used && it->concept != C_NO_COMPRESSION) any_stage = 1;
        any_default |= defaulted && it->used;
    }
    if (c->failed) return -1;
    /* "quantize" without a width next to it: the width named elsewhere in
     * the sentence; with none, q8, q4 and q2 are all plausible: asked */
    for (int i = 0; i < c->nit; i++) {
        if (!intent_is(c, i, C_QUANTIZE) || c->it[i].used) continue;
        intent_use(c, i);
        int defaulted, dir = direction(c, i, &defaulted);
        if ((dir & DIR_UP && c->codec[0].quant) || (dir & DIR_DOWN && c->codec[1].quant)) continue;
        const char *path = dir & DIR_UP ? "compression.up" : "compression.down";
        char ev[96];
        intent_evidence(c, intent_span_start(c, i), intent_span_end(c, i), ev, sizeof ev);
        int rc = intent_ask_which(c, path,
                                  "%s: \"%s\" gives no bit width. Which one: 8 bits (q8), 4 bits (q4) or 2 bits (q2)? "
                                  "(e.g. \"8-bit quantisation\")",
                                  path, ev);
        intent_reading(c, path, "\"q8\"", "8 bits per value, the finest quantiser");
        intent_reading(c, path, "\"q4\"", "4 bits per value");
        intent_reading(c, path, "\"q2\"", "2 bits per value, with stochastic rounding");
        return rc;
    }
    /* "sparsify ... the top 1%": the verb belongs to the stage */
    for (int i = 0; i < c->nit; i++)
        if (intent_is(c, i, C_SPARSIFY) && (c->codec[0].sparsifier || c->codec[1].sparsifier)) intent_use(c, i);
    /* "apply sparsification to the uplink", "upload a fraction of the
     * coordinates": a sparsifier without the share it keeps */
    for (int i = 0; i < c->nit; i++) {
        static const char *const part[] = {"fraction", "portion", "part", "subset", NULL};
        static const char *const nouns[] = {"coordinate", "coordinates", "entry", "entries", "value", "values",
                                            "element", "elements", "weights", NULL};
        int vague_share = c->it[i].t1 - c->it[i].t0 == 1 && c->it[i].kind != IT_NUM &&
                          (word_is(c, i, part) || !strcmp(c->tok[c->it[i].t0].text, "fraction")) && !c->it[i].used &&
                          is_word_at(c, i + 1, "of") && coordinates_at(c, i + 2, nouns);
        if (!(intent_is(c, i, C_SPARSIFY) && !c->it[i].used) && !vague_share) continue;
        int defaulted, dir = direction(c, i, &defaulted);
        const char *path = dir & DIR_UP ? "compression.up" : "compression.down";
        char ev[96];
        intent_evidence(c, intent_span_start(c, i), intent_span_end(c, vague_share ? i + 2 : i), ev, sizeof ev);
        return intent_ask_which(c, path,
                                "%s: \"%s\" needs the share of values to keep, e.g. \"top 1%%\" or \"random-k "
                                "10%%\". How much should it keep?",
                                path, ev);
    }
    /* compose each side */
    for (int side = 0; side < 2; side++) {
        intent_codec_side *s = &c->codec[side];
        const char *path = side ? "compression.down" : "compression.up";
        int stages = s->sparsifier || s->quant || s->zstd;
        if (!stages && !s->none) continue;
        if (stages && s->none) {
            char ev[96];
            intent_evidence(c, s->start, s->end, ev, sizeof ev);
            return intent_ask(c, "%s: \"%s\" asks for no compression and for a codec at once. Which one?", path, ev);
        }
        char v[128];
        size_t o = 0;
        if (s->none) o += (size_t)snprintf(v + o, sizeof v - o, "none");
        if (s->sparsifier)
            o += (size_t)snprintf(v + o, sizeof v - o, "%s:%g", s->sparsifier == 't' ? "topk" : "randk", s->fraction);
        if (s->quant) o += (size_t)snprintf(v + o, sizeof v - o, "%s%s", o ? "|" : "", stage_name(s->quant));
        if (s->zstd) snprintf(v + o, sizeof v - o, "%szstd", o ? "|" : "");
        if (intent_set(c, path, json_string(v), RANK_WORDS, s->start, s->end, NULL) < 0) return -1;
    }
    if (any_default) intent_note(c, "no direction given for the compression: applied to the client updates (uplink)");
    /* "compress" with no codec named leaves the choice to the bandwidth goal */
    for (int i = 0; i < c->nit; i++) {
        if (!intent_is(c, i, C_COMPRESS) || c->it[i].used) continue;
        intent_use(c, i);
        if (any_stage) continue;
        c->compress_word = 1;
        c->compress_start = intent_span_start(c, i);
        c->compress_end = intent_span_end(c, i);
    }
    return 0;
}
