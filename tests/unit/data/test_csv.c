/* CSV loader: standardisation, integer and named labels, quoting and line
 * endings, train/test consistency through the schema, and clear errors
 * (line, column, file) for every kind of bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "data_test_util.h"
#include "fedc/data.h"


static int parse(const char *text, const char *label, fedc_dataset *d, fedc_csv_schema *s,
                 fedc_error *err) {
    memset(err, 0, sizeof *err);
    return fedc_parse_csv(text, strlen(text), "t.csv", label, NULL, d, s, err);
}

/* The error text of a CSV that must fail. */
static const char *parse_fails(const char *text, const char *label, fedc_error *err) {
    fedc_dataset d;
    fedc_csv_schema s;
    int rc = parse(text, label, &d, &s, err);
    if (rc == 0)
        print_error("parsed but should have failed:\n%s\n", text);
    assert_int_equal(rc, -1);
    assert_null(d.x);
    assert_null(s.mean);
    return err->msg;
}

static void test_standardised_features_and_integer_labels(void **state) {
    (void)state;
    const char *text = "a,label,b\n"
                       "1,0,10\n"
                       "2,2,10\n"
                       "3,1,10\n"
                       "6,2,10\n";
    fedc_dataset d;
    fedc_csv_schema s;
    fedc_error err;
    assert_int_equal(parse(text, "label", &d, &s, &err), 0);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.dim, 2);
    assert_int_equal(d.shape.c, 1);
    assert_int_equal(d.shape.h, 1);
    assert_int_equal(d.shape.w, 2);
    assert_int_equal(d.n_classes, 3);
    int32_t want_y[4] = {0, 2, 1, 2};
    assert_memory_equal(d.y, want_y, sizeof want_y);
    /* a: mean 3, population std sqrt(3.5); b is constant -> zeros. */
    double sd = sqrt(3.5);
    double want_a[4] = {-2 / sd, -1 / sd, 0, 3 / sd};
    for (int i = 0; i < 4; i++) {
        assert_float_equal(d.x[i * 2], want_a[i], 1e-6);
        assert_float_equal(d.x[i * 2 + 1], 0.0, 0);
    }
    assert_int_equal(s.n_features, 2);
    assert_string_equal(s.feature_names[0], "a");
    assert_string_equal(s.feature_names[1], "b");
    assert_float_equal(s.mean[0], 3.0, 1e-12);
    assert_float_equal(s.std[0], sd, 1e-12);
    assert_float_equal(s.std[1], 1.0, 0);
    assert_null(s.class_names);
    fedc_csv_schema_free(&s);
    fedc_dataset_free(&d);
}

static void test_named_labels_in_first_appearance_order(void **state) {
    (void)state;
    const char *text = "x,species\n1,setosa\n2,virginica\n3,setosa\n4,versicolor\n5,virginica\n";
    fedc_dataset d;
    fedc_csv_schema s;
    fedc_error err;
    assert_int_equal(parse(text, "species", &d, &s, &err), 0);
    assert_int_equal(d.n_classes, 3);
    int32_t want[5] = {0, 1, 0, 2, 1};
    assert_memory_equal(d.y, want, sizeof want);
    assert_non_null(s.class_names);
    assert_string_equal(s.class_names[0], "setosa");
    assert_string_equal(s.class_names[1], "virginica");
    assert_string_equal(s.class_names[2], "versicolor");
    fedc_csv_schema_free(&s);
    fedc_dataset_free(&d);
    /* Whole numbers written as floats are still class numbers; a mix with
     * a non-number makes every label a name. */
    assert_int_equal(parse("f,label\n1,1.0\n2,3\n", NULL, &d, &s, &err), 0);
    assert_int_equal(d.n_classes, 4);
    assert_int_equal(d.y[0], 1);
    assert_int_equal(d.y[1], 3);
    assert_null(s.class_names);
    fedc_csv_schema_free(&s);
    fedc_dataset_free(&d);
    assert_int_equal(parse("f,label\n1,-1\n2,1\n3,-1\n", NULL, &d, &s, &err), 0);
    assert_int_equal(d.n_classes, 2);
    assert_int_equal(d.y[0], 0);
    assert_int_equal(d.y[1], 1);
    assert_string_equal(s.class_names[0], "-1");
    fedc_csv_schema_free(&s);
    fedc_dataset_free(&d);
}

static void test_quoting_crlf_blank_lines_bom(void **state) {
    (void)state;
    const char *text = "\xEF\xBB\xBF\"first, col\" , \"say \"\"hi\"\"\",label\r\n"
                       "\r\n"
                       "  1.5 , \"2\",\"a,b\"\r\n"
                       "\n"
                       "-0.5,4e0,\"line\nbreak\"\r\n"
                       "   \n"
                       "1.5,0,\"a,b\"";
    fedc_dataset d;
    fedc_csv_schema s;
    fedc_error err;
    int rc = parse(text, NULL, &d, &s, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 3);
    assert_string_equal(s.feature_names[0], "first, col");
    assert_string_equal(s.feature_names[1], "say \"hi\"");
    assert_string_equal(s.class_names[0], "a,b");
    assert_string_equal(s.class_names[1], "line\nbreak");
    int32_t want[3] = {0, 1, 0};
    assert_memory_equal(d.y, want, sizeof want);
    assert_float_equal(s.mean[0], (1.5 - 0.5 + 1.5) / 3, 1e-12);
    assert_float_equal(s.mean[1], 2.0, 1e-12);
    fedc_csv_schema_free(&s);
    fedc_dataset_free(&d);
}

static void test_ragged_row(void **state) {
    (void)state;
    fedc_error err;
    const char *m = parse_fails("a,b,label\n1,2,0\n3,4,1\n5,1\n", NULL, &err);
    assert_msg_has(m, "t.csv: line 4 has 2 fields, the header has 3 columns");
    m = parse_fails("a,b,label\n1,2,0\n3,4,1,9\n", NULL, &err);
    assert_msg_has(m, "t.csv: line 3 has 4 fields");
}

static void test_non_numeric_and_empty_cells(void **state) {
    (void)state;
    fedc_error err;
    const char *m = parse_fails("a,petal_width,label\n1,2,0\n3,abc,1\n", NULL, &err);
    assert_msg_has(m, "t.csv: line 3, column 2 ('petal_width'): 'abc' is not a number");
    m = parse_fails("a,b,label\n1,,0\n", NULL, &err);
    assert_msg_has(m, "line 2, column 2 ('b'): '' is empty");
    m = parse_fails("a,b,label\n1,nan,0\n", NULL, &err);
    assert_msg_has(m, "'nan' is not a finite number");
    m = parse_fails("a,b,label\n1,1e999,0\n", NULL, &err);
    assert_msg_has(m, "'1e999' is not a finite number");
    m = parse_fails("a,b,label\n1,2 3,0\n", NULL, &err);
    assert_msg_has(m, "'2 3' is not a number");
    m = parse_fails("a,b,label\n1,2,\n", NULL, &err);
    assert_msg_has(m, "line 2, column 3 ('label'): '' is an empty label");
}

static void test_header_problems(void **state) {
    (void)state;
    fedc_error err;
    const char *m = parse_fails("a,b,target\n1,2,0\n", "label", &err);
    assert_msg_has(m, "t.csv: no label column named 'label' in the header (columns: a, b, target)");
    m = parse_fails("a,b,a,label\n1,2,3,0\n", NULL, &err);
    assert_msg_has(m, "duplicate column name 'a' (columns 1 and 3)");
    m = parse_fails("a,,label\n1,2,0\n", NULL, &err);
    assert_msg_has(m, "header column 2 has an empty name");
    m = parse_fails("label\n1\n2\n", NULL, &err);
    assert_msg_has(m, "no feature columns");
    m = parse_fails("a,label\n", NULL, &err);
    assert_msg_has(m, "no data rows");
    m = parse_fails("\n\n  \n", NULL, &err);
    assert_msg_has(m, "empty file: no header row");
    m = parse_fails("a,label\n1,cat\n2,cat\n", NULL, &err);
    assert_msg_has(m, "single class ('cat')");
}

static void test_quote_errors(void **state) {
    (void)state;
    fedc_error err;
    const char *m = parse_fails("a,label\n1,\"open\n2,0\n", NULL, &err);
    assert_msg_has(m, "t.csv: line 2, column 2: quoted field is never closed");
    m = parse_fails("a,label\n\"1\"x,0\n", NULL, &err);
    assert_msg_has(m, "line 2, column 1: unexpected 'x' after the closing quote");
}

static void test_bounds(void **state) {
    (void)state;
    fedc_error err;
    /* One more column than allowed. */
    size_t cols = FEDC_CSV_MAX_COLUMNS + 1;
    char *wide = malloc(cols * 8 + 16);
    size_t o = 0;
    for (size_t c = 0; c < cols; c++)
        o += (size_t)sprintf(wide + o, c ? ",c%zu" : "c%zu", c);
    strcpy(wide + o, "\n");
    const char *m = parse_fails(wide, NULL, &err);
    assert_msg_has(m, "line 1: more than 65536 columns");
    free(wide);
    /* A record longer than the line limit. */
    size_t n = FEDC_CSV_MAX_LINE + 100;
    char *longline = malloc(n + 32);
    strcpy(longline, "a,label\n");
    memset(longline + 8, '1', n);
    strcpy(longline + 8 + n, ",0\n");
    m = parse_fails(longline, NULL, &err);
    assert_msg_has(m, "line 2: record longer than");
    free(longline);
}

static void test_train_test_schema(void **state) {
    test_dir *t = *state;
    char tr[512], te[512];
    test_path(t, "train.csv", tr, sizeof tr);
    test_path(t, "test.csv", te, sizeof te);
    assert_int_equal(test_write_str(tr, "h,w,kind\n1,10,dog\n3,30,cat\n5,20,dog\n"), 0);
    /* Columns in another order; values off the training mean. */
    assert_int_equal(test_write_str(te, "kind,w,h\ncat,40,7\ndog,20,3\n"), 0);
    fedc_dataset dtr, dte;
    fedc_csv_schema s;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_csv_train(tr, "kind", &dtr, &s, &err), 0);
    assert_int_equal(fedc_load_csv_test(te, "kind", &s, &dte, &err), 0);
    assert_int_equal(dte.n, 2);
    assert_int_equal(dte.n_classes, 2);
    assert_int_equal(dte.y[0], 1); /* cat is class 1: second to appear in training */
    assert_int_equal(dte.y[1], 0);
    double sd_h = sqrt(8.0 / 3), sd_w = sqrt(200.0 / 3);
    assert_float_equal(dte.x[0], (7 - 3) / sd_h, 1e-5);
    assert_float_equal(dte.x[1], (40 - 20) / sd_w, 1e-5);
    assert_float_equal(dte.x[2], 0, 1e-6);
    assert_float_equal(dte.x[3], 0, 1e-6);
    fedc_dataset_free(&dte);

    /* The named open reads train then test the same way. */
    assert_int_equal(fedc_dataset_open("csv", tr, te, "kind", 0, &dte, &err), 0);
    assert_float_equal(dte.x[0], (7 - 3) / sd_h, 1e-5);
    assert_int_equal(dte.y[0], 1);
    fedc_dataset_free(&dte);
    assert_int_equal(fedc_dataset_open("csv", tr, te, "kind", 1, &dte, &err), 0);
    assert_int_equal(dte.n, 3);
    assert_memory_equal(dte.x, dtr.x, 6 * sizeof(float));
    fedc_dataset_free(&dte);
    assert_int_equal(fedc_dataset_open("csv", tr, NULL, "kind", 0, &dte, &err), -1);
    assert_msg_has(err.msg, "csv: the test set needs test_path");

    /* Mismatches with the training file. */
    assert_int_equal(test_write_str(te, "kind,w,h\nbird,40,7\n"), 0);
    assert_int_equal(fedc_load_csv_test(te, "kind", &s, &dte, &err), -1);
    assert_msg_has(err.msg, te);
    assert_msg_has(err.msg,
                   "line 2, column 1 ('kind'): 'bird' is a label the training data does not have");
    assert_int_equal(test_write_str(te, "kind,w\ncat,40\n"), 0);
    assert_int_equal(fedc_load_csv_test(te, "kind", &s, &dte, &err), -1);
    assert_msg_has(err.msg, "missing feature column 'h' of the training data");
    assert_int_equal(test_write_str(te, "kind,w,h,extra\ncat,40,1,2\n"), 0);
    assert_int_equal(fedc_load_csv_test(te, "kind", &s, &dte, &err), -1);
    assert_msg_has(err.msg, "column 4 'extra' is not a feature of the training data");
    fedc_csv_schema_free(&s);
    fedc_dataset_free(&dtr);

    /* Integer classes: the test labels must be among the training classes. */
    assert_int_equal(test_write_str(tr, "a,label\n1,0\n2,1\n3,2\n"), 0);
    assert_int_equal(test_write_str(te, "a,label\n1,3\n"), 0);
    assert_int_equal(fedc_load_csv_train(tr, NULL, &dtr, &s, &err), 0);
    assert_int_equal(fedc_load_csv_test(te, NULL, &s, &dte, &err), -1);
    assert_msg_has(err.msg, "'3' is not a class of the training data (0..2)");
    fedc_csv_schema_free(&s);
    fedc_dataset_free(&dtr);
}

static void test_errors_name_the_file(void **state) {
    test_dir *t = *state;
    char p[512];
    test_path(t, "bad.csv.gz", p, sizeof p);
    const char *text = "a,label\n1,0\nx,1\n";
    assert_int_equal(test_write_gz(p, text, strlen(text)), 0);
    fedc_dataset d;
    fedc_error err = {{0}};
    assert_int_equal(fedc_load_csv(p, NULL, &d, &err), -1);
    assert_msg_has(err.msg, p);
    assert_msg_has(err.msg, "line 3, column 1 ('a'): 'x' is not a number");
    assert_int_equal(fedc_load_csv("/nonexistent/fedc.csv", NULL, &d, &err), -1);
    assert_msg_has(err.msg, "/nonexistent/fedc.csv: cannot open");
    assert_int_equal(fedc_dataset_open("csv", "", NULL, NULL, 1, &d, &err), -1);
    assert_msg_has(err.msg, "csv: needs the path");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standardised_features_and_integer_labels),
        cmocka_unit_test(test_named_labels_in_first_appearance_order),
        cmocka_unit_test(test_quoting_crlf_blank_lines_bom),
        cmocka_unit_test(test_ragged_row),
        cmocka_unit_test(test_non_numeric_and_empty_cells),
        cmocka_unit_test(test_header_problems),
        cmocka_unit_test(test_quote_errors),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test_setup_teardown(test_train_test_schema, test_dir_setup, test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_file, test_dir_setup, test_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
