/* Internals of the embedded intent parser. The pipeline:
 *   lexer.c     request bytes -> tokens (words, numbers, paths, specs, punctuation)
 *   numwords.c  "two hundred", "a dozen", "half", "10 percent" -> number tokens
 *   lexicon.c   vocabulary: synonyms -> concepts, stopwords, plural and typo repair
 *   items.c     tokens -> items (one per concept phrase, number, path, ...)
 *   rules_*.c   items -> slots of a frame (field path, value, evidence span)
 *   goals.c     the goal table: trigger phrases and the settings each goal implies
 *   frame.c     slots with ranks; contradictions become questions
 *   resolve.c   frame -> task JSON -> validated task + explanations */
#ifndef FEDC_INTENT_INTERNAL_H
#define FEDC_INTENT_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "fedc/intent.h"

/* ---- tokens ---- */
typedef enum { TK_WORD, TK_NUM, TK_PATH, TK_SPEC, TK_PUNCT } tok_kind;

enum {
    TK_PERCENT = 1u << 0,   /* "10%", "10 percent": num is the number of percent */
    TK_FRACTION = 1u << 1,  /* "half", "a tenth": num is the fraction */
    TK_INTEGER = 1u << 2,   /* written without a fraction or exponent */
    TK_WORDS = 1u << 3,     /* spelled out ("fifty") */
    TK_CORRECTED = 1u << 4, /* word repaired from a typo */
    TK_ARCH = 1u << 5,      /* TK_SPEC: a model spec ("conv:16:5,...") */
    TK_CODEC = 1u << 6,     /* TK_SPEC: a codec pipeline ("topk:0.01|q8") */
    TK_ORDINAL = 1u << 7,   /* "10th", "3rd": a position, not a count */
    TK_FACTOR = 1u << 8,    /* "x0.8", "×0.5": a multiplier */
    TK_POWER = 1u << 9,     /* "10^-4", "10⁻⁴", "2^8": written as a power */
    TK_SINGLE = 1u << 10,   /* the word "single": a count only when something counts it */
};

#define TOK_TEXT 40

typedef struct intent_tok {
    tok_kind kind;
    unsigned flags;
    char text[TOK_TEXT]; /* lowercased word or lemma; punctuation character; number as written */
    char orig[TOK_TEXT]; /* the word before typo repair (TK_CORRECTED) */
    int start, end;      /* byte span in the request */
    double num;
    int merged; /* swallowed by a neighbour (number words, "percent") */
} intent_tok;

/* Splits text[0..len) into at most max tokens. Returns the count, or -1
 * (err set) on too many tokens. Never reads outside the text. */
int intent_lex(const char *text, size_t len, intent_tok *out, int max, fedc_error *err);
/* Folds spelled-out numbers and percent words into number tokens (marks the
 * swallowed tokens merged). */
void intent_number_words(intent_tok *t, int n);

/* ---- concepts ---- */
typedef enum {
    C_NONE = 0,
    /* federation */
    C_CLIENT, C_ROUND, C_PER_ROUND, C_ALL, C_FULL_PART, C_PARTICIPATION, C_OUT_OF, C_CLIENT_KEY,
    C_E_EQ, C_B_EQ, C_C_EQ, C_K_EQ, C_R_EQ,
    /* local training */
    C_EPOCH, C_BATCH, C_SAMPLE_PER_BATCH, C_LR, C_MOMENTUM, C_NESTEROV, C_WD, C_BETA1, C_BETA2,
    C_EPS, C_STEP, C_MAX_STEPS,
    C_OPT_SGD, C_OPT_ADAM, C_OPT_ADAMW,
    C_OPT_LION, C_OPT_ADAN, C_OPT_ADAMP, C_OPT_SGDP, C_OPT_EXADAM, C_OPT_ADAHESSIAN, C_OPT_MFAC,
    C_BETA3, C_HESSIAN_POWER, C_ADAMP_DELTA, C_ADAMP_WD_RATIO, C_FIXED_STEP, C_MFAC_WINDOW, C_MFAC_DAMP,
    C_KEEP_STATE,
    /* strategy */
    C_S_FEDAVG, C_S_FEDPROX, C_S_FEDAVGM, C_S_FEDADAM, C_S_FEDYOGI, C_S_FEDADAGRAD,
    C_S_SCAFFOLD, C_S_FEDAVG_M, C_S_SCAFFOLD_M, C_S_FEDNOVA, C_S_FEDAU, C_S_AFA_CD, C_S_AFA_CS, C_S_FEDHYPER,
    C_S_FEDSPEED, C_S_FEDSAM, C_S_FEDAMD, C_S_FEDLD, C_S_FEDBUFF, C_S_FEDFIX, C_S_ASYNC_FEDAVG, C_RHO, C_ANCHOR_PROB,
    C_S_FEDOPT, C_FEDBN, C_FEATURE_SKEW, C_EVAL_PERSONAL,
    C_S_FINETUNE, C_S_FEDPER, C_S_DITTO, C_S_CLUSTERED, C_S_PFEDGATE,
    C_S_DPSGD, C_S_GOSSIP, C_S_GOSSIP_VC, C_S_DFEDSAM, C_S_DFEDSAM_MGS, C_S_DADAO,
    C_TOPO_RING, C_TOPO_TORUS, C_TOPO_COMPLETE, C_TOPO_ER, C_TOPO_SMALL_WORLD, C_TOPO_EXPONENTIAL, C_TOPO_MATCHING,
    C_GOSSIP_STEPS,
    C_SERVER_LR, C_SERVER_MOMENTUM, C_MU, C_TAU, C_SERVER, C_LOCAL,
    /* data */
    C_DS_FMNIST, C_DS_MNIST, C_DS_CIFAR10, C_DS_CSV, C_DS_UNSUPPORTED, C_DATA, C_TEST_FILE,
    C_COARSE_LABELS, C_FINE_LABELS, C_EXTRA_SPLIT, C_NO_FETCH, C_NATURAL,
    C_LABEL_COLUMN, C_TRACE,
    C_IID, C_NONIID, C_STRONG, C_MILD, C_MODERATE, C_PATHOLOGICAL, C_QUANTITY, C_DIRICHLET,
    C_ALPHA, C_SIGMA, C_CLASS, C_SHARD,
    /* model */
    C_MLP, C_CNN, C_LINEAR, C_MODEL, C_SMALL, C_LARGE, C_STANDARD, C_HIDDEN, C_UNIT,
    C_INIT_HE, C_INIT_TORCH,
    /* stopping, evaluation, time */
    C_SEED, C_EVAL, C_ACCURACY, C_UNTIL, C_TIME_UNIT, C_BUDGET, C_DEADLINE, C_ROUND_TIMEOUT,
    C_CONNECT_TIMEOUT, C_WAIT, C_CONNECTED, C_MIN_NODES, C_MIN_UPDATES, C_AT_LEAST,
    /* scheduling */
    C_POL_RANDOM, C_POL_RR, C_POL_SAMPLES, C_POL_AGE, C_POL_POC, C_POL_DEADLINE, C_CHOICE_D, C_CANDIDATE,
    C_PROF_LOGNORMAL, C_PROF_NONE,
    /* privacy */
    C_DP, C_NO_DP, C_CLIP, C_NOISE, C_DP_CENTRAL, C_SECAGG, C_NO_SECAGG,
    C_DP_DELTA, C_DP_BUDGET, C_EXCEED_REFUSE, C_EXCEED_STOP, C_ADAPTIVE_CLIP, C_CLIP_QUANTILE,
    C_CLIP_LR, C_COUNT_NOISE, C_SA_DEGREE, C_SA_THRESHOLD, C_SA_CLIP,
    /* robust aggregation and simulated attacks */
    C_A_MEAN, C_A_MEDIAN, C_A_TRIMMED, C_A_KRUM, C_A_MULTI_KRUM, C_A_BULYAN, C_A_GEOMED, C_A_FLAG, C_A_MUDHOG,
    C_A_FRL, C_BYZ_FRACTION, C_KRUM_M, C_NORM_BOUND, C_GEOMED_ITERS, C_FLAG_RANK, C_FLAG_ITERS, C_MUDHOG_EPS,
    C_MUDHOG_UW, C_FRL_SPARSITY,
    C_ATK_SIGN_FLIP, C_ATK_SCALING, C_ATK_NOISE, C_ATK_LABEL_FLIP, C_ATK_BACKDOOR, C_ATK_ALIE, C_ATK_IPM,
    C_NO_ATTACK, C_ATK_FRACTION, C_ATK_SCALE, C_ATK_TARGET, C_ATK_SOURCE, C_POISON_FRACTION, C_UNRELIABLE,
    C_ATTACKER, C_UNRELIABLE_CLIENT,
    /* compression */
    C_BIT, C_QUANTIZE, C_STAGE, C_NO_COMPRESSION, C_COMPRESS, C_TOPK, C_RANDK, C_SPARSIFY,
    C_UP, C_DOWN, C_BOTH,
    /* misc */
    C_GOAL, C_NAME_KW, C_NEGATION, C_FILLER_PHRASE,
    C_LR_COSINE, C_LR_STEP, C_WARMUP, /* learning-rate schedules */
    C_VAGUE,       /* "a few", "several", "many": a count not given */
    C_CONVERGE,    /* "until convergence": a stopping rule without a target */
    C_UNSUPPORTED, /* a setting fedc does not have (arg: index in rules_vague.c) */
    C_COUNT
} concept_id;

/* Codec stages named by words (C_STAGE arg). */
enum { STAGE_FP16 = 1, STAGE_BF16, STAGE_Q8, STAGE_Q4, STAGE_Q2, STAGE_SIGN, STAGE_ZSTD };

/* Concept flags. */
enum {
    CF_OPTIONAL = 1u << 0, /* fine to leave unused (structure words: "client", "round", "data") */
};

typedef struct intent_phrase {
    const char *words; /* space-separated lemmas, e.g. "learning rate" */
    concept_id concept;
    double arg;        /* concept argument: seconds per time unit, stage id, goal index */
} intent_phrase;

/* Word classes of the lexicon. */
enum {
    W_KNOWN = 1u << 0,  /* appears in a phrase or the stopword list */
    W_STOP = 1u << 1,   /* carries no meaning of its own: never reported as not understood */
    W_FILL = 1u << 2,   /* may sit between a keyword and its number ("lr of 0.1", "rounds: 5") */
    W_ADJ = 1u << 3,    /* may sit between a number and its unit ("5 local epochs") */
    W_VERB = 1u << 4,   /* may sit between a count and "per round" ("10 sampled each round") */
    W_FIELD = 1u << 5,  /* a word of a task-field name ("lambda", "cutoff"): typos are repaired to it */
};

/* Normalises word tokens in place: lemma (plural forms), typo repair
 * against the vocabulary (TK_CORRECTED, original kept in orig). */
void intent_lexicon_normalise(intent_tok *t, int n);
unsigned intent_word_class(const char *word);
int intent_concept_flags(concept_id c);
/* Longest phrase starting at token i; returns its token length (0 if none)
 * and fills *ph. */
int intent_phrase_match(const intent_tok *t, int n, int i, const intent_phrase **ph);

/* ---- items ---- */
typedef enum { IT_CONCEPT, IT_NUM, IT_PATH, IT_SPEC, IT_PUNCT, IT_WORD } item_kind;

typedef struct intent_item {
    item_kind kind;
    concept_id concept;
    double arg;
    int t0, t1; /* tokens [t0, t1) */
    double num;
    unsigned flags;
    unsigned wclass; /* IT_WORD: lexicon class */
    const char *text; /* first token's text */
    int used;
    int raw; /* used as part of a value copied from the text (a name, a column) */
} intent_item;

/* ---- frame: what the words set, with evidence ---- */
typedef enum {
    RANK_DEFAULT = 0,
    RANK_GOAL,    /* from the goal table */
    RANK_HINT,    /* a qualitative word made concrete ("strongly non-IID" -> alpha 0.1) */
    RANK_DERIVED, /* computed from other words (10% of 300 clients) */
    RANK_IMPLIED, /* a parameter implies its method ("mu 0.1" -> fedprox) */
    RANK_WORDS,   /* said directly */
} slot_rank;

#define FRAME_MAX_SLOTS 96
#define SLOT_MAX_ALTS 4

/* Another value the words gave the same field ("30 rounds ... 40 rounds").
 * Kept until every rule has run, then settled (frame.c): a correction
 * ("actually 40") or a rejection ("instead of 30") decides, else the
 * person is asked. */
typedef struct intent_alt {
    json_t *value;
    slot_rank rank;
    int start, end;
    char why[240];
} intent_alt;

typedef struct intent_slot {
    char path[48];
    json_t *value;
    slot_rank rank;
    int start, end; /* evidence span in the request */
    int goal;       /* RANK_GOAL: goal index */
    char why[240];  /* extra reason for the explanation */
    int nalt;
    intent_alt alt[SLOT_MAX_ALTS];
} intent_slot;

#define FRAME_MAX_SPANS 8
#define FRAME_MAX_REJECTED 16

/* A value the words turned down ("instead of plain averaging", "rather
 * than 30"): the field must not take it. */
typedef struct intent_rejected {
    char path[48];
    json_t *value;
    int start, end;
} intent_rejected;

/* A "key: value" whose value named nothing the field allows; checked once
 * every rule has run (a rule may still have read the value in words). */
typedef struct intent_pending_key {
    char path[48];
    char value[64];
    int start, end;
} intent_pending_key;

typedef struct intent_codec_side {
    int sparsifier;   /* 0, 't' topk, 'r' randk */
    double fraction;
    int quant;        /* 0 or STAGE_* (not ZSTD) */
    int zstd;
    int none;         /* "no compression" */
    int start, end;   /* evidence span */
    int q_start, q_end, s_start, s_end;
} intent_codec_side;

typedef struct intent_ctx {
    const char *text;
    size_t len;
    intent_tok *tok;
    int ntok;
    intent_item *it;
    int nit;

    intent_slot slot[FRAME_MAX_SLOTS];
    int nslot;

    /* Facts that need the whole request before they become fields. */
    int noniid_level, noniid_start, noniid_end; /* 0 none, 1 mild, 2 plain, 3 strong */
    int cpr_frac_set, cpr_frac_start, cpr_frac_end;
    double cpr_frac;
    int cpr_all, cpr_all_start, cpr_all_end;
    int all_maybe, all_maybe_start, all_maybe_end; /* "all 40 clients", nothing about rounds */
    intent_codec_side codec[2]; /* 0 up, 1 down */
    int compress_word, compress_start, compress_end;
    int goal_on[FEDC_INTENT_MAX_GOALS];
    int goal_start[FEDC_INTENT_MAX_GOALS], goal_end[FEDC_INTENT_MAX_GOALS];

    /* Overrides: spans of words that turn a value down ("instead of X"),
     * byte offsets of corrections ("actually", "no wait", "make that"). */
    int reject_start[FRAME_MAX_SPANS], reject_end[FRAME_MAX_SPANS];
    int nreject_span;
    int correction[FRAME_MAX_SPANS];
    int ncorrection;
    intent_rejected rejected[FRAME_MAX_REJECTED];
    int nrejected;
    intent_pending_key pending[8];
    int npending;
    /* Blocks of keys under a header ("strategy:" and indented lines below
     * it, or "strategy": {...}): the group their keys belong to. */
    struct {
        int start, end;
        char prefix[24]; /* a task group ("local", "strategy") or "server" */
    } key_group[12];
    int nkey_group;
    int settled; /* after intent_settle: conflicts are asked at once */
    /* A cosine floor said as a share of the starting learning rate ("down
     * to 10% of that"): set once the learning rate is read. */
    struct {
        double share;
        int server; /* strategy.server_lr_min, else local.lr_min */
        int a, b;   /* items */
    } rel_min[2];
    int nrel_min;
    /* A deployment quorum said as a share ("once 75% of them are
     * connected"): a count once the group's size is read. */
    struct {
        double share;
        int connect; /* deploy.min_nodes of the clients, else min_updates of a round's */
        int a, b;    /* items */
    } quorum[2];
    int nquorum;

    fedc_intent_result *out;
    fedc_error *err;
    int failed; /* a rule raised a conflict (err set) */
} intent_ctx;

/* Builds items from tokens (phrases matched longest-first). */
int intent_items_build(intent_ctx *c);

/* Sets path to value (reference stolen) with a rank and evidence span.
 * Same value: evidence kept. Different value at the same or a competing
 * rank: a question in c->err, c->failed set, -1. Lower rank than an
 * existing slot: ignored (the explanation says so for goals). */
int intent_set(intent_ctx *c, const char *path, json_t *value, slot_rank rank, int start, int end,
               const char *why);
intent_slot *intent_slot_find(intent_ctx *c, const char *path);
/* Raises a question naming the conflict (status FEDC_INTENT_CONFLICT);
 * returns -1. A message starting with a task-field path ("rounds: ...")
 * names that field in the result's question. */
int intent_ask(intent_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raises a question between plausible readings (FEDC_INTENT_QUESTION) about
 * field (may be NULL); add the readings with intent_reading. Returns -1. */
int intent_ask_which(intent_ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a reading to the question just raised: the field's value under it
 * (JSON text) and the words it comes from. */
void intent_reading(intent_ctx *c, const char *field, const char *value_json, const char *reason);
/* After every rule: candidates of one field are settled by corrections and
 * rejections, or asked about; rejected values leave their field. */
int intent_settle(intent_ctx *c);
/* Whether byte offset pos lies in a span that turns values down. */
int intent_in_rejected_span(const intent_ctx *c, int pos);
/* Finds the override words ("instead of", "rather than", "actually", "no
 * wait", ...) before the rules run. */
void intent_find_overrides(intent_ctx *c);
/* "30 rounds. Actually, make it 40": a bare number right after a
 * correction corrects the number the words gave last before it. */
int intent_elided_corrections(intent_ctx *c);
/* A correction followed by words no rule read ("no wait, make the deadline
 * shorter") is a question: what it changes is not known (overrides.c). */
int intent_unread_corrections(intent_ctx *c);
/* The request text of [start, end), quoted and cut for messages. */
void intent_evidence(const intent_ctx *c, int start, int end, char *out, size_t cap);
void intent_note(intent_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Typed setters (values.c). Evidence spans run from item a to item b
 * (either may be -1). Integers must be whole numbers written without a
 * percent sign, or the person is asked. */
int intent_set_str(intent_ctx *c, const char *path, const char *v, slot_rank rank, int a, int b,
                   const char *why);
int intent_set_int(intent_ctx *c, const char *path, int num_item, slot_rank rank, int a, int b,
                   const char *why);
int intent_set_real(intent_ctx *c, const char *path, double v, slot_rank rank, int a, int b,
                    const char *why);
int intent_set_bool(intent_ctx *c, const char *path, int v, slot_rank rank, int a, int b, const char *why);
/* A share of the clients for each round (0..1), from items a..b: made a
 * count once the federation size is known (resolve.c). Two different
 * shares are a question. */
int intent_set_cpr_share(intent_ctx *c, double share, int a, int b);
/* Every client in every round, from items a..b. */
int intent_set_cpr_all(intent_ctx *c, int a, int b);
/* snprintf that cuts silently: explanations and messages are bounded by
 * design, and a cut reason is better than none. */
void intent_fmt(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Span of items a..b (either may be -1) in request bytes. */
void intent_items_span(const intent_ctx *c, int a, int b, int *start, int *end);

/* Item helpers for rules. */
int intent_is(const intent_ctx *c, int i, concept_id k);
int intent_span_start(const intent_ctx *c, int i);
int intent_span_end(const intent_ctx *c, int i);
void intent_use(intent_ctx *c, int i);
/* Index of the number item after keyword item i, skipping fillers (at most
 * maxskip), or -1. */
int intent_num_after(const intent_ctx *c, int i, int maxskip);
/* Index of the number item before unit item i, skipping adjectives, or -1. */
int intent_num_before(const intent_ctx *c, int i, int maxskip);
/* Next / previous item that is not a stopword, within the sentence; -1. */
int intent_next(const intent_ctx *c, int i);
int intent_prev(const intent_ctx *c, int i);
/* The nearest concept k within dist meaningful items of i, in the same
 * clause (no comma, semicolon or sentence end between); its index or -1. */
int intent_near(const intent_ctx *c, int i, concept_id k, int dist);
int intent_same_sentence(const intent_ctx *c, int a, int b);

/* Rules, in the order they run. Each returns -1 on a conflict. */
int intent_rules_keys(intent_ctx *c);    /* key=value, "key: value", --key value, "set KEY to N" */
int intent_rules_text(intent_ctx *c);    /* name, label column, paths, raw specs */
int intent_rules_counts(intent_ctx *c);  /* clients and clients per round from noun phrases */
int intent_rules_data(intent_ctx *c);    /* dataset, partition */
int intent_rules_model(intent_ctx *c);
int intent_rules_numbers(intent_ctx *c); /* counts, rates, times, accuracy */
int intent_rules_methods(intent_ctx *c); /* optimizer, strategy, scheduling, privacy */
int intent_rules_codec(intent_ctx *c);
int intent_rules_memory(intent_ctx *c);  /* "512 MB of per-client state" (rules_memory.c) */
int intent_rules_goals(intent_ctx *c);
/* A "key: value" whose value no rule read is a question (rules_keys.c). */
int intent_check_pending_keys(intent_ctx *c);
/* After the word rules: a number still unread after a field's own name in
 * words ("client beta 0.1", "hyper lr 0.5"), for fields whose last part
 * no other field shares (rules_keys.c). */
int intent_rules_leaf_keys(intent_ctx *c);
/* Values of the task spec's choice fields named in words, including those
 * added after this vocabulary was written ("fednova", "cosine"), and
 * learning-rate schedules in words (rules_choices.c). */
int intent_rules_choices(intent_ctx *c);
/* Learning-rate schedule helpers shared by rules_choices.c and
 * rules_schedule.c. The side a learning-rate phrase at item i is on, from
 * its clause: 1 server, -1 local, 2 both, 0 not said. */
int intent_lr_side(const intent_ctx *c, int i);
/* Marks the learning-rate words of item i's clause read (a schedule is
 * about them), those without a number of their own. */
void intent_use_lr_words(intent_ctx *c, int i);
/* Whether a schedule with no side said has two owners (a server optimizer
 * or a server learning rate is named). */
int intent_lr_two_owners(const intent_ctx *c, int side);
/* Asks whether local.LEAF or strategy.server_LEAF is meant; returns -1. */
int intent_lr_ask_side(intent_ctx *c, int i, const char *leaf, const char *value_json);
/* Schedules said in prose without their name ("halve the client learning
 * rate every 20 rounds", "x0.8 every 15 rounds", "starting at 0.1", a
 * cosine schedule's "floor 0.001" or "down to 10% of that"): runs after
 * intent_rules_choices (rules_schedule.c). */
int intent_rules_schedule(intent_ctx *c);
/* After the number rules: a floor given as a share of the starting
 * learning rate ("down to 10% of that") becomes a value (rules_schedule.c). */
int intent_rules_schedule_late(intent_ctx *c);
/* A method's parameter described by the words of its field description
 * ("keep 70% of the principal directions" beside FedLD), for numbers no
 * other rule read (rules_described.c). */
int intent_rules_described(intent_ctx *c);
/* Before the number rules: a keyword qualified by a word of one field's
 * description ("hypergradient step size 0.5" beside FedHyper). */
int intent_rules_described_early(intent_ctx *c);
/* Deployment quorums in prose ("at least 3 of the 5 must report", "start
 * once 75% of them are connected"): runs before the count rules
 * (rules_quorum.c); shares become counts in intent_rules_quorum_late. */
int intent_rules_quorum(intent_ctx *c);
int intent_rules_quorum_late(intent_ctx *c);
/* Questions the words raise once every rule has run: vague counts ("a few
 * clients"), "until convergence", a parameter named without its value,
 * a privacy epsilon, settings fedc does not have (rules_vague.c). */
int intent_rules_vague(intent_ctx *c);
/* Whether the request names strategy value name ("fedau") in words or as
 * a key's value (rules_methods.c). */
int intent_names_strategy(const intent_ctx *c, const char *name);
/* Whether the words before number item n (past "of", "longer than", ...)
 * name a task field in prose ("a cutoff of 40 rounds") (rules_keys.c). */
int intent_field_named_before(const intent_ctx *c, int n);
/* Whether the words ending at item k, with words before it, name a task
 * field in prose ("top fraction" is FedLD's, not the participation). */
int intent_field_named_at(const intent_ctx *c, int k);
/* Whether the request names a strategy with an adaptive server optimizer
 * (FedAdam, FedYogi, FedAdagrad): "the learning rate" then has two owners. */
int intent_server_optimizer_named(const intent_ctx *c);
/* Whether any item is concept k. */
int intent_anywhere(const intent_ctx *c, concept_id k);
/* Finishing: fractions, goal settings, derived caps; builds the task. */
int intent_resolve(intent_ctx *c);

/* ---- goals (goals.c) ---- */
typedef struct intent_goal_setting {
    const char *field;
    const char *value; /* JSON text */
    const char *why;
    const char *evidence; /* where the choice comes from, and whether it is measured */
} intent_goal_setting;

typedef struct intent_goal {
    const char *name;  /* "bandwidth" */
    const char *label; /* "keep bandwidth low" */
    intent_goal_setting settings[4];
    int nsettings;
} intent_goal;

extern const intent_goal intent_goals[];
extern const int intent_ngoals;
/* Trigger phrases of every goal, for the lexicon (concept C_GOAL, arg =
 * goal index); NULL-terminated. */
extern const intent_phrase intent_goal_phrases[];

/* ---- shared by the LLM backend, dataset and eval ---- */
/* Explanations for a task that came whole from elsewhere (LLM): fields
 * differing from the defaults are marked source, the core fields default. */
void intent_explain_whole(const fedc_task *t, fedc_intent_source source, fedc_intent_result *out);
void intent_result_init(fedc_intent_result *out, const char *backend);
void intent_result_note(fedc_intent_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* JSON object of the fields of t that differ from the defaults (nested),
 * or NULL when out of memory. */
json_t *intent_task_diff(const fedc_task *t);
/* Finds the JSON object inside a model's answer (bare, in a ```json fence,
 * or amid prose); returns a malloc'd copy or NULL with err set. */
char *intent_extract_json(const char *text, size_t len, fedc_error *err);
/* Makes s valid UTF-8 for JSON output (invalid bytes become '?'). */
void intent_utf8_sanitise(char *s);

/* Raw HTTP POST of a JSON body; bounded answer. status receives the HTTP
 * status. Returns the malloc'd body (NUL-terminated) or NULL with err set
 * (timeouts, refused connections, oversize answers). */
char *intent_http_post(const fedc_llm_config *cfg, const char *url, const char *body, long *status,
                       size_t *len, fedc_error *err);

#endif
