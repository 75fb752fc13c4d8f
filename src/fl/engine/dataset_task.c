/* The task's dataset fields (dataset.*) turned into the data layer's
 * dataset spec: one place that knows how a task names its data, for the
 * simulator, the server, the nodes, the tuner and fedc partition. */
#include <string.h>

#include "fedc/engine.h"

void fedc_task_dataset_spec(const fedc_task *t, fedc_dataset_spec *out) {
    memset(out, 0, sizeof *out);
    out->name = t->dataset.name;
    out->path = t->dataset.path[0] ? t->dataset.path : NULL;
    out->test_path = t->dataset.test_path;
    out->label_column = t->dataset.label_column;
    out->labels = t->dataset.labels;
    out->extra = t->dataset.extra;
    out->fetch = strcmp(t->dataset.fetch, "never") == 0 ? FEDC_FETCH_NEVER : FEDC_FETCH_AUTO;
    out->synthetic = (fedc_synthetic_config){.alpha = t->dataset.synthetic_alpha,
                                             .beta = t->dataset.synthetic_beta,
                                             .n_clients = t->clients,
                                             .seed = t->seed};
}

int fedc_task_dataset_load(const fedc_task *t, int train, const fedc_fetch_options *fetch_options,
                           fedc_dataset *out, fedc_error *err) {
    fedc_dataset_spec s;
    fedc_task_dataset_spec(t, &s);
    s.fetch_options = fetch_options;
    if (fedc_dataset_load(&s, train, out, err) != 0) return fedc_fail_prefix(err, "dataset: ");
    return 0;
}

int fedc_task_dataset_prepare(const fedc_task *t, const fedc_fetch_options *fetch_options, char *dir, size_t cap,
                              fedc_error *err) {
    fedc_dataset_spec s;
    fedc_task_dataset_spec(t, &s);
    s.fetch_options = fetch_options;
    if (fedc_dataset_prepare(&s, dir, cap, err) != 0) return fedc_fail_prefix(err, "dataset: ");
    return 0;
}
