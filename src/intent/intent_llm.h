/* Internals shared by the LLM backend, its prompt and its tests. */
#ifndef FEDC_INTENT_LLM_H
#define FEDC_INTENT_LLM_H

#include "intent/intent_internal.h"

typedef struct intent_example {
    const char *request;
    const char *answer; /* compact task JSON: fields that differ from the defaults */
} intent_example;

/* Few-shot examples, NULL-terminated. */
extern const intent_example intent_examples[];

/* Every repair message starts with this, so a replaying test server can
 * tell which attempt it is answering. */
#define INTENT_REPAIR_PREFIX "Your previous answer was rejected"

/* The endpoint URL for cfg->url: a base URL ("http://host:8080" or
 * ".../v1") gets "/v1/chat/completions" or "/chat/completions" appended. */
void intent_llm_endpoint(const char *url, char *out, size_t cap);
/* The chat-completions request body for messages (a JSON array). */
char *intent_llm_body(const fedc_llm_config *cfg, json_t *messages);
/* Reads choices[0].message.content from an answer body. Returns a
 * malloc'd string or NULL with err naming what is missing. */
char *intent_llm_content(const char *body, size_t len, fedc_error *err);

#endif
