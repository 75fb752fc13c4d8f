/* What the language model is told: the system prompt (also the system
 * message of every example in the fine-tuning dataset) and the few-shot
 * examples. The examples' answers are the compact form (fields that differ
 * from the defaults); a unit test checks each one against the task
 * validator and against the embedded parser's reading of its request. */
#include <stddef.h>

#include "intent/intent_llm.h"

static const char system_prompt[] =
    "You turn a person's request for a federated-learning run into a fedc task spec. Reply with one JSON "
    "object and nothing else. Include only the fields the request changes; every field you leave out keeps "
    "its default (the Fashion-MNIST MLP benchmark: 100 IID clients, 10 per round, 50 rounds, 1 local epoch, "
    "batch 32, learning rate 0.05, sgd, fedavg, no compression, random client selection). Use only the "
    "fields and values the schema allows. A share of clients per round becomes a count (10% of 300 "
    "clients = 30); durations are in seconds; a target accuracy is a fraction between 0 and 1. Catalog datasets (mnist, fashion-mnist, "
    "emnist-byclass, emnist-balanced, emnist-digits, femnist, cifar10, cifar100, svhn) need no path; csv "
    "needs dataset.path, dataset.test_path and dataset.label_column.";

const char *fedc_intent_system_prompt(void) {
    return system_prompt;
}

const intent_example intent_examples[] = {
    {"train a small CNN on fashion-mnist across 50 clients with strongly non-IID data for 40 rounds",
     "{\"partition\":{\"kind\":\"dirichlet\",\"alpha\":0.1},\"model\":\"conv:16:5,pool:2,conv:32:5,pool:2,"
     "dense:128,dense:10\",\"rounds\":40,\"clients\":50}"},
    {"FedProx with mu 0.01 on MNIST in /data/mnist, 200 devices and 10% of them each round, lr 0.02",
     "{\"dataset\":{\"name\":\"mnist\",\"path\":\"/data/mnist\"},\"clients\":200,\"clients_per_round\":20,"
     "\"local\":{\"lr\":0.02},\"strategy\":{\"name\":\"fedprox\",\"mu\":0.01}}"},
    {"run until 85% accuracy with adam, learning rate 0.001, 2 local epochs, and 8-bit updates",
     "{\"local\":{\"epochs\":2,\"lr\":0.001,\"optimizer\":\"adam\"},\"compression\":{\"up\":"
     "\"q8\"},\"stop\":{\"target_accuracy\":0.85}}"},
    {"each client sees only 2 classes; pick clients round-robin; seed 7",
     "{\"partition\":{\"kind\":\"shards\",\"classes_per_client\":2},\"scheduling\":{\"policy\":"
     "\"round-robin\"},\"seed\":7}"},
    {NULL, NULL},
};
