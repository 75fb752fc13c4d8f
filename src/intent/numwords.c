/* Numbers written as words ("fifty", "two hundred and fifty", "a dozen",
 * "twenty-five", "half", "a tenth") and percent written out ("10 percent",
 * "10 %") become number tokens; the swallowed tokens are marked merged and
 * the number's span covers them all, so explanations quote the words. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "intent/intent_internal.h"

typedef struct {
    const char *word;
    double value;
    int kind; /* 0 unit (0-19), 1 tens, 2 hundred, 3 thousand/million, 4 dozen, 5 fraction, 6 plural
               * fraction ("two thirds": only after a count) */
} num_word;

static const num_word num_words[] = {
    {"zero", 0, 0},       {"nought", 0, 0},     {"naught", 0, 0},
    {"one", 1, 0},        {"single", 1, 0},    {"two", 2, 0},
    {"three", 3, 0},      {"four", 4, 0},       {"five", 5, 0},      {"six", 6, 0},
    {"seven", 7, 0},      {"eight", 8, 0},      {"nine", 9, 0},      {"ten", 10, 0},
    {"eleven", 11, 0},    {"twelve", 12, 0},    {"thirteen", 13, 0}, {"fourteen", 14, 0},
    {"fifteen", 15, 0},   {"sixteen", 16, 0},   {"seventeen", 17, 0}, {"eighteen", 18, 0},
    {"nineteen", 19, 0},  {"twenty", 20, 1},    {"thirty", 30, 1},   {"forty", 40, 1},
    {"fourty", 40, 1},    {"fifty", 50, 1},     {"sixty", 60, 1},    {"seventy", 70, 1},
    {"eighty", 80, 1},    {"ninety", 90, 1},    {"hundred", 100, 2}, {"thousand", 1000, 3},
    {"million", 1e6, 3},  {"dozen", 12, 4},     {"half", 0.5, 5},    {"quarter", 0.25, 5},
    {"third", 1.0 / 3.0, 5}, {"tenth", 0.1, 5}, {"fifth", 0.2, 5},   {"fourth", 0.25, 5},
    {"eighth", 0.125, 5}, {"thirds", 1.0 / 3.0, 6}, {"quarters", 0.25, 6}, {"fifths", 0.2, 6},
    {"tenths", 0.1, 6},   {"fourths", 0.25, 6}, {"halves", 0.5, 6},
    {"hundredth", 0.01, 5}, {"thousandth", 0.001, 5}, {"millionth", 1e-6, 5},
    {"hundredths", 0.01, 6}, {"thousandths", 0.001, 6}, {"millionths", 1e-6, 6},
    {"eighths", 0.125, 6},
};

static const num_word *find(const intent_tok *t) {
    if (t->kind != TK_WORD) return NULL;
    for (size_t k = 0; k < sizeof num_words / sizeof num_words[0]; k++)
        if (strcmp(t->text, num_words[k].word) == 0) return &num_words[k];
    /* plural scales: "hundreds" are not a count, "thousands" neither */
    return NULL;
}

/* Words a spelled number turns into an adjective with a hyphen: "two-sided
 * learning rates" counts nothing. */
static int hyphen_adjective(const char *w) {
    static const char *const words[] = {"sided", "fold", "stage", "tier", "phase", "pronged", "shot", "way",
                                        "time", "off", "level", "dimensional", "hot", NULL};
    for (int k = 0; words[k]; k++)
        if (!strcmp(w, words[k])) return 1;
    return 0;
}

static int tok_word(const intent_tok *t, const char *w) {
    return t->kind == TK_WORD && !t->merged && strcmp(t->text, w) == 0;
}

static int is_article(const intent_tok *t) {
    return t->kind == TK_WORD && (strcmp(t->text, "a") == 0 || strcmp(t->text, "an") == 0);
}

static void to_number(intent_tok *first, const intent_tok *last, double v, unsigned flags) {
    first->kind = TK_NUM;
    first->num = v;
    first->flags = flags | TK_WORDS;
    first->end = last->end;
    if (flags & TK_FRACTION)
        snprintf(first->text, TOK_TEXT, "%g", v);
    else
        snprintf(first->text, TOK_TEXT, "%.0f", v);
}

/* Next token index after i that is not merged, or n. */
static int next_live(const intent_tok *t, int n, int i) {
    for (i++; i < n && t[i].merged; i++) {}
    return i;
}


/* The exponent of "10⁻⁴" / "10^-4" / "10^4" at s (after the "10"); 1 and
 * *e set when the whole rest of s is one, else 0. */
static int exponent_of(const char *s, int *e) {
    int sign = 1, v = 0, digits = 0;
    if (*s == '^') {
        s++;
        if (*s == '-' || *s == '+') sign = *s++ == '-' ? -1 : 1;
        while (*s >= '0' && *s <= '9' && digits < 3) {
            v = v * 10 + (*s++ - '0');
            digits++;
        }
    } else {
        /* superscripts: ⁻ (e2 81 bb), ⁰ (e2 81 b0), ¹ (c2 b9), ² (c2 b2), ³ (c2 b3), ⁴-⁹ (e2 81 b4-b9) */
        const unsigned char *u = (const unsigned char *)s;
        if (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0xbb) {
            sign = -1;
            u += 3;
        }
        for (;;) {
            int d = -1;
            if (u[0] == 0xe2 && u[1] == 0x81 && (u[2] == 0xb0 || (u[2] >= 0xb4 && u[2] <= 0xb9))) {
                d = u[2] == 0xb0 ? 0 : u[2] - 0xb0;
                u += 3;
            } else if (u[0] == 0xc2 && (u[1] == 0xb9 || u[1] == 0xb2 || u[1] == 0xb3)) {
                d = u[1] == 0xb9 ? 1 : u[1] == 0xb2 ? 2 : 3;
                u += 2;
            }
            if (d < 0 || digits >= 3) break;
            v = v * 10 + d;
            digits++;
        }
        s = (const char *)u;
    }
    if (!digits || *s) return 0;
    *e = sign * v;
    return 1;
}

/* "1×10⁻⁴" written without spaces: the lexer keeps "×10⁻⁴" as a word
 * glued to the number; it is the number's power of ten. */
static void glued_powers(intent_tok *t, int n) {
    for (int i = 0; i + 1 < n; i++) {
        intent_tok *a = &t[i], *w = &t[i + 1];
        if (a->merged || w->merged || a->kind != TK_NUM || w->kind != TK_WORD || w->start != a->end ||
            (a->flags & (TK_PERCENT | TK_FRACTION | TK_FACTOR)))
            continue;
        const char *x = w->text;
        if (!strncmp(x, "\xc3\x97", 2)) x += 2;
        else if (*x == 'x' || *x == '*') x++;
        else continue;
        int e;
        if (strncmp(x, "10", 2) != 0 || !exponent_of(x + 2, &e) || e < -30 || e > 30) continue;
        double v = a->num * pow(10, e);
        w->merged = 1;
        a->num = v;
        a->end = w->end;
        a->flags = TK_POWER | (v == floor(v) && v < 9e15 ? TK_INTEGER : 0);
        snprintf(a->text, TOK_TEXT, "%g", v);
    }
}

/* Powers written out: "ten to the minus three", "10 to the power of -4",
 * "5 × 10⁻⁴", "5 x 10^-4", "2^31-1". */
static void powers(intent_tok *t, int n) {
    glued_powers(t, n);
    for (int i = 0; i < n; i++) {
        if (t[i].merged || t[i].kind != TK_NUM || (t[i].flags & (TK_PERCENT | TK_FRACTION))) continue;
        int j = next_live(t, n, i);
        /* "ten to the (power of) (minus) three" */
        if ((t[i].flags & TK_INTEGER) && t[i].num >= 2 && t[i].num <= 10 && j < n && tok_word(&t[j], "to")) {
            int k = next_live(t, n, j);
            if (k < n && tok_word(&t[k], "the")) k = next_live(t, n, k);
            if (k < n && tok_word(&t[k], "power")) {
                k = next_live(t, n, k);
                if (k < n && tok_word(&t[k], "of")) k = next_live(t, n, k);
            }
            double sign = 1;
            if (k < n && (tok_word(&t[k], "minus") || tok_word(&t[k], "negative"))) {
                sign = -1;
                k = next_live(t, n, k);
            }
            if (k < n && t[k].kind == TK_NUM && (t[k].flags & TK_INTEGER) && fabs(t[k].num) <= 30 && k > j) {
                double v = pow(t[i].num, sign * t[k].num);
                for (int m = i + 1; m <= k; m++) t[m].merged = 1;
                t[i].num = v;
                t[i].end = t[k].end;
                t[i].flags = (t[i].flags & TK_WORDS) | TK_POWER | (v == floor(v) && v < 9e15 ? TK_INTEGER : 0);
                snprintf(t[i].text, TOK_TEXT, "%g", v);
                continue;
            }
        }
        /* "5 × 10⁻⁴", "5 x 10^-4", "5 * 10^-4", "5 times 10 to the minus 4" */
        if (j < n && (tok_word(&t[j], "\xc3\x97") || tok_word(&t[j], "x") || tok_word(&t[j], "times") ||
                      (t[j].kind == TK_PUNCT && t[j].text[0] == '*'))) {
            int k = next_live(t, n, j);
            if (k < n && t[k].kind == TK_NUM && (t[k].flags & TK_POWER) && !(t[k].flags & TK_FACTOR)) {
                double v = t[i].num * t[k].num;
                for (int m = i + 1; m <= k; m++) t[m].merged = 1;
                t[i].num = v;
                t[i].end = t[k].end;
                t[i].flags = TK_POWER | (v == floor(v) && v < 9e15 ? TK_INTEGER : 0);
                snprintf(t[i].text, TOK_TEXT, "%g", v);
                continue;
            }
        }
        /* "2^31-1": a power and what is added to it, written as one chunk */
        if ((t[i].flags & TK_POWER) && (t[i].flags & TK_INTEGER) && j < n && t[j].kind == TK_NUM &&
            (t[j].flags & TK_INTEGER) && t[j].start == t[i].end + 1) {
            /* the lexer skipped the sign between them; it is the byte before j */
            intent_tok *a = &t[i];
            a->num = a->num - t[j].num;
            a->end = t[j].end;
            t[j].merged = 1;
            snprintf(a->text, TOK_TEXT, "%.0f", a->num);
        }
    }
}

static int time_word(const intent_tok *t) {
    static const char *const w[] = {"second", "seconds", "sec", "secs", "minute", "minutes", "min", "mins",
                                    "hour", "hours", "hr", "hrs", "h", "day", "days", "s", NULL};
    if (t->kind != TK_WORD) return 0;
    for (int k = 0; w[k]; k++)
        if (!strcmp(t->text, w[k])) return 1;
    return 0;
}

/* A part of an amount: "half of a 6-hour budget" (3 hours), "two thirds of
 * a minute" (40 s), "a tenth of the default 0.05", "triple the default 50
 * rounds", "double the 30 s deadline". Only where the amount is a time or
 * the words say it is the default (a share of clients is counted by the
 * clients rules instead). */
static void parts_of(intent_tok *t, int n) {
    for (int i = 0; i < n; i++) {
        if (t[i].merged) continue;
        double f = 0;
        int j;
        if (t[i].kind == TK_NUM && (t[i].flags & (TK_FRACTION | TK_PERCENT)) && !(t[i].flags & TK_POWER)) {
            f = t[i].flags & TK_PERCENT ? t[i].num / 100 : t[i].num;
            j = next_live(t, n, i);
            if (j >= n || !tok_word(&t[j], "of")) continue;
            j = next_live(t, n, j);
        } else if (t[i].kind == TK_WORD && (!strcmp(t[i].text, "double") || !strcmp(t[i].text, "triple") ||
                                            !strcmp(t[i].text, "quadruple") || !strcmp(t[i].text, "twice") ||
                                            !strcmp(t[i].text, "thrice"))) {
            f = !strcmp(t[i].text, "double") || !strcmp(t[i].text, "twice") ? 2
                : !strcmp(t[i].text, "quadruple")                           ? 4
                                                                            : 3;
            j = next_live(t, n, i);
            if (j >= n || !tok_word(&t[j], "the")) continue;
        } else {
            continue;
        }
        int art = j < n && (tok_word(&t[j], "a") || tok_word(&t[j], "an") || tok_word(&t[j], "the"));
        if (art) j = next_live(t, n, j);
        int dflt = j < n && tok_word(&t[j], "default");
        if (dflt) j = next_live(t, n, j);
        if (j >= n) continue;
        if (t[j].kind == TK_NUM && !(t[j].flags & (TK_PERCENT | TK_FRACTION))) {
            int u = next_live(t, n, j);
            if (!dflt && !(u < n && time_word(&t[u]))) continue;
            double v = f * t[j].num;
            for (int m = i + 1; m <= j; m++) t[m].merged = 1;
            t[i].kind = TK_NUM;
            t[i].num = v;
            t[i].end = t[j].end;
            t[i].flags = (t[j].flags & TK_WORDS) | (v == floor(v) ? TK_INTEGER : 0);
            snprintf(t[i].text, TOK_TEXT, "%g", v);
        } else if (time_word(&t[j]) && art && t[i].kind == TK_NUM) {
            /* "two thirds of a minute": that many minutes */
            for (int m = i + 1; m < j; m++) t[m].merged = 1;
            t[i].flags &= ~(unsigned)(TK_FRACTION | TK_PERCENT);
            t[i].num = f;
            snprintf(t[i].text, TOK_TEXT, "%g", f);
        }
    }
}

void intent_number_words(intent_tok *t, int n) {
    for (int i = 0; i < n; i++) {
        if (t[i].merged) continue;
        /* "a pair of clients", "a couple of clients", "a score of clients":
         * counts said with a collective noun (only with "a ... of", so "A
         * couple are enormous" and "the F1 score" stay words) */
        if (is_article(&t[i]) && i + 2 < n && t[i + 2].kind == TK_WORD && !strcmp(t[i + 2].text, "of") &&
            (tok_word(&t[i + 1], "pair") || tok_word(&t[i + 1], "couple") || tok_word(&t[i + 1], "score"))) {
            double v = tok_word(&t[i + 1], "score") ? 20 : 2;
            /* "a couple of them" keeps its "of" for the rules of "N of them" */
            int keep_of = i + 3 < n && (tok_word(&t[i + 3], "them") || tok_word(&t[i + 3], "us") ||
                                        tok_word(&t[i + 3], "the") || tok_word(&t[i + 3], "those"));
            t[i + 1].merged = 1;
            if (!keep_of) t[i + 2].merged = 1;
            to_number(&t[i], &t[keep_of ? i + 1 : i + 2], v, TK_INTEGER);
            continue;
        }
        /* "SCAFFOLD option II", "variant I": a roman numeral after the word
         * that numbers the choice */
        if (t[i].kind == TK_WORD && i > 0 && t[i - 1].kind == TK_WORD && !t[i - 1].merged &&
            (!strcmp(t[i - 1].text, "option") || !strcmp(t[i - 1].text, "variant"))) {
            static const char *const roman[] = {"i", "ii", "iii", "iv", "v"};
            for (int r = 0; r < 5; r++)
                if (!strcmp(t[i].text, roman[r])) {
                    to_number(&t[i], &t[i], r + 1, TK_INTEGER);
                    break;
                }
            if (t[i].kind == TK_NUM) continue;
        }
        int s = i;
        const num_word *w = find(&t[i]);
        /* "a hundred", "a dozen", "a tenth", "an hour" (not a number word) */
        if (!w && is_article(&t[i]) && i + 1 < n) {
            const num_word *nx = find(&t[i + 1]);
            if (nx && nx->kind >= 2) {
                w = nx;
                s = i + 1;
            }
        }
        if (!w || w->kind == 6) continue;
        /* "a few thousand phones", "several hundred rounds": a vague amount,
         * not a number (the vague rules ask about it) */
        if (w->kind >= 2 && w->kind <= 4 && s > 0 && t[s - 1].kind == TK_WORD &&
            (!strcmp(t[s - 1].text, "few") || !strcmp(t[s - 1].text, "several") || !strcmp(t[s - 1].text, "many") ||
             !strcmp(t[s - 1].text, "couple") || !strcmp(t[s - 1].text, "some")))
            continue;
        /* "two-sided", "one-shot": a spelled number glued by a hyphen to a
         * word that is not something it counts */
        if (w->kind <= 1 && s + 1 < n && t[s + 1].kind == TK_WORD && t[s + 1].start == t[s].end + 1 &&
            hyphen_adjective(t[s + 1].text))
            continue;
        /* "this quarter", "last quarter", "next half": a period of time */
        if (w->kind == 5 && s == i && i > 0 && t[i - 1].kind == TK_WORD && !t[i - 1].merged &&
            (!strcmp(t[i - 1].text, "this") || !strcmp(t[i - 1].text, "last") || !strcmp(t[i - 1].text, "next") ||
             !strcmp(t[i - 1].text, "first") || !strcmp(t[i - 1].text, "second")))
            continue;
        /* "half precision" is a number format, not a number */
        if (w->kind == 5 && s + 1 < n && t[s + 1].kind == TK_WORD &&
            (strcmp(t[s + 1].text, "precision") == 0 || strcmp(t[s + 1].text, "float") == 0))
            continue;
        if (w->kind == 5) {
            /* "one ten-thousandth": a count glued to an ordinal of a scale
             * is one part in that many */
            int p = i - 1;
            while (p >= 0 && t[p].merged) p--;
            if (s == i && p >= 0 && t[p].kind == TK_NUM && (t[p].flags & TK_WORDS) && (t[p].flags & TK_INTEGER) &&
                t[p].num >= 1 && w->value <= 0.01 && t[i].start == t[p].end + 1 && w->word[strlen(w->word) - 1] != 's') {
                double v = w->value / t[p].num;
                t[i].merged = 1;
                to_number(&t[p], &t[i], v, TK_FRACTION);
                continue;
            }
            /* "half a dozen" = 6; otherwise a fraction ("half of them", "half an hour") */
            if (strcmp(w->word, "half") == 0 && s + 2 < n && is_article(&t[s + 1]) &&
                find(&t[s + 2]) && find(&t[s + 2])->kind == 4) {
                for (int k = i + 1; k <= s + 2; k++) t[k].merged = 1;
                to_number(&t[i], &t[s + 2], 6, TK_INTEGER);
                continue;
            }
            for (int k = i + 1; k <= s; k++) t[k].merged = 1;
            to_number(&t[i], &t[s], w->value, TK_FRACTION);
            continue;
        }
        double total = 0, current = 0, pair = -1;
        int last_kind = -1, end = s;
        int k = s;
        while (k < n) {
            const num_word *x = find(&t[k]);
            /* "nineteen eighty-four", "twenty twenty-four": a year said in pairs */
            if (x && x->kind == 1 && (last_kind == 0 || last_kind == 1) && pair < 0 && total == 0 && current >= 11 &&
                current <= 99) {
                pair = current;
                current = 0;
                last_kind = -1;
            } else if (!x || x->kind >= 5) {
                /* "two hundred and fifty": "and" joins only after a scale */
                if (t[k].kind == TK_WORD && strcmp(t[k].text, "and") == 0 && (last_kind == 2 || last_kind == 3) &&
                    k + 1 < n && find(&t[k + 1]) && find(&t[k + 1])->kind <= 1) {
                    k++;
                    continue;
                }
                break;
            }
            if (pair >= 0 && x->kind >= 2) break;
            if (x->kind == 0) {
                /* "five five" is two numbers; "twenty five" is one */
                if (last_kind == 0 || (last_kind == 1 && x->value >= 10)) break;
                current += x->value;
            } else if (x->kind == 1) {
                if (last_kind == 0 || last_kind == 1) break;
                current += x->value;
            } else if (x->kind == 2) {
                if (last_kind == 2) break;
                current = (current > 0 ? current : 1) * 100;
            } else if (x->kind == 3) {
                total += (current > 0 ? current : 1) * x->value;
                current = 0;
            } else { /* dozen */
                current = (current > 0 ? current : 1) * 12;
            }
            last_kind = x->kind;
            end = k;
            k++;
        }
        /* "zero point one", "two point five": decimals said aloud */
        double value = pair >= 0 ? pair * 100 + current : total + current;
        unsigned flags = TK_INTEGER;
        int p = end + 1;
        if (p + 1 < n && t[p].kind == TK_WORD && !strcmp(t[p].text, "point") && find(&t[p + 1]) &&
            find(&t[p + 1])->kind == 0 && find(&t[p + 1])->value < 10) {
            double scale = 0.1;
            int q = p + 1;
            while (q < n && find(&t[q]) && find(&t[q])->kind == 0 && find(&t[q])->value < 10) {
                value += scale * find(&t[q])->value;
                scale /= 10;
                end = q++;
            }
            flags = 0;
        }
        int single = end == s && !strcmp(t[s].text, "single");
        for (int m = i + 1; m <= end; m++) t[m].merged = 1;
        to_number(&t[i], &t[end], value, flags);
        if (single) t[i].flags |= TK_SINGLE;
        if (!flags) snprintf(t[i].text, TOK_TEXT, "%g", value);
        i = end;
    }
    /* shares written as counts: "two thirds", "one quarter", "1/10 of",
     * "one in five" */
    for (int i = 0; i < n; i++) {
        if (t[i].merged || t[i].kind != TK_NUM || (t[i].flags & (TK_PERCENT | TK_FRACTION)) ||
            !(t[i].flags & TK_INTEGER) || t[i].num < 1 || t[i].num > 1000)
            continue;
        int j = next_live(t, n, i);
        if (j >= n) continue;
        const num_word *f = find(&t[j]);
        if (f && f->kind >= 5 && t[i].num < 20 && (t[i].flags & TK_WORDS) && f->value < 1 &&
            (f->kind == 6 || t[i].num == 1)) {
            double v = t[i].num * f->value;
            if (v > 0 && v <= 1) {
                t[j].merged = 1;
                to_number(&t[i], &t[j], v, TK_FRACTION);
            }
            continue;
        }
        /* "one tenth", "one half": the fraction word is already a number */
        if (t[i].num == 1 && (t[i].flags & TK_WORDS) && t[j].kind == TK_NUM && (t[j].flags & TK_FRACTION) &&
            (t[j].flags & TK_WORDS)) {
            double v = t[j].num;
            t[j].merged = 1;
            to_number(&t[i], &t[j], v, TK_FRACTION);
            continue;
        }
        int k = next_live(t, n, j);
        if (k >= n || t[k].kind != TK_NUM || !(t[k].flags & TK_INTEGER) || t[k].num <= t[i].num) continue;
        int slash = t[j].kind == TK_PUNCT && t[j].text[0] == '/' && t[j].start == t[i].end && t[k].start == t[j].end;
        int in = t[j].kind == TK_WORD && !strcmp(t[j].text, "in");
        if (slash || (in && t[k].num <= 1000 && t[i].num < t[k].num && !(t[k].flags & TK_PERCENT))) {
            double v = t[i].num / t[k].num;
            t[j].merged = t[k].merged = 1;
            to_number(&t[i], &t[k], v, TK_FRACTION);
        }
    }
    /* "10 percent", "10 per cent", "10 pct", "10 %"; "5 thousand" */
    for (int i = 0; i < n; i++) {
        if (t[i].merged || t[i].kind != TK_NUM || (t[i].flags & (TK_PERCENT | TK_FRACTION))) continue;
        int j = next_live(t, n, i);
        if (j >= n) continue;
        if ((t[j].kind == TK_PUNCT && t[j].text[0] == '%') ||
            (t[j].kind == TK_WORD && (strcmp(t[j].text, "percent") == 0 || strcmp(t[j].text, "pct") == 0 ||
                                      strcmp(t[j].text, "percentage") == 0))) {
            t[i].flags |= TK_PERCENT;
            t[i].end = t[j].end;
            t[j].merged = 1;
        } else if (t[j].kind == TK_WORD && strcmp(t[j].text, "per") == 0) {
            int k = next_live(t, n, j);
            if (k < n && t[k].kind == TK_WORD && strcmp(t[k].text, "cent") == 0) {
                t[i].flags |= TK_PERCENT;
                t[i].end = t[k].end;
                t[j].merged = t[k].merged = 1;
            }
        } else if (t[j].kind == TK_WORD && !(t[i].flags & TK_WORDS)) {
            const num_word *x = find(&t[j]);
            if (x && (x->kind == 2 || x->kind == 3)) {
                t[i].num *= x->value;
                t[i].end = t[j].end;
                t[j].merged = 1;
            }
        }
    }
    powers(t, n);
    parts_of(t, n);
    /* "one and a half", "two and a quarter": a whole number and a fraction */
    for (int i = 0; i < n; i++) {
        if (t[i].merged || t[i].kind != TK_NUM || !(t[i].flags & TK_INTEGER) || (t[i].flags & TK_PERCENT)) continue;
        int j = next_live(t, n, i);
        if (j >= n || !tok_word(&t[j], "and")) continue;
        int k = next_live(t, n, j);
        if (k >= n || t[k].kind != TK_NUM || !(t[k].flags & TK_FRACTION) || !(t[k].flags & TK_WORDS) || t[k].num >= 1)
            continue;
        t[j].merged = 1;
        t[k].merged = 1;
        double v = t[i].num + t[k].num;
        t[i].num = v;
        t[i].end = t[k].end;
        t[i].flags = (t[i].flags & TK_WORDS) | (v == floor(v) ? TK_INTEGER : 0);
        snprintf(t[i].text, TOK_TEXT, "%g", v);
    }
}
