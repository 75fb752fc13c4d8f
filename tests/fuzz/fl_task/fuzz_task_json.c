/* Fuzz target: arbitrary bytes as task JSON (first- and all-errors paths)
 * and as a "path=value" override. Besides not crashing or leaking, a task
 * that parses must survive to_json -> from_json unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/task.h"
#include "fl/task/task_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_task t;
    fedc_error err;
    if (fedc_task_from_json((const char *)data, size, &t, &err) == 0) {
        char *json = fedc_task_to_json(&t, size & 1);
        if (!json) abort();
        fedc_task back;
        if (fedc_task_from_json(json, strlen(json), &back, &err) != 0 || !task_equal(&t, &back))
            abort();
        free(json);
    }

    fedc_task_issue *issues = NULL;
    int n = fedc_task_from_json_all((const char *)data, size, &t, &issues);
    if (n < 0 || (n == 0) != (issues == NULL)) abort();
    for (int i = 0; i < n; i++)
        if (strlen(issues[i].msg) == 0) abort();
    free(issues);

    /* The same bytes as an override of the default task. */
    if (size < 4096) {
        char *assignment = malloc(size + 1);
        if (!assignment) return 0;
        memcpy(assignment, data, size);
        assignment[size] = '\0';
        fedc_task_defaults(&t);
        fedc_task before = t;
        if (fedc_task_set(&t, assignment, &err) != 0 && !task_equal(&t, &before)) abort();
        free(assignment);
    }
    return 0;
}
