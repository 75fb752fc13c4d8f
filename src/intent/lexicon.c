/* The vocabulary of the embedded parser: phrases (lemmas, space-separated)
 * that name a concept, and stopwords that carry no meaning of their own.
 * Synonyms live here and nowhere else: "nodes", "devices", "silos" are all
 * the concept "client"; rules only ever see concepts. Goal trigger phrases
 * come from goals.c. Plural forms and typos are repaired against this
 * vocabulary before phrase matching. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl/task/task_internal.h"
#include "intent/intent_internal.h"

static const intent_phrase phrases[] = {
    /* federation size and participation */
    {"client", C_CLIENT, 0}, {"node", C_CLIENT, 0}, {"device", C_CLIENT, 0},
    {"edge device", C_CLIENT, 0}, {"edge node", C_CLIENT, 0}, {"participant", C_CLIENT, 0},
    {"worker", C_CLIENT, 0}, {"silo", C_CLIENT, 0}, {"party", C_CLIENT, 0}, {"user", C_CLIENT, 0},
    {"phone", C_CLIENT, 0}, {"smartphone", C_CLIENT, 0}, {"hospital", C_CLIENT, 0},
    {"sensor", C_CLIENT, 0}, {"clinic", C_CLIENT, 0},
    {"lab", C_CLIENT, 0}, {"laboratory", C_CLIENT, 0}, {"school", C_CLIENT, 0}, {"shop", C_CLIENT, 0},
    {"branch", C_CLIENT, 0}, {"office", C_CLIENT, 0}, {"factory", C_CLIENT, 0},
    {"company", C_CLIENT, 0}, {"camera", C_CLIENT, 0}, {"robot", C_CLIENT, 0}, {"drone", C_CLIENT, 0},
    {"wearable", C_CLIENT, 0}, {"laptop", C_CLIENT, 0}, {"tablet", C_CLIENT, 0}, {"handset", C_CLIENT, 0},
    {"mobile device", C_CLIENT, 0}, {"iot device", C_CLIENT, 0},
    {"client device", C_CLIENT, 0}, {"agent", C_CLIENT, 0}, {"station", C_CLIENT, 0},
    {"terminal", C_CLIENT, 0}, {"gateway", C_CLIENT, 0}, {"hospital site", C_CLIENT, 0}, {"institution", C_CLIENT, 0}, {"organization", C_CLIENT, 0},
    {"organisation", C_CLIENT, 0}, {"site", C_CLIENT, 0}, {"bank", C_CLIENT, 0},
    {"learner", C_CLIENT, 0}, {"member", C_CLIENT, 0}, {"peer", C_CLIENT, 0},
    {"edge", C_CLIENT, 0}, {"vehicle", C_CLIENT, 0}, {"car", C_CLIENT, 0},
    {"number of client", C_CLIENT_KEY, 0}, {"client count", C_CLIENT_KEY, 0},
    {"federation size", C_CLIENT_KEY, 0}, {"federation of", C_CLIENT_KEY, 0},
    {"population of", C_CLIENT_KEY, 0}, {"num client", C_CLIENT_KEY, 0},
    {"round", C_ROUND, 0}, {"communication round", C_ROUND, 0}, {"global round", C_ROUND, 0},
    {"federated round", C_ROUND, 0}, {"aggregation round", C_ROUND, 0},
    {"training round", C_ROUND, 0}, {"fl round", C_ROUND, 0}, {"federated learning round", C_ROUND, 0},
    {"server round", C_ROUND, 0}, {"number of round", C_ROUND, 0},
    {"per round", C_PER_ROUND, 0}, {"each round", C_PER_ROUND, 0}, {"every round", C_PER_ROUND, 0},
    {"a round", C_PER_ROUND, 0}, {"in each round", C_PER_ROUND, 0}, {"in every round", C_PER_ROUND, 0},
    {"at a time", C_PER_ROUND, 0}, {"at once", C_PER_ROUND, 0}, {"simultaneously", C_PER_ROUND, 0},
    {"concurrently", C_PER_ROUND, 0}, {"in parallel", C_PER_ROUND, 0}, {"per iteration", C_PER_ROUND, 0},
    {"each time", C_PER_ROUND, 0}, {"cohort", C_PER_ROUND, 0}, {"cohort size", C_PER_ROUND, 0}, {"per step", C_PER_ROUND, 0}, {"/ round", C_PER_ROUND, 0},
    {"/ rnd", C_PER_ROUND, 0}, {"per rnd", C_PER_ROUND, 0},
    {"round by round", C_PER_ROUND, 0},
    {"all", C_ALL, 0}, {"everyone", C_ALL, 0}, {"everybody", C_ALL, 0}, {"every client", C_ALL, 0},
    {"all client", C_ALL, 0}, {"every single client", C_ALL, 0},
    {"full participation", C_FULL_PART, 0}, {"full client participation", C_FULL_PART, 0},
    {"participation", C_PARTICIPATION, 0}, {"participation rate", C_PARTICIPATION, 0},
    {"sampling rate", C_PARTICIPATION, 0}, {"sample rate", C_PARTICIPATION, 0},
    {"client fraction", C_PARTICIPATION, 0}, {"fraction of client", C_PARTICIPATION, 0},
    {"sampling fraction", C_PARTICIPATION, 0}, {"client sampling rate", C_PARTICIPATION, 0},
    {"participation fraction", C_PARTICIPATION, 0}, {"fraction", C_PARTICIPATION, 0},
    {"client participation", C_PARTICIPATION, 0}, {"participation ratio", C_PARTICIPATION, 0},
    {"client participation rate", C_PARTICIPATION, 0}, {"probability", C_PARTICIPATION, 0},
    {"sampling probability", C_PARTICIPATION, 0}, {"selection probability", C_PARTICIPATION, 0},
    {"participation probability", C_PARTICIPATION, 0}, {"selection rate", C_PARTICIPATION, 0},
    {"out of", C_OUT_OF, 0},
    {"e =", C_E_EQ, 0}, {"b =", C_B_EQ, 0}, {"c =", C_C_EQ, 0}, {"k =", C_K_EQ, 0},

    /* local training */
    {"epoch", C_EPOCH, 0}, {"local epoch", C_EPOCH, 0}, {"pass", C_EPOCH, 0},
    {"local pass", C_EPOCH, 0}, {"full pass", C_EPOCH, 0},
    {"batch", C_BATCH, 0}, {"batch size", C_BATCH, 0}, {"minibatch", C_BATCH, 0},
    {"mini batch", C_BATCH, 0}, {"minibatch size", C_BATCH, 0}, {"mini batch size", C_BATCH, 0},
    {"bs", C_BATCH, 0}, {"local batch", C_BATCH, 0}, {"local batch size", C_BATCH, 0},
    {"batchsize", C_BATCH, 0},
    {"sample per batch", C_SAMPLE_PER_BATCH, 0}, {"example per batch", C_SAMPLE_PER_BATCH, 0},
    {"image per batch", C_SAMPLE_PER_BATCH, 0},
    {"lr", C_LR, 0}, {"learning rate", C_LR, 0}, {"step size", C_LR, 0}, {"eta", C_LR, 0},
    {"local lr", C_LR, 0}, {"local learning rate", C_LR, 0}, {"client lr", C_LR, 0},
    {"client learning rate", C_LR, 0}, {"stepsize", C_LR, 0}, {"learningrate", C_LR, 0},
    {"momentum", C_MOMENTUM, 0}, {"local momentum", C_MOMENTUM, 1}, {"client momentum", C_MOMENTUM, 1},
    {"heavy ball", C_MOMENTUM, 0},
    {"nesterov", C_NESTEROV, 0},
    {"weight decay", C_WD, 0}, {"wd", C_WD, 0}, {"l2", C_WD, 0}, {"l2 regularization", C_WD, 0},
    {"l2 regularisation", C_WD, 0}, {"l2 penalty", C_WD, 0}, {"decay", C_WD, 0},
    {"beta1", C_BETA1, 0}, {"beta 1", C_BETA1, 0}, {"b1", C_BETA1, 0},
    {"beta2", C_BETA2, 0}, {"beta 2", C_BETA2, 0}, {"b2", C_BETA2, 0},
    {"eps", C_EPS, 0}, {"epsilon", C_EPS, 0}, {"adam epsilon", C_EPS, 0},
    {"step", C_STEP, 0}, {"local step", C_STEP, 0}, {"optimizer step", C_STEP, 0},
    {"gradient step", C_STEP, 0}, {"sgd step", C_STEP, 0}, {"local iteration", C_STEP, 0},
    {"local update step", C_STEP, 0},
    {"max step", C_MAX_STEPS, 0}, {"maximum step", C_MAX_STEPS, 0}, {"step cap", C_MAX_STEPS, 0},
    {"max local step", C_MAX_STEPS, 0}, {"local step cap", C_MAX_STEPS, 0},
    {"sgd", C_OPT_SGD, 0}, {"plain sgd", C_OPT_SGD, 0}, {"vanilla sgd", C_OPT_SGD, 0},
    {"stochastic gradient descent", C_OPT_SGD, 0}, {"gradient descent", C_OPT_SGD, 0},
    {"adam", C_OPT_ADAM, 0}, {"adamw", C_OPT_ADAMW, 0}, {"adam w", C_OPT_ADAMW, 0},
    /* the optimizers of the seed papers */
    {"lion", C_OPT_LION, 0}, {"lion optimizer", C_OPT_LION, 0}, {"evolved sign momentum", C_OPT_LION, 0},
    {"adan", C_OPT_ADAN, 0}, {"adaptive nesterov momentum", C_OPT_ADAN, 0},
    {"adamp", C_OPT_ADAMP, 0}, {"adam p", C_OPT_ADAMP, 0}, {"sgdp", C_OPT_SGDP, 0}, {"sgd p", C_OPT_SGDP, 0},
    {"exadam", C_OPT_EXADAM, 0}, {"ex adam", C_OPT_EXADAM, 0}, {"extended adam", C_OPT_EXADAM, 0},
    {"adahessian", C_OPT_ADAHESSIAN, 0}, {"ada hessian", C_OPT_ADAHESSIAN, 0},
    {"mfac", C_OPT_MFAC, 0}, {"m fac", C_OPT_MFAC, 0}, {"matrix free fisher", C_OPT_MFAC, 0},
    {"beta3", C_BETA3, 0}, {"beta 3", C_BETA3, 0}, {"b3", C_BETA3, 0},
    {"hessian power", C_HESSIAN_POWER, 0},
    {"projection delta", C_ADAMP_DELTA, 0}, {"adamp delta", C_ADAMP_DELTA, 0},
    {"wd ratio", C_ADAMP_WD_RATIO, 0}, {"weight decay ratio", C_ADAMP_WD_RATIO, 0},
    {"constant step size", C_FIXED_STEP, 0}, {"fixed step size", C_FIXED_STEP, 0},
    {"constant step", C_FIXED_STEP, 0}, {"no dynamic step", C_FIXED_STEP, 0},
    {"gradient window", C_MFAC_WINDOW, 0}, {"mfac window", C_MFAC_WINDOW, 0}, {"window size", C_MFAC_WINDOW, 0},
    {"dampening", C_MFAC_DAMP, 0}, {"damping", C_MFAC_DAMP, 0},
    {"keep the optimizer state", C_KEEP_STATE, 0}, {"keep optimizer state", C_KEEP_STATE, 0},
    {"keeping the optimizer state", C_KEEP_STATE, 0}, {"persistent optimizer state", C_KEEP_STATE, 0},
    {"optimizer state across round", C_KEEP_STATE, 0}, {"stateful optimizer", C_KEEP_STATE, 0},

    /* strategy */
    {"fedavg", C_S_FEDAVG, 0}, {"fed avg", C_S_FEDAVG, 0}, {"federated averaging", C_S_FEDAVG, 0},
    {"federated average", C_S_FEDAVG, 0}, {"model averaging", C_S_FEDAVG, 0},
    {"plain averaging", C_S_FEDAVG, 0}, {"simple averaging", C_S_FEDAVG, 0},
    {"fedprox", C_S_FEDPROX, 0}, {"fed prox", C_S_FEDPROX, 0},
    {"fedavgm", C_S_FEDAVGM, 0}, {"fed avgm", C_S_FEDAVGM, 0},
    /* fedavg-m is Cheng et al.'s client-side momentum, not server momentum */
    {"fedavg m", C_S_FEDAVG_M, 0}, {"client momentum", C_S_FEDAVG_M, 0},
    {"scaffold", C_S_SCAFFOLD, 0}, {"control variates", C_S_SCAFFOLD, 0}, {"scaffold m", C_S_SCAFFOLD_M, 0},
    {"fednova", C_S_FEDNOVA, 0}, {"fed nova", C_S_FEDNOVA, 0}, {"normalized averaging", C_S_FEDNOVA, 0},
    {"normalised averaging", C_S_FEDNOVA, 0},
    {"fedau", C_S_FEDAU, 0}, {"fed au", C_S_FEDAU, 0}, {"unknown participation", C_S_FEDAU, 0},
    {"afa cd", C_S_AFA_CD, 0}, {"anarchic", C_S_AFA_CD, 0}, {"anarchic federated learning", C_S_AFA_CD, 0},
    {"afa cs", C_S_AFA_CS, 0},
    {"fedhyper", C_S_FEDHYPER, 0}, {"fed hyper", C_S_FEDHYPER, 0}, {"hypergradient", C_S_FEDHYPER, 0},
    {"fedspeed", C_S_FEDSPEED, 0}, {"fed speed", C_S_FEDSPEED, 0},
    {"fedsam", C_S_FEDSAM, 0}, {"fed sam", C_S_FEDSAM, 0}, {"sharpness aware", C_S_FEDSAM, 0},
    {"sharpness aware minimization", C_S_FEDSAM, 0},
    {"fedamd", C_S_FEDAMD, 0}, {"fed amd", C_S_FEDAMD, 0}, {"anchor sampling", C_S_FEDAMD, 0},
    {"fedld", C_S_FEDLD, 0}, {"fed ld", C_S_FEDLD, 0}, {"loss decomposition", C_S_FEDLD, 0},
    {"fedbuff", C_S_FEDBUFF, 0}, {"fed buff", C_S_FEDBUFF, 0}, {"buffered asynchronous", C_S_FEDBUFF, 0},
    {"fedfix", C_S_FEDFIX, 0}, {"fed fix", C_S_FEDFIX, 0},
    {"async fedavg", C_S_ASYNC_FEDAVG, 0}, {"asynchronous fedavg", C_S_ASYNC_FEDAVG, 0},
    {"asynchronous federated averaging", C_S_ASYNC_FEDAVG, 0},
    {"dpsgd", C_S_DPSGD, 0}, {"d psgd", C_S_DPSGD, 0}, {"decentralized sgd", C_S_DPSGD, 0},
    {"decentralised sgd", C_S_DPSGD, 0}, {"decentralized fedavg", C_S_DPSGD, 0}, {"decentralised fedavg", C_S_DPSGD, 0},
    {"gossip learning", C_S_GOSSIP, 0}, {"gossip", C_S_GOSSIP, 0}, {"pairwise gossip", C_S_GOSSIP, 0},
    {"gossip vc", C_S_GOSSIP_VC, 0}, {"variance corrected gossip", C_S_GOSSIP_VC, 0},
    {"variance corrected averaging", C_S_GOSSIP_VC, 0},
    {"dfedsam", C_S_DFEDSAM, 0}, {"d fedsam", C_S_DFEDSAM, 0},
    {"dfedsam mgs", C_S_DFEDSAM_MGS, 0}, {"multiple gossip step", C_S_DFEDSAM_MGS, 0},
    {"dadao", C_S_DADAO, 0},
    {"ring topology", C_TOPO_RING, 0}, {"ring graph", C_TOPO_RING, 0}, {"on a ring", C_TOPO_RING, 0},
    {"torus", C_TOPO_TORUS, 0}, {"torus topology", C_TOPO_TORUS, 0},
    {"complete graph", C_TOPO_COMPLETE, 0}, {"fully connected graph", C_TOPO_COMPLETE, 0},
    {"erdos renyi", C_TOPO_ER, 0}, {"random graph", C_TOPO_ER, 0},
    {"small world", C_TOPO_SMALL_WORLD, 0}, {"watts strogatz", C_TOPO_SMALL_WORLD, 0},
    {"exponential graph", C_TOPO_EXPONENTIAL, 0}, {"exponential topology", C_TOPO_EXPONENTIAL, 0},
    {"random matching", C_TOPO_MATCHING, 0}, {"time varying matching", C_TOPO_MATCHING, 0},
    {"gossip step", C_GOSSIP_STEPS, 0}, {"mixing step", C_GOSSIP_STEPS, 0},
    {"rho", C_RHO, 0}, {"perturbation radius", C_RHO, 0}, {"sam radius", C_RHO, 0},
    {"anchor probability", C_ANCHOR_PROB, 0}, {"anchor prob", C_ANCHOR_PROB, 0},
    {"fedopt", C_S_FEDOPT, 0}, {"fed opt", C_S_FEDOPT, 0},
    {"fedbn", C_FEDBN, 0}, {"fed bn", C_FEDBN, 0}, {"local batch norm", C_FEDBN, 0},
    {"local batch normalization", C_FEDBN, 0}, {"local batch normalisation", C_FEDBN, 0},
    {"feature skew", C_FEATURE_SKEW, 0}, {"multi domain", C_FEATURE_SKEW, 0}, {"domain shift", C_FEATURE_SKEW, 0},
    {"per client domain", C_FEATURE_SKEW, 0}, {"feature shift", C_FEATURE_SKEW, 0},
    {"personal evaluation", C_EVAL_PERSONAL, 0}, {"personalized evaluation", C_EVAL_PERSONAL, 0},
    {"personalised evaluation", C_EVAL_PERSONAL, 0},
    {"finetune", C_S_FINETUNE, 0}, {"fedper", C_S_FEDPER, 0}, {"ditto", C_S_DITTO, 0},
    {"clustered federated learning", C_S_CLUSTERED, 0}, {"clustered fl", C_S_CLUSTERED, 0},
    {"pfedgate", C_S_PFEDGATE, 0}, {"pfed gate", C_S_PFEDGATE, 0},
    {"fedadam", C_S_FEDADAM, 0}, {"fed adam", C_S_FEDADAM, 0}, {"server adam", C_S_FEDADAM, 0},
    {"adam on the server", C_S_FEDADAM, 0}, {"server side adam", C_S_FEDADAM, 0},
    {"fedyogi", C_S_FEDYOGI, 0}, {"fed yogi", C_S_FEDYOGI, 0}, {"yogi", C_S_FEDYOGI, 0},
    {"fedadagrad", C_S_FEDADAGRAD, 0}, {"fed adagrad", C_S_FEDADAGRAD, 0}, {"adagrad", C_S_FEDADAGRAD, 0},
    {"slr", C_SERVER_LR, 0}, {"server lr", C_SERVER_LR, 0}, {"server learning rate", C_SERVER_LR, 0}, {"global lr", C_SERVER_LR, 0},
    {"global learning rate", C_SERVER_LR, 0}, {"server step size", C_SERVER_LR, 0},
    {"server side learning rate", C_SERVER_LR, 0}, {"server eta", C_SERVER_LR, 0}, {"eta g", C_SERVER_LR, 0},
    {"server momentum", C_SERVER_MOMENTUM, 0}, {"global momentum", C_SERVER_MOMENTUM, 0},
    {"server side momentum", C_SERVER_MOMENTUM, 0},
    {"mu", C_MU, 0}, {"proximal term", C_MU, 0}, {"proximal weight", C_MU, 0}, {"proximal mu", C_MU, 0},
    {"prox mu", C_MU, 0}, {"proximal coefficient", C_MU, 0}, {"proximal penalty", C_MU, 0},
    {"proximal", C_MU, 0}, {"prox term", C_MU, 0},
    {"tau", C_TAU, 0}, {"adaptivity", C_TAU, 0}, {"server tau", C_TAU, 0},
    {"server", C_SERVER, 0}, {"server side", C_SERVER, 0}, {"on the server", C_SERVER, 0},
    {"at the server", C_SERVER, 0},
    {"locally", C_LOCAL, 0}, {"on the client", C_LOCAL, 0}, {"client side", C_LOCAL, 0},
    {"on each client", C_LOCAL, 0}, {"on device", C_LOCAL, 0},

    /* data */
    {"fashion mnist", C_DS_FMNIST, 0}, {"fmnist", C_DS_FMNIST, 0}, {"f mnist", C_DS_FMNIST, 0},
    {"fashionmnist", C_DS_FMNIST, 0}, {"fashion", C_DS_FMNIST, 0}, {"zalando", C_DS_FMNIST, 0},
    {"mnist", C_DS_MNIST, 0}, {"handwritten digit", C_DS_MNIST, 0},
    {"cifar10", C_DS_CIFAR10, 0}, {"cifar 10", C_DS_CIFAR10, 0}, {"cifar", C_DS_UNSUPPORTED, 0},
    {"csv", C_DS_CSV, 0}, {"tabular", C_DS_CSV, 0}, {"tabular data", C_DS_CSV, 0},
    {"csv file", C_DS_CSV, 0},
    {"cifar100", C_DS_UNSUPPORTED, 0}, {"cifar 100", C_DS_UNSUPPORTED, 0}, {"emnist", C_DS_UNSUPPORTED, 0},
    {"emnist byclass", C_DS_UNSUPPORTED, 0}, {"emnist by class", C_DS_UNSUPPORTED, 0},
    {"emnist balanced", C_DS_UNSUPPORTED, 0}, {"emnist digit", C_DS_UNSUPPORTED, 0},
    {"emnist letter", C_DS_UNSUPPORTED, 0}, {"street view house number", C_DS_UNSUPPORTED, 0},
    {"femnist", C_DS_UNSUPPORTED, 0}, {"svhn", C_DS_UNSUPPORTED, 0}, {"imagenet", C_DS_UNSUPPORTED, 0},
    {"tiny imagenet", C_DS_UNSUPPORTED, 0}, {"shakespeare", C_DS_UNSUPPORTED, 0},
    {"celeba", C_DS_UNSUPPORTED, 0}, {"sent140", C_DS_UNSUPPORTED, 0}, {"kmnist", C_DS_UNSUPPORTED, 0},
    {"stackoverflow", C_DS_UNSUPPORTED, 0}, {"stl10", C_DS_UNSUPPORTED, 0},
    /* the data catalog's options */
    {"coarse label", C_COARSE_LABELS, 0}, {"coarse class", C_COARSE_LABELS, 0}, {"superclass", C_COARSE_LABELS, 0},
    {"super class", C_COARSE_LABELS, 0}, {"coarse", C_COARSE_LABELS, 0},
    {"fine label", C_FINE_LABELS, 0}, {"fine class", C_FINE_LABELS, 0}, {"fine grained label", C_FINE_LABELS, 0},
    {"extra split", C_EXTRA_SPLIT, 0}, {"extra image", C_EXTRA_SPLIT, 0}, {"extra data", C_EXTRA_SPLIT, 0},
    {"extra set", C_EXTRA_SPLIT, 0}, {"extra sample", C_EXTRA_SPLIT, 0},
    {"offline", C_NO_FETCH, 0}, {"no download", C_NO_FETCH, 0}, {"without download", C_NO_FETCH, 0},
    {"without downloading", C_NO_FETCH, 0}, {"no downloading", C_NO_FETCH, 0}, {"never download", C_NO_FETCH, 0},
    {"do not download", C_NO_FETCH, 0}, {"do not fetch", C_NO_FETCH, 0}, {"without fetch", C_NO_FETCH, 0},
    {"no fetch", C_NO_FETCH, 0},
    /* FEMNIST's own split (partition.kind natural) */
    {"by writer", C_NATURAL, 0}, {"per writer", C_NATURAL, 0}, {"each writer", C_NATURAL, 0},
    {"writer split", C_NATURAL, 0}, {"natural split", C_NATURAL, 0}, {"natural partition", C_NATURAL, 0},
    {"data", C_DATA, 0}, {"dataset", C_DATA, 0}, {"stored in", C_DATA, 0}, {"stored at", C_DATA, 0},
    {"located at", C_DATA, 0}, {"located in", C_DATA, 0}, {"path", C_DATA, 0}, {"directory", C_DATA, 0},
    {"folder", C_DATA, 0}, {"lives in", C_DATA, 0}, {"life in", C_DATA, 0}, {"found in", C_DATA, 0},
    {"data dir", C_DATA, 0}, {"training file", C_DATA, 0}, {"train file", C_DATA, 0},
    {"test set", C_TEST_FILE, 0}, {"test file", C_TEST_FILE, 0}, {"test data", C_TEST_FILE, 0},
    {"test split", C_TEST_FILE, 0}, {"test csv", C_TEST_FILE, 0}, {"test path", C_TEST_FILE, 0},
    {"testing data", C_TEST_FILE, 0}, {"evaluation set", C_TEST_FILE, 0}, {"eval set", C_TEST_FILE, 0},
    {"held out set", C_TEST_FILE, 0},
    {"label column", C_LABEL_COLUMN, 0}, {"target column", C_LABEL_COLUMN, 0},
    {"label col", C_LABEL_COLUMN, 0}, {"class column", C_LABEL_COLUMN, 0},
    {"label in column", C_LABEL_COLUMN, 0}, {"label is in column", C_LABEL_COLUMN, 0},
    {"label field", C_LABEL_COLUMN, 0}, {"column", C_LABEL_COLUMN, 0},
    {"trace", C_TRACE, 0}, {"device trace", C_TRACE, 0}, {"profile", C_TRACE, 0},
    {"device speed", C_TRACE, 0}, {"speed", C_TRACE, 0}, {"replay", C_TRACE, 0},
    {"device profile", C_TRACE, 0}, {"speed trace", C_TRACE, 0}, {"availability", C_TRACE, 0},

    /* partition */
    {"iid", C_IID, 0}, {"identically distributed", C_IID, 0},
    {"independent and identically distributed", C_IID, 0}, {"uniformly distributed", C_IID, 0},
    {"uniform split", C_IID, 0}, {"uniform partition", C_IID, 0}, {"random split", C_IID, 0},
    {"evenly split", C_IID, 0}, {"evenly distributed", C_IID, 0}, {"homogeneous data", C_IID, 0},
    {"split uniformly", C_IID, 0}, {"shuffled uniformly", C_IID, 0}, {"uniformly at random", C_IID, 0},
    {"non iid", C_NONIID, 0}, {"not iid", C_NONIID, 0}, {"noniid", C_NONIID, 0}, {"niid", C_NONIID, 0},
    {"non identically distributed", C_NONIID, 0}, {"skewed", C_NONIID, 0}, {"skew", C_NONIID, 0},
    {"label skew", C_NONIID, 0}, {"label skewed", C_NONIID, 0}, {"skewed label", C_NONIID, 0}, {"heterogeneous", C_NONIID, 1},
    {"heterogeneous data", C_NONIID, 0}, {"data heterogeneity", C_NONIID, 0},
    {"statistical heterogeneity", C_NONIID, 0}, {"label imbalance", C_NONIID, 0},
    {"imbalanced label", C_NONIID, 0}, {"unbalanced label", C_NONIID, 0},
    {"label distribution skew", C_NONIID, 0}, {"non uniform", C_NONIID, 0},
    {"heterogeneity", C_NONIID, 0}, {"heterogenous", C_NONIID, 1},
    {"highly", C_STRONG, 0}, {"strongly", C_STRONG, 0}, {"extremely", C_STRONG, 0}, {"very", C_STRONG, 0},
    {"heavily", C_STRONG, 0}, {"severely", C_STRONG, 0}, {"extreme", C_STRONG, 0}, {"severe", C_STRONG, 0},
    {"strong", C_STRONG, 0}, {"high", C_STRONG, 0}, {"massively", C_STRONG, 0}, {"really", C_STRONG, 0},
    {"mildly", C_MILD, 0}, {"slightly", C_MILD, 0}, {"somewhat", C_MILD, 0}, {"a bit", C_MILD, 0},
    {"a little", C_MILD, 0}, {"mild", C_MILD, 0}, {"slight", C_MILD, 0}, {"lightly", C_MILD, 0},
    {"weakly", C_MILD, 0}, {"weak", C_MILD, 0},
    {"moderately", C_MODERATE, 0}, {"moderate", C_MODERATE, 0}, {"medium", C_MODERATE, 0},
    {"pathological", C_PATHOLOGICAL, 0}, {"pathologically", C_PATHOLOGICAL, 0},
    {"sort and partition", C_PATHOLOGICAL, 0}, {"sorted shard", C_PATHOLOGICAL, 0},
    {"quantity skew", C_QUANTITY, 0}, {"quantity", C_QUANTITY, 0}, {"quantity based", C_QUANTITY, 0},
    {"different amount of data", C_QUANTITY, 0}, {"different amount of sample", C_QUANTITY, 0},
    {"different amount of example", C_QUANTITY, 0}, {"different amount of training data", C_QUANTITY, 0},
    {"varying amount of data", C_QUANTITY, 0}, {"varying amount", C_QUANTITY, 0},
    {"unequal amount", C_QUANTITY, 0}, {"unequal size", C_QUANTITY, 0},
    {"unequal dataset size", C_QUANTITY, 0}, {"unbalanced", C_QUANTITY, 0}, {"imbalanced", C_QUANTITY, 0},
    {"unbalanced size", C_QUANTITY, 0}, {"different dataset size", C_QUANTITY, 0},
    {"varying dataset size", C_QUANTITY, 0}, {"different size", C_QUANTITY, 0},
    {"size skew", C_QUANTITY, 0}, {"lognormal size", C_QUANTITY, 0}, {"log normal size", C_QUANTITY, 0},
    {"unbalanced data", C_QUANTITY, 0}, {"unequal data", C_QUANTITY, 0},
    {"dirichlet", C_DIRICHLET, 0}, {"dir", C_DIRICHLET, 0}, {"lda", C_DIRICHLET, 0},
    {"latent dirichlet", C_DIRICHLET, 0}, {"dirichlet distribution", C_DIRICHLET, 0},
    {"dirichlet partition", C_DIRICHLET, 0}, {"dirichlet split", C_DIRICHLET, 0},
    {"alpha", C_ALPHA, 0}, {"dirichlet alpha", C_ALPHA, 0}, {"concentration", C_ALPHA, 0},
    {"concentration parameter", C_ALPHA, 0}, {"dirichlet concentration", C_ALPHA, 0},
    {"sigma", C_SIGMA, 0}, {"size sigma", C_SIGMA, 0}, {"spread", C_SIGMA, 0},
    {"class", C_CLASS, 0}, {"label", C_CLASS, 0}, {"category", C_CLASS, 0}, {"digit", C_CLASS, 0},
    {"shard", C_SHARD, 0},

    /* model */
    {"mlp", C_MLP, 0}, {"multilayer perceptron", C_MLP, 0}, {"multi layer perceptron", C_MLP, 0},
    {"perceptron", C_MLP, 0}, {"fully connected", C_MLP, 0}, {"fully connected network", C_MLP, 0},
    {"fully connected net", C_MLP, 0}, {"fully connected model", C_MLP, 0}, {"fc network", C_MLP, 0},
    {"fc net", C_MLP, 0}, {"dense network", C_MLP, 0}, {"dense net", C_MLP, 0},
    {"dense model", C_MLP, 0}, {"feed forward", C_MLP, 0}, {"feedforward", C_MLP, 0},
    {"feed forward network", C_MLP, 0}, {"2nn", C_MLP, 0},
    {"cnn", C_CNN, 0}, {"convnet", C_CNN, 0}, {"conv net", C_CNN, 0}, {"convolutional", C_CNN, 0},
    {"convolutional network", C_CNN, 0}, {"convolutional net", C_CNN, 0},
    {"convolutional neural network", C_CNN, 0}, {"convolutional model", C_CNN, 0},
    {"logistic regression", C_LINEAR, 0}, {"linear model", C_LINEAR, 0},
    {"linear classifier", C_LINEAR, 0}, {"softmax regression", C_LINEAR, 0},
    {"multinomial logistic regression", C_LINEAR, 0}, {"linear", C_LINEAR, 0},
    {"model", C_MODEL, 0}, {"network", C_MODEL, 0}, {"net", C_MODEL, 0}, {"neural network", C_MODEL, 0},
    {"neural net", C_MODEL, 0}, {"architecture", C_MODEL, 0},
    {"small", C_SMALL, 0}, {"smaller", C_SMALL, 0}, {"tiny", C_SMALL, 0}, {"little", C_SMALL, 0},
    {"lightweight", C_SMALL, 0}, {"light", C_SMALL, 0}, {"compact", C_SMALL, 0}, {"mini", C_SMALL, 0},
    {"shallow", C_SMALL, 0}, {"minimal", C_SMALL, 0}, {"narrow", C_SMALL, 0},
    {"big", C_LARGE, 0}, {"bigger", C_LARGE, 0}, {"large", C_LARGE, 0}, {"larger", C_LARGE, 0},
    {"deep", C_LARGE, 0}, {"deeper", C_LARGE, 0}, {"wide", C_LARGE, 0}, {"wider", C_LARGE, 0},
    {"huge", C_LARGE, 0}, {"heavy", C_LARGE, 0}, {"heavier", C_LARGE, 0}, {"heavyweight", C_LARGE, 0},
    {"standard", C_STANDARD, 0}, {"default", C_STANDARD, 0}, {"usual", C_STANDARD, 0},
    {"regular", C_STANDARD, 0}, {"normal", C_STANDARD, 0}, {"classic", C_STANDARD, 0},
    {"classical", C_STANDARD, 0}, {"vanilla", C_STANDARD, 0}, {"basic", C_STANDARD, 0},
    {"reference", C_STANDARD, 0}, {"mcmahan", C_STANDARD, 0},
    {"hidden layer", C_HIDDEN, 0}, {"hidden", C_HIDDEN, 0}, {"layer", C_HIDDEN, 0},
    {"hidden unit", C_HIDDEN, 1}, {"hidden neuron", C_HIDDEN, 1},
    {"unit", C_UNIT, 0}, {"neuron", C_UNIT, 0}, {"hidden size", C_UNIT, 0}, {"width", C_UNIT, 0},

    /* initial weights */
    {"he init", C_INIT_HE, 0}, {"he initialization", C_INIT_HE, 0}, {"he initialisation", C_INIT_HE, 0},
    {"he normal", C_INIT_HE, 0}, {"he normal init", C_INIT_HE, 0}, {"kaiming normal", C_INIT_HE, 0},
    {"kaiming normal init", C_INIT_HE, 0},
    {"kaiming init", C_INIT_HE, 0}, {"kaiming initialization", C_INIT_HE, 0},
    {"kaiming initialisation", C_INIT_HE, 0},
    {"pytorch init", C_INIT_TORCH, 0}, {"pytorch initialization", C_INIT_TORCH, 0},
    {"pytorch initialisation", C_INIT_TORCH, 0}, {"pytorch default", C_INIT_TORCH, 0},
    {"pytorch defaults", C_INIT_TORCH, 0}, {"pytorch default init", C_INIT_TORCH, 0},
    {"pytorch default initialization", C_INIT_TORCH, 0}, {"pytorch default initialisation", C_INIT_TORCH, 0},
    {"pytorch style init", C_INIT_TORCH, 0}, {"pytorch style initialization", C_INIT_TORCH, 0},
    {"pytorch style initialisation", C_INIT_TORCH, 0}, {"pytorch weight init", C_INIT_TORCH, 0},
    {"pytorch weight initialization", C_INIT_TORCH, 0}, {"pytorch weight initialisation", C_INIT_TORCH, 0},
    {"default pytorch init", C_INIT_TORCH, 0}, {"default pytorch initialization", C_INIT_TORCH, 0},
    {"default pytorch initialisation", C_INIT_TORCH, 0}, {"torch init", C_INIT_TORCH, 0},
    {"torch default init", C_INIT_TORCH, 0}, {"init like pytorch", C_INIT_TORCH, 0},
    {"initialise like pytorch", C_INIT_TORCH, 0}, {"initialize like pytorch", C_INIT_TORCH, 0},
    {"initialised like pytorch", C_INIT_TORCH, 0}, {"initialized like pytorch", C_INIT_TORCH, 0},
    {"initialise the weight like pytorch", C_INIT_TORCH, 0},
    {"initialize the weight like pytorch", C_INIT_TORCH, 0},
    {"initialise weight like pytorch", C_INIT_TORCH, 0}, {"initialize weight like pytorch", C_INIT_TORCH, 0},
    {"weight initialised like pytorch", C_INIT_TORCH, 0}, {"weight initialized like pytorch", C_INIT_TORCH, 0},
    {"same init as pytorch", C_INIT_TORCH, 0}, {"same initialization as pytorch", C_INIT_TORCH, 0},
    {"same initialisation as pytorch", C_INIT_TORCH, 0},

    /* seed, evaluation, stopping, time */
    {"seed", C_SEED, 0}, {"random seed", C_SEED, 0}, {"seeded with", C_SEED, 0}, {"seeded", C_SEED, 0},
    {"rng seed", C_SEED, 0}, {"seed value", C_SEED, 0},
    {"evaluate", C_EVAL, 0}, {"eval", C_EVAL, 0}, {"evaluation", C_EVAL, 0}, {"test", C_EVAL, 0},
    {"validate", C_EVAL, 0}, {"evaluated", C_EVAL, 0}, {"tested", C_EVAL, 0}, {"evaluating", C_EVAL, 0},
    {"testing", C_EVAL, 0},
    {"accuracy", C_ACCURACY, 0}, {"acc", C_ACCURACY, 0}, {"test accuracy", C_ACCURACY, 0},
    {"accuracy target", C_ACCURACY, 0}, {"target accuracy", C_ACCURACY, 0},
    {"validation accuracy", C_ACCURACY, 0}, {"top 1 accuracy", C_ACCURACY, 0},
    {"until", C_UNTIL, 0}, {"till", C_UNTIL, 0}, {"stop when", C_UNTIL, 0}, {"stop at", C_UNTIL, 0},
    {"stop once", C_UNTIL, 0}, {"reach", C_UNTIL, 0}, {"reached", C_UNTIL, 0}, {"hit", C_UNTIL, 0},
    {"get to", C_UNTIL, 0}, {"target", C_UNTIL, 0}, {"converge to", C_UNTIL, 0}, {"stop", C_UNTIL, 0},
    {"second", C_TIME_UNIT, 1}, {"sec", C_TIME_UNIT, 1}, {"s", C_TIME_UNIT, 1},
    {"minute", C_TIME_UNIT, 60}, {"min", C_TIME_UNIT, 60}, {"hour", C_TIME_UNIT, 3600},
    {"h", C_TIME_UNIT, 3600}, {"hr", C_TIME_UNIT, 3600}, {"day", C_TIME_UNIT, 86400},
    {"millisecond", C_TIME_UNIT, 0.001}, {"ms", C_TIME_UNIT, 0.001},
    {"budget", C_BUDGET, 0}, {"time budget", C_BUDGET, 0}, {"time limit", C_BUDGET, 0},
    {"wall clock", C_BUDGET, 0}, {"wall time", C_BUDGET, 0}, {"wallclock", C_BUDGET, 0},
    {"at most", C_BUDGET, 0}, {"no more than", C_BUDGET, 0}, {"not more than", C_BUDGET, 0},
    {"more than", C_BUDGET, 0}, {"within", C_BUDGET, 0}, {"up to", C_BUDGET, 0}, {"max", C_BUDGET, 0},
    {"maximum", C_BUDGET, 0}, {"limit", C_BUDGET, 0}, {"no longer than", C_BUDGET, 0},
    {"longer than", C_BUDGET, 0}, {"don't spend more than", C_BUDGET, 0},
    {"do not spend more than", C_BUDGET, 0}, {"spend", C_BUDGET, 0}, {"under", C_BUDGET, 0},
    {"deadline", C_DEADLINE, 0}, {"round deadline", C_DEADLINE, 0}, {"deadline aware", C_POL_DEADLINE, 0},
    {"deadline based", C_POL_DEADLINE, 0}, {"resource aware", C_POL_DEADLINE, 0},
    {"deadline policy", C_POL_DEADLINE, 0}, {"deadline scheduling", C_POL_DEADLINE, 0},
    {"deadline selection", C_POL_DEADLINE, 0}, {"deadline scheduler", C_POL_DEADLINE, 0},
    {"deadline aware scheduling", C_POL_DEADLINE, 0}, {"deadline aware selection", C_POL_DEADLINE, 0},
    {"drop straggler", C_POL_DEADLINE, 0}, {"skip straggler", C_POL_DEADLINE, 0},
    {"connect", C_CONNECT_TIMEOUT, 0}, {"to connect", C_CONNECT_TIMEOUT, 0},
    {"take age", C_FILLER_PHRASE, 0}, {"takes age", C_FILLER_PHRASE, 0}, {"taking age", C_FILLER_PHRASE, 0},
    {"took age", C_FILLER_PHRASE, 0}, /* "take ages to boot": a long time, not the age policy */
    {"fair comparison", C_FILLER_PHRASE, 0}, {"fair to compare", C_FILLER_PHRASE, 0},
    {"drop slow client", C_DEADLINE, 0}, {"skip slow client", C_DEADLINE, 0},
    {"round timeout", C_ROUND_TIMEOUT, 0}, {"timeout per round", C_ROUND_TIMEOUT, 0},
    {"timeout", C_ROUND_TIMEOUT, 0}, {"update timeout", C_ROUND_TIMEOUT, 0},
    {"connect timeout", C_CONNECT_TIMEOUT, 0}, {"connection timeout", C_CONNECT_TIMEOUT, 0},
    {"join timeout", C_CONNECT_TIMEOUT, 0}, {"connecting timeout", C_CONNECT_TIMEOUT, 0},
    {"wait for", C_WAIT, 0}, {"wait until", C_WAIT, 0}, {"wait till", C_WAIT, 0},
    {"start once", C_WAIT, 0}, {"start when", C_WAIT, 0},
    {"connected", C_CONNECTED, 0}, {"online", C_CONNECTED, 0}, {"joined", C_CONNECTED, 0},
    {"registered", C_CONNECTED, 0},
    {"min node", C_MIN_NODES, 0}, {"minimum node", C_MIN_NODES, 0}, {"min client", C_MIN_NODES, 0},
    {"minimum number of node", C_MIN_NODES, 0},
    {"min update", C_MIN_UPDATES, 0}, {"minimum update", C_MIN_UPDATES, 0},
    {"minimum number of update", C_MIN_UPDATES, 0},
    {"at least", C_AT_LEAST, 0}, {"minimum of", C_AT_LEAST, 0}, {"no fewer than", C_AT_LEAST, 0},
    {"not fewer than", C_AT_LEAST, 0}, {"once", C_AT_LEAST, 0},

    /* scheduling */
    {"random selection", C_POL_RANDOM, 0}, {"random sampling", C_POL_RANDOM, 0},
    {"random scheduling", C_POL_RANDOM, 0}, {"random client selection", C_POL_RANDOM, 0},
    {"uniform sampling", C_POL_RANDOM, 0}, {"uniform selection", C_POL_RANDOM, 0},
    {"randomly", C_POL_RANDOM, 0}, {"sampled uniformly", C_POL_RANDOM, 0},
    {"uniformly sampled", C_POL_RANDOM, 0},
    {"round robin", C_POL_RR, 0}, {"in turn", C_POL_RR, 0}, {"take turn", C_POL_RR, 0},
    {"taking turn", C_POL_RR, 0}, {"cyclic", C_POL_RR, 0}, {"cyclically", C_POL_RR, 0},
    {"one after another", C_POL_RR, 0}, {"rotation", C_POL_RR, 0}, {"rotate", C_POL_RR, 0},
    {"proportional", C_POL_SAMPLES, 0}, {"in proportion", C_POL_SAMPLES, 0},
    {"proportionally", C_POL_SAMPLES, 0}, {"weighted by", C_POL_SAMPLES, 0},
    {"sample weighted", C_POL_SAMPLES, 0}, {"size weighted", C_POL_SAMPLES, 0},
    {"sample count", C_POL_SAMPLES, 0}, {"by sample count", C_POL_SAMPLES, 0},
    {"age", C_POL_AGE, 0}, {"age based", C_POL_AGE, 0}, {"longest", C_POL_AGE, 0},
    {"least recently", C_POL_AGE, 0}, {"oldest first", C_POL_AGE, 0},
    {"longest unselected", C_POL_AGE, 0}, {"least recently selected", C_POL_AGE, 0},
    {"power of choice", C_POL_POC, 0}, {"power of d choice", C_POL_POC, 0}, {"pow d", C_POL_POC, 0},
    {"powd", C_POL_POC, 0}, {"highest loss", C_POL_POC, 0}, {"largest loss", C_POL_POC, 0},
    {"high loss", C_POL_POC, 0}, {"loss based", C_POL_POC, 0}, {"biggest loss", C_POL_POC, 0},
    {"loss aware", C_POL_POC, 0}, {"power of choices", C_POL_POC, 0},
    {"d", C_CHOICE_D, 0}, {"choice d", C_CHOICE_D, 0},
    {"candidate", C_CANDIDATE, 0},
    {"lognormal", C_PROF_LOGNORMAL, 0}, {"log normal", C_PROF_LOGNORMAL, 0},
    {"lognormal profile", C_PROF_LOGNORMAL, 0}, {"straggler", C_PROF_LOGNORMAL, 0},
    {"slow device", C_PROF_LOGNORMAL, 1}, {"slow client", C_PROF_LOGNORMAL, 1},
    {"heterogeneous device", C_PROF_LOGNORMAL, 1}, {"heterogeneous hardware", C_PROF_LOGNORMAL, 0},
    {"device heterogeneity", C_PROF_LOGNORMAL, 0}, {"system heterogeneity", C_PROF_LOGNORMAL, 0},
    {"hardware heterogeneity", C_PROF_LOGNORMAL, 0}, {"realistic device speed", C_PROF_LOGNORMAL, 0},
    {"varying device speed", C_PROF_LOGNORMAL, 0}, {"different device speed", C_PROF_LOGNORMAL, 0},
    {"heterogeneous speed", C_PROF_LOGNORMAL, 0}, {"heterogeneous compute", C_PROF_LOGNORMAL, 0},
    {"homogeneous device", C_PROF_NONE, 1}, {"identical device", C_PROF_NONE, 1},
    {"homogeneous hardware", C_PROF_NONE, 0}, {"no straggler", C_PROF_NONE, 0},
    {"equal speed", C_PROF_NONE, 0}, {"same speed", C_PROF_NONE, 0},

    /* privacy */
    {"differential privacy", C_DP, 0}, {"differentially private", C_DP, 0}, {"dp", C_DP, 0},
    {"dp sgd", C_DP, 0}, {"dpsgd", C_DP, 0}, {"gaussian mechanism", C_DP, 0},
    {"dp gaussian", C_DP, 0}, {"user level dp", C_DP, 0}, {"client level dp", C_DP, 0},
    {"client level differential privacy", C_DP, 0},
    {"no dp", C_NO_DP, 0}, {"no differential privacy", C_NO_DP, 0}, {"without dp", C_NO_DP, 0},
    {"without differential privacy", C_NO_DP, 0}, {"no privacy", C_NO_DP, 0},
    {"non private", C_NO_DP, 0},
    {"dp fedavg", C_DP_CENTRAL, 0}, {"central dp", C_DP_CENTRAL, 0},
    {"central differential privacy", C_DP_CENTRAL, 0}, {"server side dp", C_DP_CENTRAL, 0},
    {"server side differential privacy", C_DP_CENTRAL, 0}, {"centralized dp", C_DP_CENTRAL, 0},
    {"secure aggregation", C_SECAGG, 0}, {"secagg", C_SECAGG, 0}, {"secagg plus", C_SECAGG, 0},
    {"secure aggregation plus", C_SECAGG, 0}, {"masked aggregation", C_SECAGG, 0},
    {"no secure aggregation", C_NO_SECAGG, 0}, {"without secure aggregation", C_NO_SECAGG, 0},
    {"no secagg", C_NO_SECAGG, 0}, {"without secagg", C_NO_SECAGG, 0},
    {"dp delta", C_DP_DELTA, 0}, {"privacy delta", C_DP_DELTA, 0}, {"target delta", C_DP_DELTA, 0},
    {"privacy budget", C_DP_BUDGET, 0}, {"epsilon budget", C_DP_BUDGET, 0}, {"target epsilon", C_DP_BUDGET, 0},
    {"max epsilon", C_DP_BUDGET, 0},
    {"refuse if over budget", C_EXCEED_REFUSE, 0}, {"refuse tasks over budget", C_EXCEED_REFUSE, 0},
    {"refuse over budget", C_EXCEED_REFUSE, 0},
    {"stop at the budget", C_EXCEED_STOP, 0}, {"stop when the budget is spent", C_EXCEED_STOP, 0},
    {"stop before exceeding the budget", C_EXCEED_STOP, 0},
    {"adaptive clipping", C_ADAPTIVE_CLIP, 0}, {"adaptive clip", C_ADAPTIVE_CLIP, 0},
    {"adaptive clip norm", C_ADAPTIVE_CLIP, 0},
    {"target quantile", C_CLIP_QUANTILE, 0}, {"clip quantile", C_CLIP_QUANTILE, 0},
    {"clipping quantile", C_CLIP_QUANTILE, 0},
    {"clip learning rate", C_CLIP_LR, 0}, {"clip lr", C_CLIP_LR, 0}, {"clipping learning rate", C_CLIP_LR, 0},
    {"count noise", C_COUNT_NOISE, 0}, {"clipped count noise", C_COUNT_NOISE, 0},
    {"secagg degree", C_SA_DEGREE, 0}, {"masking neighbours", C_SA_DEGREE, 0},
    {"masking neighbors", C_SA_DEGREE, 0},
    {"secagg threshold", C_SA_THRESHOLD, 0}, {"shamir threshold", C_SA_THRESHOLD, 0},
    {"secagg clip", C_SA_CLIP, 0}, {"secure aggregation clip", C_SA_CLIP, 0},
    {"clip", C_CLIP, 0}, {"clipping", C_CLIP, 0}, {"clip norm", C_CLIP, 0}, {"clipping norm", C_CLIP, 0},
    {"clipping bound", C_CLIP, 0}, {"clipping threshold", C_CLIP, 0}, {"l2 clip", C_CLIP, 0},
    {"norm bound", C_CLIP, 0}, {"max norm", C_CLIP, 0}, {"clipped", C_CLIP, 0},
    {"noise multiplier", C_NOISE, 0}, {"noise", C_NOISE, 0}, {"noise scale", C_NOISE, 0},
    {"noise level", C_NOISE, 0}, {"noise std", C_NOISE, 0}, {"noise sigma", C_NOISE, 0},

    /* robust aggregation (strategy.aggregator and its settings) */
    {"mean aggregation", C_A_MEAN, 0}, {"plain mean aggregation", C_A_MEAN, 0},
    {"non robust aggregation", C_A_MEAN, 0},
    {"coordinate wise median", C_A_MEDIAN, 0}, {"coordinatewise median", C_A_MEDIAN, 0},
    {"median aggregation", C_A_MEDIAN, 0}, {"median aggregator", C_A_MEDIAN, 0},
    {"trimmed mean", C_A_TRIMMED, 0}, {"coordinate wise trimmed mean", C_A_TRIMMED, 0},
    {"krum", C_A_KRUM, 0}, {"multi krum", C_A_MULTI_KRUM, 0}, {"multikrum", C_A_MULTI_KRUM, 0},
    {"bulyan", C_A_BULYAN, 0},
    {"geometric median", C_A_GEOMED, 0}, {"geomed", C_A_GEOMED, 0}, {"rfa", C_A_GEOMED, 0},
    {"robust federated aggregation", C_A_GEOMED, 0},
    {"flag aggregator", C_A_FLAG, 0}, {"flag aggregation", C_A_FLAG, 0}, {"flag median", C_A_FLAG, 0},
    {"mudhog", C_A_MUDHOG, 0}, {"mud hog", C_A_MUDHOG, 0}, {"long short history of gradient", C_A_MUDHOG, 0},
    {"frl", C_A_FRL, 0}, {"federated rank learning", C_A_FRL, 0}, {"rank learning", C_A_FRL, 0},
    {"byzantine fraction", C_BYZ_FRACTION, 0}, {"assumed byzantine fraction", C_BYZ_FRACTION, 0},
    {"byzantine share", C_BYZ_FRACTION, 0},
    {"krum m", C_KRUM_M, 0}, {"multi krum m", C_KRUM_M, 0},
    {"norm bounding", C_NORM_BOUND, 0}, {"update norm bound", C_NORM_BOUND, 0},
    {"bound update norm", C_NORM_BOUND, 0},
    {"weiszfeld iteration", C_GEOMED_ITERS, 0}, {"geometric median iteration", C_GEOMED_ITERS, 0},
    {"geomed iteration", C_GEOMED_ITERS, 0},
    {"flag rank", C_FLAG_RANK, 0}, {"subspace dimension", C_FLAG_RANK, 0}, {"subspace rank", C_FLAG_RANK, 0},
    {"irls iteration", C_FLAG_ITERS, 0}, {"flag iteration", C_FLAG_ITERS, 0},
    {"dbscan eps", C_MUDHOG_EPS, 0}, {"dbscan radius", C_MUDHOG_EPS, 0}, {"mudhog eps", C_MUDHOG_EPS, 0},
    {"unreliable weight", C_MUDHOG_UW, 0}, {"weight of unreliable client", C_MUDHOG_UW, 0},
    {"frl sparsity", C_FRL_SPARSITY, 0}, {"supermask sparsity", C_FRL_SPARSITY, 0},
    {"mask sparsity", C_FRL_SPARSITY, 0},

    /* simulated attacks (attack.*) */
    {"sign flip", C_ATK_SIGN_FLIP, 0}, {"sign flipping", C_ATK_SIGN_FLIP, 0},
    {"sign flip attack", C_ATK_SIGN_FLIP, 0}, {"sign flipping attack", C_ATK_SIGN_FLIP, 0},
    {"scaling attack", C_ATK_SCALING, 0}, {"boosting attack", C_ATK_SCALING, 0}, {"scaling", C_ATK_SCALING, 0},
    {"boosting", C_ATK_SCALING, 0}, {"model replacement", C_ATK_SCALING, 0}, {"scaled update", C_ATK_SCALING, 0},
    {"noise attack", C_ATK_NOISE, 0}, {"gaussian noise attack", C_ATK_NOISE, 0},
    {"additive noise attack", C_ATK_NOISE, 0}, {"additive noise", C_ATK_NOISE, 0},
    {"label flip", C_ATK_LABEL_FLIP, 0}, {"label flipping", C_ATK_LABEL_FLIP, 0},
    {"label flipping attack", C_ATK_LABEL_FLIP, 0},
    {"backdoor", C_ATK_BACKDOOR, 0}, {"backdoor attack", C_ATK_BACKDOOR, 0}, {"trigger attack", C_ATK_BACKDOOR, 0},
    {"alie", C_ATK_ALIE, 0}, {"a little is enough", C_ATK_ALIE, 0}, {"little is enough", C_ATK_ALIE, 0},
    {"ipm", C_ATK_IPM, 0}, {"inner product manipulation", C_ATK_IPM, 0},
    {"no attack", C_NO_ATTACK, 0}, {"no attacker", C_NO_ATTACK, 0}, {"without attack", C_NO_ATTACK, 0},
    {"attacker fraction", C_ATK_FRACTION, 0}, {"fraction of attacker", C_ATK_FRACTION, 0},
    {"malicious fraction", C_ATK_FRACTION, 0}, {"fraction of malicious client", C_ATK_FRACTION, 0},
    {"attacker share", C_ATK_FRACTION, 0}, {"share of attacker", C_ATK_FRACTION, 0},
    {"attack scale", C_ATK_SCALE, 0}, {"attack strength", C_ATK_SCALE, 0}, {"boost factor", C_ATK_SCALE, 0},
    {"target class", C_ATK_TARGET, 0}, {"target label", C_ATK_TARGET, 0}, {"backdoor target", C_ATK_TARGET, 0},
    {"source class", C_ATK_SOURCE, 0}, {"source label", C_ATK_SOURCE, 0},
    {"poison fraction", C_POISON_FRACTION, 0}, {"poisoned fraction", C_POISON_FRACTION, 0},
    {"poisoning fraction", C_POISON_FRACTION, 0},
    {"unreliable fraction", C_UNRELIABLE, 0}, {"fraction of unreliable client", C_UNRELIABLE, 0},
    {"unreliable share", C_UNRELIABLE, 0}, {"share of unreliable client", C_UNRELIABLE, 0},
    {"attacker", C_ATTACKER, 0}, {"malicious client", C_ATTACKER, 0}, {"byzantine client", C_ATTACKER, 0},
    {"adversary", C_ATTACKER, 0}, {"malicious node", C_ATTACKER, 0}, {"byzantine node", C_ATTACKER, 0},
    {"unreliable client", C_UNRELIABLE_CLIENT, 0}, {"unreliable node", C_UNRELIABLE_CLIENT, 0},

    /* compression */
    {"bit", C_BIT, 0}, {"bit quantization", C_BIT, 0}, {"bit quantisation", C_BIT, 0},
    {"bit integer", C_BIT, 0}, {"bit precision", C_BIT, 0},
    {"quantize", C_QUANTIZE, 0}, {"quantise", C_QUANTIZE, 0}, {"quantization", C_QUANTIZE, 0},
    {"quantisation", C_QUANTIZE, 0}, {"quantized", C_QUANTIZE, 0}, {"quantised", C_QUANTIZE, 0},
    {"quantizing", C_QUANTIZE, 0}, {"uniform quantization", C_QUANTIZE, 0},
    {"stochastic quantization", C_QUANTIZE, 0},
    {"fp16", C_STAGE, STAGE_FP16}, {"half precision", C_STAGE, STAGE_FP16}, {"float16", C_STAGE, STAGE_FP16},
    {"half precision float", C_STAGE, STAGE_FP16}, {"half float", C_STAGE, STAGE_FP16},
    {"bf16", C_STAGE, STAGE_BF16}, {"bfloat16", C_STAGE, STAGE_BF16}, {"bfloat", C_STAGE, STAGE_BF16},
    {"brain float", C_STAGE, STAGE_BF16},
    {"int8", C_STAGE, STAGE_Q8}, {"q8", C_STAGE, STAGE_Q8}, {"int4", C_STAGE, STAGE_Q4},
    {"q4", C_STAGE, STAGE_Q4}, {"q2", C_STAGE, STAGE_Q2}, {"int2", C_STAGE, STAGE_Q2},
    {"sign", C_STAGE, STAGE_SIGN}, {"signsgd", C_STAGE, STAGE_SIGN}, {"sign sgd", C_STAGE, STAGE_SIGN},
    {"sign compression", C_STAGE, STAGE_SIGN},
    {"zstd", C_STAGE, STAGE_ZSTD}, {"zstandard", C_STAGE, STAGE_ZSTD}, {"lossless", C_STAGE, STAGE_ZSTD},
    {"lossless compression", C_STAGE, STAGE_ZSTD}, {"entropy coding", C_STAGE, STAGE_ZSTD},
    {"no compression", C_NO_COMPRESSION, 0}, {"uncompressed", C_NO_COMPRESSION, 0},
    {"without compression", C_NO_COMPRESSION, 0}, {"full precision", C_NO_COMPRESSION, 0},
    {"fp32", C_NO_COMPRESSION, 0}, {"float32", C_NO_COMPRESSION, 0},
    {"no quantization", C_NO_COMPRESSION, 0}, {"don't compress", C_NO_COMPRESSION, 0},
    {"do not compress", C_NO_COMPRESSION, 0}, {"turn off compression", C_NO_COMPRESSION, 0},
    {"disable compression", C_NO_COMPRESSION, 0}, {"switch off compression", C_NO_COMPRESSION, 0},
    {"compression off", C_NO_COMPRESSION, 0}, {"compression disabled", C_NO_COMPRESSION, 0},
    {"without any compression", C_NO_COMPRESSION, 0},
    {"compress", C_COMPRESS, 0}, {"compression", C_COMPRESS, 0}, {"compressed", C_COMPRESS, 0},
    {"compressing", C_COMPRESS, 0}, {"model compression", C_COMPRESS, 0},
    {"update compression", C_COMPRESS, 0}, {"codec", C_COMPRESS, 0},
    {"top", C_TOPK, 0}, {"topk", C_TOPK, 0}, {"top k", C_TOPK, 0}, {"top k sparsification", C_TOPK, 0},
    {"largest", C_TOPK, 0},
    {"randk", C_RANDK, 0}, {"random k", C_RANDK, 0}, {"rand k", C_RANDK, 0},
    {"random sparsification", C_RANDK, 0}, {"random k sparsification", C_RANDK, 0},
    {"random subset", C_RANDK, 0},
    {"sparsify", C_SPARSIFY, 0}, {"sparsification", C_SPARSIFY, 0}, {"sparse", C_SPARSIFY, 0},
    {"sparsified", C_SPARSIFY, 0}, {"sparsifying", C_SPARSIFY, 0},
    {"update", C_UP, 0}, {"upload", C_UP, 0}, {"uplink", C_UP, 0}, {"upstream", C_UP, 0},
    {"client update", C_UP, 0}, {"client to server", C_UP, 0}, {"gradient", C_UP, 0},
    {"model update", C_UP, 0}, {"client upload", C_UP, 0}, {"delta", C_UP, 0},
    {"download", C_DOWN, 0}, {"downlink", C_DOWN, 0}, {"downstream", C_DOWN, 0},
    {"broadcast", C_DOWN, 0}, {"server to client", C_DOWN, 0}, {"model broadcast", C_DOWN, 0},
    {"global model", C_DOWN, 0}, {"server send", C_DOWN, 0}, {"sent by the server", C_DOWN, 0},
    {"from the server", C_DOWN, 0}, {"to the client", C_DOWN, 0}, {"server broadcast", C_DOWN, 0},
    {"model download", C_DOWN, 0}, {"client send", C_UP, 0}, {"sent by the client", C_UP, 0},
    {"from the client", C_UP, 0}, {"to the server", C_UP, 0}, {"up", C_UP, 0}, {"down", C_DOWN, 0},
    {"both direction", C_BOTH, 0}, {"both way", C_BOTH, 0}, {"in both direction", C_BOTH, 0},
    {"up and down", C_BOTH, 0}, {"uplink and downlink", C_BOTH, 0},
    {"both uplink and downlink", C_BOTH, 0}, {"downlink and uplink", C_BOTH, 0},
    {"upload and download", C_BOTH, 0}, {"each direction", C_BOTH, 0}, {"either direction", C_BOTH, 0},
    {"two way", C_BOTH, 0}, {"bidirectional", C_BOTH, 0}, {"both link", C_BOTH, 0},

    /* naming, negation, phrases that only look like keywords */
    {"name", C_NAME_KW, 0}, {"named", C_NAME_KW, 0}, {"call", C_NAME_KW, 0}, {"called", C_NAME_KW, 0},
    {"title", C_NAME_KW, 0}, {"titled", C_NAME_KW, 0}, {"run name", C_NAME_KW, 0},
    {"task name", C_NAME_KW, 0}, {"catalogue", C_NAME_KW, 0}, {"catalog", C_NAME_KW, 0},
    {"save it as", C_NAME_KW, 0}, {"log it as", C_NAME_KW, 0}, {"tag it", C_NAME_KW, 0}, {"label it", C_NAME_KW, 0},
    {"not", C_NEGATION, 0}, {"no", C_NEGATION, 0}, {"don't", C_NEGATION, 0}, {"dont", C_NEGATION, 0},
    {"never", C_NEGATION, 0}, {"without", C_NEGATION, 0}, {"avoid", C_NEGATION, 0},
    {"do not", C_NEGATION, 0}, {"doesn't", C_NEGATION, 0}, {"shouldn't", C_NEGATION, 0},
    {"few", C_VAGUE, 0}, {"a few", C_VAGUE, 0}, {"several", C_VAGUE, 0}, {"many", C_VAGUE, 0},
    {"a handful of", C_VAGUE, 0}, {"handful of", C_VAGUE, 0}, {"lot of", C_VAGUE, 0}, {"lots of", C_VAGUE, 0},
    {"a bunch of", C_VAGUE, 0}, {"numerous", C_VAGUE, 0}, {"plenty of", C_VAGUE, 0},
    {"a couple of", C_VAGUE, 0}, {"couple of", C_VAGUE, 0}, {"a number of", C_VAGUE, 0},
    {"as many", C_VAGUE, 0}, {"enough", C_VAGUE, 0},
    {"until convergence", C_CONVERGE, 0}, {"till convergence", C_CONVERGE, 0},
    {"to convergence", C_CONVERGE, 0}, {"until it converge", C_CONVERGE, 0},
    {"until the model converge", C_CONVERGE, 0}, {"until converged", C_CONVERGE, 0},
    {"until convergent", C_CONVERGE, 0}, {"convergence", C_CONVERGE, 0}, {"converges", C_CONVERGE, 0},
    {"cosine", C_LR_COSINE, 0}, {"cosine annealing", C_LR_COSINE, 0}, {"cosine decay", C_LR_COSINE, 0},
    {"cosine schedule", C_LR_COSINE, 0}, {"cosine annealed", C_LR_COSINE, 0},
    {"cosine decayed", C_LR_COSINE, 0}, {"cosine anneal", C_LR_COSINE, 0},
    {"cosine learning rate", C_LR_COSINE, 0}, {"cosine lr", C_LR_COSINE, 0},
    {"step decay", C_LR_STEP, 0}, {"step schedule", C_LR_STEP, 0}, {"learning rate decay", C_LR_STEP, 0},
    {"lr decay", C_LR_STEP, 0}, {"decay the learning rate", C_LR_STEP, 0}, {"decay the lr", C_LR_STEP, 0},
    {"exponential decay", C_LR_STEP, 0}, {"warm up", C_WARMUP, 0}, {"warmup", C_WARMUP, 0},
    {"linear warm up", C_WARMUP, 0}, {"linear warmup", C_WARMUP, 0},
    {"early stopping", C_UNSUPPORTED, 0}, {"patience", C_UNSUPPORTED, 0},
    {"privacy budget", C_UNSUPPORTED, 1}, {"dp epsilon", C_UNSUPPORTED, 1},
    {"secure aggregation", C_UNSUPPORTED, 2}, {"homomorphic encryption", C_UNSUPPORTED, 2},
    {"data augmentation", C_UNSUPPORTED, 3}, {"augmentation", C_UNSUPPORTED, 3},
    {"validation split", C_UNSUPPORTED, 4}, {"validation set", C_UNSUPPORTED, 4},
    {"on top", C_FILLER_PHRASE, 0}, {"set up", C_FILLER_PHRASE, 0}, {"weighted average", C_FILLER_PHRASE, 0},
    {"in total", C_FILLER_PHRASE, 0}, {"as well", C_FILLER_PHRASE, 0}, {"for example", C_FILLER_PHRASE, 0},
    {"such as", C_FILLER_PHRASE, 0}, {"make sure", C_FILLER_PHRASE, 0}, {"so that", C_FILLER_PHRASE, 0},
    {"in order to", C_FILLER_PHRASE, 0}, {"whichever come first", C_FILLER_PHRASE, 0},
    {"whichever is first", C_FILLER_PHRASE, 0}, {"other than that", C_FILLER_PHRASE, 0},
    {"top of", C_FILLER_PHRASE, 0}, {"a lot", C_FILLER_PHRASE, 0}, {"no wait", C_FILLER_PHRASE, 0},
    {"if possible", C_FILLER_PHRASE, 0}, {"at all", C_FILLER_PHRASE, 0},
    {"the longest time", C_POL_AGE, 0},
    {NULL, C_NONE, 0},
};

/* Words with no meaning of their own, with the roles they may play between
 * a keyword and its value. */
typedef struct {
    const char *word;
    unsigned cls;
} stopword;

#define S W_STOP
#define F (W_STOP | W_FILL)
#define A (W_STOP | W_ADJ)
#define V (W_STOP | W_VERB)
static const stopword stopwords[] = {
    {"the", F | W_VERB}, {"a", F}, {"an", F}, {"of", F | W_VERB}, {"is", F | W_VERB}, {"are", F | W_VERB},
    {"to", F}, {"at", F}, {"be", F | W_VERB}, {"set", F}, {"around", F}, {"about", F}, {"roughly", F},
    {"approximately", F}, {"approx", F}, {"equal", F}, {"equals", F}, {"value", F}, {"with", F}, {"as", F},
    {"it", F}, {"its", F}, {"this", F}, {"that", F}, {"~", F}, {"like", F}, {"only", F | W_VERB},
    {"just", F | W_VERB}, {"exactly", F}, {"=", F}, {":", F}, {"(", F}, {"local", A}, {"global", A},
    {"total", A}, {"more", A}, {"training", A | W_VERB}, {"federated", A}, {"different", A}, {"separate", A},
    {"individual", A}, {"simulated", A}, {"mobile", A}, {"remote", A}, {"virtual", A},
    {"participating", A | W_VERB}, {"active", A | W_VERB}, {"full", A}, {"whole", A}, {"complete", A},
    {"extra", A}, {"additional", A}, {"independent", A}, {"distinct", A}, {"new", A}, {"random", A},
    {"sampled", A | W_VERB}, {"selected", A | W_VERB}, {"chosen", A | W_VERB}, {"picked", A | W_VERB},
    {"fl", A}, {"aggregation", A}, {"simulation", A}, {"train", V}, {"trains", V}, {"participate", V},
    {"participates", V}, {"join", V}, {"joins", V}, {"contribute", V}, {"contributes", V}, {"used", V},
    {"involved", V}, {"take", V}, {"part", V}, {"them", V}, {"those", V}, {"will", V}, {"should", V},
    {"get", V}, {"in", V}, {"randomly", V}, {"out", S}, {"i", S}, {"i'd", S}, {"i'm", S}, {"we", S},
    {"we're", S}, {"we'd", S}, {"you", S}, {"me", S}, {"my", S}, {"our", S}, {"us", S}, {"they", S},
    {"their", S}, {"these", S}, {"there", S}, {"here", S}, {"what", S}, {"which", S}, {"who", S},
    {"please", S}, {"pls", S}, {"kindly", S}, {"could", S}, {"would", S}, {"can", S}, {"shall", S},
    {"may", S}, {"might", S}, {"must", S}, {"do", S}, {"does", S}, {"did", S}, {"done", S}, {"doing", S},
    {"have", S}, {"has", S}, {"had", S}, {"having", S}, {"been", S}, {"being", S}, {"am", S}, {"was", S},
    {"were", S}, {"want", S}, {"wanted", S}, {"need", S}, {"needs", S}, {"let", S}, {"lets", S}, {"let's", S},
    {"try", S}, {"trying", S}, {"setup", S}, {"make", S}, {"makes", S}, {"sure", S}, {"go", S}, {"going", S},
    {"keep", S}, {"keeping", S}, {"give", S}, {"given", S}, {"run", S}, {"runs", S}, {"running", S},
    {"trained", S}, {"learn", S}, {"learning", S}, {"launch", S}, {"start", S}, {"use", S}, {"uses", S},
    {"using", S}, {"apply", S}, {"for", S}, {"on", S}, {"into", S}, {"onto", S}, {"over", S}, {"across", S},
    {"among", S}, {"amongst", S}, {"between", S}, {"from", S}, {"by", S}, {"via", S}, {"per", S}, {"each", S},
    {"every", S}, {"and", S}, {"or", S}, {"but", S}, {"then", S}, {"also", S}, {"plus", S}, {"so", S},
    {"too", S}, {"quite", S}, {"rather", S}, {"some", S}, {"any", S}, {"both", S}, {"either", S},
    {"other", S}, {"otherwise", S}, {"else", S}, {"defaults", S}, {"everything", S}, {"anything", S},
    {"nothing", S}, {"something", S}, {"fine", S}, {"ok", S}, {"okay", S}, {"well", S}, {"good", S},
    {"nice", S}, {"fancy", S}, {"simple", S}, {"thing", S}, {"things", S}, {"stuff", S}, {"way", S},
    {"time", S}, {"experiment", S}, {"task", S}, {"job", S}, {"session", S}, {"thanks", S}, {"thank", S},
    {"hi", S}, {"hello", S}, {"see", S}, {"how", S}, {"when", S}, {"after", S}, {"before", S}, {"while", S},
    {"whichever", S}, {"come", S}, {"first", S}, {"last", S}, {"than", S}, {"less", S}, {"fewer", S},
    {"most", S}, {"least", S}, {"much", S}, {"many", S}, {"lot", S}, {"lots", S}, {"few", S}, {"number", S},
    {"amount", S}, {"size", S}, {"own", S}, {"overall", S}, {"altogether", S}, {"maybe", S}, {"perhaps", S},
    {"actually", S}, {"wait", S}, {"yes", S}, {"now", S}, {"later", S}, {"soon", S}, {"again", S},
    {"still", S}, {"already", S}, {"mode", S}, {"setting", S}, {"settings", S}, {"parameter", S},
    {"parameters", S}, {"hyperparameter", S}, {"hyperparameters", S}, {"config", S}, {"configuration", S},
    {"option", S}, {"options", S}, {"baseline", S}, {"benchmark", S}, {"typical", S}, {"plain", S},
    {"compare", S}, {"versus", S}, {"vs", S}, {"paper", S}, {"similar", S}, {"same", S}, {"look", S},
    {"check", S}, {"show", S}, {"report", S}, {"measure", S}, {"log", S}, {"save", S}, {"store", S},
    {"stored", S}, {"located", S}, {"location", S}, {"file", S}, {"files", S}, {"disk", S}, {"machine", S},
    {"computer", S}, {"cluster", S}, {"simulate", S}, {"real", S}, {"deploy", S}, {"deployment", S},
    {"production", S}, {"along", S}, {"together", S}, {"side", S}, {"kind", S}, {"kinds", S}, {"type", S},
    {"types", S}, {"sort", S}, {"form", S}, {"version", S}, {"parts", S}, {"portion", S}, {"share", S},
    {"rest", S}, {"remaining", S}, {"etc", S}, {"eg", S}, {"ie", S}, {"additionally", S}, {"however", S},
    {"though", S}, {"although", S}, {"because", S}, {"since", S}, {"due", S}, {"reason", S}, {"thus", S},
    {"therefore", S}, {"hence", S}, {"goal", S}, {"aim", S}, {"objective", S}, {"priority", S},
    {"important", S}, {"matters", S}, {"care", S}, {"wish", S}, {"hope", S}, {"prefer", S}, {"choose", S},
    {"pick", S}, {"picks", S}, {"select", S}, {"selects", S}, {"sample", S}, {"hold", S}, {"holds", S},
    {"holding", S}, {"sees", S}, {"seeing", S}, {"contain", S}, {"contains", S}, {"containing", S},
    {"owns", S}, {"low", S}, {"cheap", S}, {"reduce", S}, {"reduced", S}, {"minimize", S}, {"minimise", S},
    {"saving", S}, {"limited", S}, {"expensive", S}, {"costly", S}, {"constrained", S}, {"scarce", S},
    {"tight", S}, {"cap", S}, {"capped", S}, {"drop", S}, {"skip", S}, {"slower", S}, {"anything", S},
    {"handle", S}, {"them", S}, {"doing", S}, {"over", S}, {"go", S}, {"spend", S}, {"instead", S},
    {"worth", S}, {"entry", S}, {"entries", S}, {"coordinate", S}, {"coordinates", S}, {"element", S},
    {"elements", S}, {"value", S}, {"everyone's", S}, {"turn", S}, {"chance", S}, {"powered", S},
    {"arrive", S}, {"arrives", S}, {"available", S}, {"ready", S}, {"aggregate", S}, {"aggregating", S},
    {"people", S}, {"person", S}, {"end", S}, {"finish", S}, {"finishes", S}, {"done", S}, {"optimizer", S},
    {"optimiser", S}, {"strategy", S}, {"algorithm", S}, {"method", S}, {"scheduling", S}, {"scheduler", S},
    {"selection", S}, {"sampling", S}, {"policy", S}, {"partition", S}, {"partitioning", S},
    {"partitioned", S}, {"split", S}, {"distribution", S}, {"distributed", S}, {"across", S},
    {"precision", S}, {"norm", S}, {"rate", S}, {"output", S}, {"input", S}, {"image", S}, {"picture", S},
    {"pictures", S}, {"example", S}, {"point", S}, {"points", S}, {"record", S}, {"records", S},
    {"prefer", S}, {"haven't", S}, {"hasn't", S}, {"weren't", S}, {"isn't", S}, {"fl", S}, {"locally", S},
    {"whether", S}, {"if", S}, {"where", S}, {"why", S}, {"whose", S}, {"whom", S}, {"then", S}, {"than", S},
    {"toward", S}, {"towards", S}, {"against", S}, {"through", S}, {"throughout", S}, {"during", S},
    {"within", S}, {"without", S}, {"upon", S}, {"link", S}, {"add", S}, {"idx", S}, {"up", S}, {"off", S},
    {"down", S}, {"neither", S}, {"nor", S}, {"change", S}, {"increase", S}, {"decrease", S}, {"raise", S},
    {"lower", S}, {"bump", S}, {"adjust", S}, {"double", S}, {"halve", S}, {"fix", S}, {"put", S}, {"cut", S},
    {"pool", S}, {"population", S}, {"shared", S}, {"fleet", S}, {"group", S}, {"enable", S}, {"switch", S}, {"total", S},
};
#undef S
#undef F
#undef A
#undef V

/* ---- compiled vocabulary ---- */

#define MAX_PHRASE_WORDS 6

typedef struct {
    const intent_phrase *ph;
    int nwords;
    const char *w[MAX_PHRASE_WORDS];
} compiled_phrase;

typedef struct {
    const char *word;
    unsigned cls;
} vocab_word;

static compiled_phrase *cphrases;
static int ncphrases;
static vocab_word *vocab;
static int nvocab;
static char *pool;

static int cmp_cphrase(const void *a, const void *b) {
    const compiled_phrase *x = a, *y = b;
    int c = strcmp(x->w[0], y->w[0]);
    if (c) return c;
    return y->nwords - x->nwords; /* longest first */
}

static int cmp_vocab(const void *a, const void *b) {
    return strcmp(((const vocab_word *)a)->word, ((const vocab_word *)b)->word);
}

static int count_phrases(const intent_phrase *p) {
    int n = 0;
    while (p[n].words) n++;
    return n;
}

static size_t pool_used;
static const char *pool_dup(const char *s, size_t n) {
    char *d = pool + pool_used;
    memcpy(d, s, n);
    d[n] = '\0';
    pool_used += n + 1;
    return d;
}

static void add_vocab(const char *w, unsigned cls) {
    vocab[nvocab].word = w;
    vocab[nvocab].cls = cls;
    nvocab++;
}

static void compile_list(const intent_phrase *list, int n) {
    for (int k = 0; k < n; k++) {
        compiled_phrase *cp = &cphrases[ncphrases++];
        cp->ph = &list[k];
        cp->nwords = 0;
        const char *s = list[k].words;
        while (*s && cp->nwords < MAX_PHRASE_WORDS) {
            while (*s == ' ') s++;
            const char *e = s;
            while (*e && *e != ' ') e++;
            if (e > s) {
                cp->w[cp->nwords++] = pool_dup(s, (size_t)(e - s));
                add_vocab(cp->w[cp->nwords - 1], W_KNOWN);
            }
            s = e;
        }
    }
}

static void build(void) {
    int np = count_phrases(phrases), ng = count_phrases(intent_goal_phrases);
    size_t chars = 0;
    for (int k = 0; k < np; k++) chars += strlen(phrases[k].words) + MAX_PHRASE_WORDS;
    for (int k = 0; k < ng; k++) chars += strlen(intent_goal_phrases[k].words) + MAX_PHRASE_WORDS;
    int nstop = (int)(sizeof stopwords / sizeof stopwords[0]);
    for (int f = 0; f < task_nfields; f++) chars += strlen(task_fields[f].path) + 8;
    int max_vocab = (np + ng) * MAX_PHRASE_WORDS + nstop + task_nfields * 4;
    cphrases = calloc((size_t)(np + ng), sizeof *cphrases);
    vocab = calloc((size_t)max_vocab, sizeof *vocab);
    pool = calloc(chars + 1, 1);
    if (!cphrases || !vocab || !pool) abort(); /* a few kB at start-up */
    compile_list(phrases, np);
    compile_list(intent_goal_phrases, ng);
    for (int k = 0; k < nstop; k++) add_vocab(stopwords[k].word, stopwords[k].cls | W_KNOWN);
    /* the words of every task-field name, so that "lamda" and "margn" are
     * repaired to the field they name */
    for (int f = 0; f < task_nfields; f++) {
        const char *p = task_fields[f].path;
        int words = 0;
        while (*p && words < 4) {
            size_t w = strcspn(p, "._-");
            if (w >= 4) {
                add_vocab(pool_dup(p, w), W_FIELD);
                words++;
            }
            p += w;
            if (*p) p++;
        }
    }
    qsort(cphrases, (size_t)ncphrases, sizeof *cphrases, cmp_cphrase);
    qsort(vocab, (size_t)nvocab, sizeof *vocab, cmp_vocab);
    /* merge duplicates, uniting their classes */
    int o = 0;
    for (int k = 0; k < nvocab; k++) {
        if (o > 0 && strcmp(vocab[o - 1].word, vocab[k].word) == 0)
            vocab[o - 1].cls |= vocab[k].cls;
        else
            vocab[o++] = vocab[k];
    }
    nvocab = o;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void ensure(void) {
    pthread_once(&once, build);
}

static const vocab_word *vocab_find(const char *w) {
    vocab_word key = {w, 0};
    return bsearch(&key, vocab, (size_t)nvocab, sizeof *vocab, cmp_vocab);
}

unsigned intent_word_class(const char *word) {
    ensure();
    const vocab_word *v = vocab_find(word);
    return v ? v->cls : 0;
}

int intent_concept_flags(concept_id c) {
    switch (c) {
    case C_CLIENT: case C_ROUND: case C_DATA: case C_MODEL: case C_SMALL: case C_LARGE:
    case C_STANDARD: case C_STRONG: case C_MILD: case C_MODERATE: case C_SERVER: case C_LOCAL:
    case C_UNTIL: case C_BUDGET: case C_CONNECTED: case C_AT_LEAST: case C_UP: case C_DOWN:
    case C_BOTH: case C_FILLER_PHRASE: case C_NEGATION: case C_TRACE: case C_ALL:
    case C_PER_ROUND: case C_UNIT: case C_QUANTIZE: case C_EVAL: case C_TEST_FILE:
    case C_ACCURACY: case C_CANDIDATE: case C_WAIT: case C_VAGUE:
        return CF_OPTIONAL;
    default:
        return 0;
    }
}

/* Damerau-Levenshtein distance is exactly 1 (one insertion, deletion,
 * substitution or swap of neighbours). Substitutions count only in words
 * of 6+ letters: among short words they turn English into keywords
 * ("night" -> "light"). */
static int distance_one(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la == lb) {
        size_t i = 0;
        while (i < la && a[i] == b[i]) i++;
        if (i == la) return 0;
        if (la >= 6 && strcmp(a + i + 1, b + i + 1) == 0) return 1; /* substitution */
        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && strcmp(a + i + 2, b + i + 2) == 0;
    }
    if (la + 1 == lb) return distance_one(b, a);
    if (la != lb + 1) return 0;
    size_t i = 0;
    while (i < lb && a[i] == b[i]) i++;
    return strcmp(a + i + 1, b + i) == 0; /* a has one extra letter at i */
}

static int alphabetic(const char *w) {
    for (; *w; w++)
        if (!((*w >= 'a' && *w <= 'z') || *w == '\'')) return 0;
    return 1;
}

/* Base form of w if it is a plural or possessive of a vocabulary word. */
static const char *singular(const char *w, char *buf, size_t cap) {
    size_t n = strlen(w);
    if (n + 1 > cap || n < 3) return NULL;
    const vocab_word *v;
    if (n > 2 && w[n - 2] == '\'' && w[n - 1] == 's') {
        memcpy(buf, w, n - 2);
        buf[n - 2] = '\0';
        if ((v = vocab_find(buf))) return v->word;
    }
    if (w[n - 1] == 's') {
        memcpy(buf, w, n - 1);
        buf[n - 1] = '\0';
        if ((v = vocab_find(buf))) return v->word;
        if (n > 3 && w[n - 2] == 'e') {
            buf[n - 2] = '\0';
            if ((v = vocab_find(buf))) return v->word;
            if (w[n - 3] == 'i') {
                buf[n - 3] = 'y';
                buf[n - 2] = '\0';
                if ((v = vocab_find(buf))) return v->word;
            }
        }
    }
    return NULL;
}

/* English words of four letters one letter away from a keyword ("hard":
 * shard, "ours": hours): words, not typos. */
static int common_short_word(const char *w) {
    static const char *const words[] = {"hard", "ours", "ever", "lone", "tops", "rand", "lass", "hose", "ache",
                                        "ache", "ages", "odes", "ones", "tent", "echo", "sole", "hums", "lass", NULL};
    for (int k = 0; words[k]; k++)
        if (!strcmp(w, words[k])) return 1;
    return 0;
}

/* A typo's candidate repair. */
typedef struct {
    const char *lemma;
    int kw, missing; /* a keyword; the typo lacks a letter of it */
    concept_id concept;
} cand;

/* Whether the candidates mean one thing (one lemma, or one concept); the
 * shortest lemma in *found. */
static int one_meaning(const cand *cs, int n, const char **found) {
    *found = cs[0].lemma;
    for (int k = 1; k < n; k++) {
        if (strcmp(cs[k].lemma, cs[0].lemma) != 0 && !(cs[k].concept && cs[k].concept == cs[0].concept)) return 0;
        if (strlen(cs[k].lemma) < strlen(*found)) *found = cs[k].lemma;
    }
    return 1;
}

/* The concept a word names on its own (a one-word phrase), or C_NONE. */
static concept_id word_concept(const char *w) {
    for (int k = 0; k < ncphrases; k++)
        if (cphrases[k].nwords == 1 && !strcmp(cphrases[k].w[0], w)) return cphrases[k].ph->concept;
    return C_NONE;
}

void intent_lexicon_normalise(intent_tok *t, int n) {
    ensure();
    for (int i = 0; i < n; i++) {
        if (t[i].kind != TK_WORD || t[i].merged) continue;
        char buf[TOK_TEXT];
        const vocab_word *known = vocab_find(t[i].text);
        if (known && known->cls != W_FIELD) continue;
        /* "zstd'd", "q8'd": a keyword made a verb with an apostrophe is the keyword */
        size_t tl = strlen(t[i].text);
        if (!known && tl > 3 && t[i].text[tl - 2] == '\'' && t[i].text[tl - 1] == 'd') {
            snprintf(buf, sizeof buf, "%.*s", (int)(tl - 2), t[i].text);
            if (vocab_find(buf) && !(vocab_find(buf)->cls & W_STOP)) {
                snprintf(t[i].text, TOK_TEXT, "%s", buf);
                continue;
            }
        }
        const char *base = singular(t[i].text, buf, sizeof buf);
        if (base && !(known && vocab_find(base)->cls == W_FIELD)) {
            snprintf(t[i].text, TOK_TEXT, "%s", base);
            continue;
        }
        if (known) continue; /* a field's own word ("lambda") */
        /* typo repair: words of 5+ letters one edit away from exactly one
         * vocabulary word (or its plural) of 4+ letters that starts with the
         * same letter; words of 4 letters only by a missing letter or two
         * swapped ones ("rund", "clas", "svnh"), and only towards keywords.
         * A repair must never create a meaning the user did not write:
         * misspellings seldom touch the first letter, while a word that
         * differs there is usually another word ("ubyte", the IDX file type,
         * is not "byte", which would turn on lossy compression). */
        size_t len = strlen(t[i].text);
        if (len < 4 || !alphabetic(t[i].text) || (len == 4 && common_short_word(t[i].text))) continue;
        /* candidates by lemma; a keyword beats a stopword ("participatns"
         * is "participants", not "participates"); a missing letter beats an
         * extra one ("secnds" is "seconds", not "sends"); candidates that
         * mean the same ("seeed": seed, seeded) are one */
        cand cs[8];
        int ncs = 0;
        for (int k = 0; k < nvocab && ncs < 8; k++) {
            const char *w = vocab[k].word;
            size_t lw = strlen(w);
            if (lw < 4 || lw + 2 < len || lw > len + 1 || w[0] != t[i].text[0]) continue;
            char plural[TOK_TEXT + 2];
            snprintf(plural, sizeof plural, "%s%s", w, "s");
            int as_word = distance_one(t[i].text, w), as_plural = lw + 1 < sizeof plural && distance_one(t[i].text, plural);
            if (!as_word && !as_plural) continue;
            int kw = !(vocab[k].cls & W_STOP);
            size_t lc = as_word ? lw : lw + 1;
            if (len == 4 && (!kw || lc < len)) continue;
            char sb[TOK_TEXT];
            const char *lemma = singular(w, sb, sizeof sb);
            if (!lemma) lemma = w;
            cs[ncs++] = (cand){lemma, kw, lc > len, word_concept(w)};
        }
        const char *found = NULL;
        int ambiguous = ncs > 0 && !one_meaning(cs, ncs, &found);
        if (ambiguous) {
            int o = 0, kw = 0;
            for (int k = 0; k < ncs; k++) kw |= cs[k].kw;
            for (int k = 0; k < ncs; k++)
                if (cs[k].kw == kw) cs[o++] = cs[k];
            ncs = o;
            ambiguous = !one_meaning(cs, ncs, &found);
        }
        if (ambiguous) {
            int o = 0, missing = 0;
            for (int k = 0; k < ncs; k++) missing |= cs[k].missing;
            for (int k = 0; k < ncs; k++)
                if (cs[k].missing == missing) cs[o++] = cs[k];
            ncs = o;
            ambiguous = !one_meaning(cs, ncs, &found);
        }
        if (found && !ambiguous) {
            snprintf(t[i].orig, TOK_TEXT, "%s", t[i].text);
            snprintf(t[i].text, TOK_TEXT, "%s", found);
            t[i].flags |= TK_CORRECTED;
        }
    }
}

static int tok_matches(const intent_tok *t, const char *w) {
    if (t->kind == TK_WORD || t->kind == TK_NUM || t->kind == TK_PUNCT) return strcmp(t->text, w) == 0;
    return 0;
}

int intent_phrase_match(const intent_tok *t, int n, int i, const intent_phrase **ph) {
    ensure();
    *ph = NULL;
    if (i >= n || (t[i].kind != TK_WORD && t[i].kind != TK_PUNCT && t[i].kind != TK_NUM)) return 0;
    /* binary search for the first phrase whose first word is the token */
    int lo = 0, hi = ncphrases;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(cphrases[mid].w[0], t[i].text) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int k = lo; k < ncphrases && strcmp(cphrases[k].w[0], t[i].text) == 0; k++) {
        const compiled_phrase *cp = &cphrases[k];
        if (i + cp->nwords > n) continue;
        int ok = 1;
        for (int m = 1; m < cp->nwords && ok; m++) ok = tok_matches(&t[i + m], cp->w[m]);
        if (ok) {
            *ph = cp->ph;
            return cp->nwords; /* sorted longest first */
        }
    }
    return 0;
}
