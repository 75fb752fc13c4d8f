/* Intent: a plain-language request ("train a small CNN on fashion-mnist
 * across 50 clients with strongly non-IID data for 40 rounds, keep
 * bandwidth low") becomes a validated task spec, with an explanation of
 * every choice (taken from the words, a default, or a goal), the words that
 * were not understood, and a question instead of a guess when the request
 * contradicts itself.
 *
 * Two backends produce the same result type:
 * - the embedded parser (fedc_intent_parse): rules, offline, deterministic;
 * - an OpenAI-compatible chat-completions endpoint (fedc_intent_parse_llm),
 *   whose answer is checked by the task validator and repaired by sending
 *   the validator's errors back, a bounded number of times.
 * The REST layer calls these and serialises with fedc_intent_result_to_json.
 * docs/intent.md describes the vocabulary, the goal table and the backends. */
#ifndef FEDC_INTENT_H
#define FEDC_INTENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/task.h"

#define FEDC_INTENT_REQUEST_MAX 4096 /* bytes of request text accepted */
#define FEDC_INTENT_MAX_CHOICES 64
#define FEDC_INTENT_MAX_WORDS 32     /* not-understood words kept */
#define FEDC_INTENT_MAX_NOTES 16
#define FEDC_INTENT_MAX_GOALS 8

typedef enum {
    FEDC_INTENT_OK = 0,
    FEDC_INTENT_CONFLICT, /* contradictory or ambiguous: err holds a question naming the conflict */
    FEDC_INTENT_INVALID,  /* understood, but the task fails validation: err holds the validator's message */
    FEDC_INTENT_BACKEND,  /* the LLM endpoint failed (connect, timeout, HTTP error, answer never valid) */
    FEDC_INTENT_INPUT,    /* the request itself is unusable (empty, too long) */
    FEDC_INTENT_QUESTION, /* two readings are plausible, or a number was not understood: err holds the
                             question, out->question the field and the readings to choose from */
} fedc_intent_status;

/* Where a field's value came from. */
typedef enum {
    FEDC_INTENT_FROM_DEFAULT = 0, /* the task default */
    FEDC_INTENT_FROM_WORDS,       /* the request's words (directly, or implied by them) */
    FEDC_INTENT_FROM_GOAL,        /* a goal such as "keep bandwidth low" (goal table, src/intent/goals.c) */
    FEDC_INTENT_FROM_LLM,         /* the language model's answer */
} fedc_intent_source;

typedef struct fedc_intent_choice {
    char field[48];   /* task-spec path, e.g. "local.lr" */
    char value[288];  /* the value as JSON text, e.g. "0.001" or "\"q8\"" */
    fedc_intent_source source;
    char reason[320]; /* e.g. from "learning rate of 1e-3" */
    char evidence[96]; /* the words read for this field, as written ("" for defaults) */
} fedc_intent_choice;

#define FEDC_INTENT_MAX_READINGS 4

/* One way of reading a request that the parser will not choose for the
 * person. answer is text that, added to the request, settles the question
 * ("actually clients_per_round=5"). */
typedef struct fedc_intent_reading {
    char value[160];  /* the field's value under this reading, as JSON text */
    char reason[240]; /* the words and how they would be read */
    char answer[160];
} fedc_intent_reading;

/* The question of a request that is not turned into a task
 * (FEDC_INTENT_CONFLICT or FEDC_INTENT_QUESTION). */
typedef struct fedc_intent_question {
    char field[48]; /* the task-spec field in doubt; "" when no single field is */
    int n_readings;
    fedc_intent_reading readings[FEDC_INTENT_MAX_READINGS];
} fedc_intent_question;

typedef struct fedc_intent_result {
    fedc_intent_status status;
    fedc_task task; /* valid when status == FEDC_INTENT_OK */
    int n_choices;
    fedc_intent_choice choices[FEDC_INTENT_MAX_CHOICES];
    int n_unknown; /* words and numbers that no rule used */
    char unknown[FEDC_INTENT_MAX_WORDS][48];
    int n_notes; /* typo corrections, goal settings the words overrode, fallbacks */
    char notes[FEDC_INTENT_MAX_NOTES][320];
    int n_goals; /* goal names recognised ("bandwidth", "cpu", ...) */
    char goals[FEDC_INTENT_MAX_GOALS][24];
    char backend[16]; /* "builtin" or "llm" */
    int llm_attempts; /* requests sent to the endpoint (1 + repairs) */
    fedc_intent_question question; /* filled for FEDC_INTENT_CONFLICT and FEDC_INTENT_QUESTION */
} fedc_intent_result;

/* Embedded parser. Returns 0 with out->status FEDC_INTENT_OK, or -1 with
 * out->status saying why and err holding a message for a person (for
 * FEDC_INTENT_CONFLICT a question naming both sides). out is always
 * initialised; choices, unknown words and notes are filled as far as the
 * parse got. request is NUL-terminated text, at most
 * FEDC_INTENT_REQUEST_MAX bytes. Deterministic; no I/O. */
FEDC_API int fedc_intent_parse(const char *request, fedc_intent_result *out, fedc_error *err);

/* LLM backend settings. */
typedef struct fedc_llm_config {
    char url[512];     /* chat-completions endpoint; a base URL gets /v1/chat/completions appended */
    char model[128];
    char api_key[256]; /* sent as "Authorization: Bearer ..."; "" = none */
    double connect_timeout_s;
    double timeout_s;  /* whole request, per attempt */
    int max_repairs;   /* answers sent back with the validator's errors */
    size_t max_response_bytes;
    int fallback_builtin; /* on failure, use the embedded parser (noted in the result) */
} fedc_llm_config;

/* Defaults (connect 5 s, total 60 s, 2 repairs, 1 MiB answers), then the
 * environment: FEDC_LLM_URL, FEDC_LLM_MODEL, FEDC_LLM_KEY. */
FEDC_API void fedc_llm_config_init(fedc_llm_config *cfg);
/* Checks the settings (URL scheme http/https, model set, bounds). */
FEDC_API int fedc_llm_config_check(const fedc_llm_config *cfg, fedc_error *err);

/* Asks the endpoint for a task spec for request: sends the task JSON Schema
 * and few-shot examples, wants a JSON object, validates it with the task
 * validator and repairs up to cfg->max_repairs times. Same result contract
 * as fedc_intent_parse (status FEDC_INTENT_BACKEND for endpoint failures);
 * with cfg->fallback_builtin a failure falls back to the embedded parser
 * and the result's notes say so. */
FEDC_API int fedc_intent_parse_llm(const char *request, const fedc_llm_config *cfg, fedc_intent_result *out,
                                   fedc_error *err);

/* Result as JSON, malloc'd: {"status", "backend", "task", "explanation":
 * [{"field","value","source","reason","evidence"}], "not_understood", "notes",
 * "goals", "error"?, "question"?: {"field", "readings": [{"value", "reason",
 * "answer"}]}}. err_msg (may be NULL) is included as "error" when the
 * status is not OK. */
FEDC_API char *fedc_intent_result_to_json(const fedc_intent_result *r, const char *err_msg, int pretty);
FEDC_API const char *fedc_intent_status_name(fedc_intent_status s);
FEDC_API const char *fedc_intent_source_name(fedc_intent_source s);

/* The tailored dataset: n (request, task spec) pairs as JSONL in the chat
 * fine-tuning format, one {"messages":[system, user, assistant]} object per
 * line; the assistant's content is the compact task JSON holding the
 * fields that differ from the defaults. A share holdout (0..0.9) of the
 * pairs goes to holdout_out (which may be NULL when holdout is 0), written
 * with phrasing templates reserved for it, so the split tests phrasings the
 * training part never shows. Deterministic in seed. */
FEDC_API int fedc_intent_dataset_write(FILE *train_out, FILE *holdout_out, int n, uint64_t seed,
                                       double holdout, fedc_error *err);
/* The system prompt of the dataset and of the LLM backend. */
FEDC_API const char *fedc_intent_system_prompt(void);

/* Evaluation over a JSONL file whose lines are either chat examples (as
 * written by fedc_intent_dataset_write) or {"request": "...", "task":
 * {partial spec}} or {"request": "...", "refuse": "words the refusal must
 * contain"} or {"request": "...", "ask": "field.path"} (the request leaves
 * that field open: the right answer is a question about it, not a task).
 * Task specs are compared as canonical JSON (every field). A line whose
 * expected task the validator rejects is counted as invalid_expected and
 * not scored; the rest of the file still is. */
typedef enum { FEDC_INTENT_BACKEND_BUILTIN = 0, FEDC_INTENT_BACKEND_LLM } fedc_intent_backend;

#define FEDC_INTENT_EVAL_MAX_FIELDS 64
typedef struct fedc_intent_eval_report {
    int n;                /* examples */
    int exact;            /* whole task right, or refused as expected */
    int valid;            /* outputs that are valid task specs */
    int refused_clearly;  /* outputs refused with a message */
    int unclear;          /* neither valid nor refused with a message (must be 0) */
    int expected_refusals, refusals_right;
    /* "ask" lines, and those answered with a question or refusal naming the field */
    int expected_questions, questions_right;
    /* The three outcomes, over every scored line: exact; asked (a question
     * or refusal with a message where a task was expected, or one not
     * naming the field of an "ask" line): acceptable, the user is told;
     * silently wrong (a valid task other than the expected one, or a task
     * where a question or refusal was expected): the worst. */
    int asked, silently_wrong;
    int invalid_expected; /* lines not scored: the expected task is invalid */
    int n_fields;
    struct {
        char path[48];
        int right, total; /* over examples where both sides are tasks */
    } fields[FEDC_INTENT_EVAL_MAX_FIELDS];
} fedc_intent_eval_report;

/* Runs every example through the backend (cfg used for the LLM). With
 * verbose non-NULL, each miss is written there with the request, the
 * differing fields or the error. */
FEDC_API int fedc_intent_eval_file(const char *path, fedc_intent_backend backend, const fedc_llm_config *cfg,
                                   FILE *verbose, fedc_intent_eval_report *report, fedc_error *err);
FEDC_API void fedc_intent_eval_print(FILE *f, const fedc_intent_eval_report *r);

#endif
