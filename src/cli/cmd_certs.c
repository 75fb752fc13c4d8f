/* fedc certs: the built-in CA (init), node credentials (issue-node) and
 * revocation (revoke). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fedc/certs.h"

static void usage(FILE *f) {
    fprintf(f, "usage: fedc certs init DIR [--host NAME ...]\n"
               "       fedc certs issue-node DIR [--name NAME] [--out FILE]\n"
               "       fedc certs revoke DIR NODE\n"
               "  init        creates a CA and a server certificate (valid for localhost, 127.0.0.1, ::1\n"
               "              and each --host) in DIR; `fedc server --certs DIR` uses them\n"
               "  issue-node  issues a node credential (certificate, key, CA) into FILE (default\n"
               "              NAME.pem), mode 0600; the node id is printed\n"
               "  revoke      refuses NODE (id or name) from its next connection attempt on; a\n"
               "              running server also disconnects it within seconds\n");
}

static int write_secret(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "fedc certs: cannot create %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (it exists; choose --out)" : "");
        return -1;
    }
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    if (close(fd) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "fedc certs: cannot write %s\n", path);
        unlink(path);
        return -1;
    }
    return 0;
}

int fedc_cmd_certs(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1], *dir = argv[2];
    fedc_error err;
    if (!strcmp(sub, "init")) {
        const char **hosts = calloc((size_t)argc, sizeof *hosts);
        if (!hosts) {
            fprintf(stderr, "fedc certs init: out of memory\n");
            return 1;
        }
        int nh = 0;
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "--host") && i + 1 < argc) hosts[nh++] = argv[++i];
            else {
                fprintf(stderr, "fedc certs init: unknown option %s\n", argv[i]);
                free(hosts);
                return 2;
            }
        }
        int rc = fedc_certs_init(dir, hosts, nh, &err);
        free(hosts);
        if (rc != 0) {
            fprintf(stderr, "fedc certs init: %s\n", err.msg);
            return 1;
        }
        printf("CA and server certificate created in %s\n", dir);
        return 0;
    }
    if (!strcmp(sub, "issue-node")) {
        const char *name = NULL, *out = NULL;
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
            else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
            else {
                fprintf(stderr, "fedc certs issue-node: unknown option %s\n", argv[i]);
                return 2;
            }
        }
        int64_t id;
        char *pem = NULL;
        if (fedc_certs_issue_node(dir, name, &id, &pem, &err) != 0) {
            fprintf(stderr, "fedc certs issue-node: %s\n", err.msg);
            return 1;
        }
        char path[1024];
        if (out) snprintf(path, sizeof path, "%s", out);
        else if (name && name[0]) snprintf(path, sizeof path, "%s.pem", name);
        else snprintf(path, sizeof path, "node-%lld.pem", (long long)id);
        int rc = write_secret(path, pem);
        free(pem);
        if (rc != 0) return 1;
        printf("node %lld credential written to %s\n", (long long)id, path);
        return 0;
    }
    if (!strcmp(sub, "revoke")) {
        if (argc != 4) {
            usage(stderr);
            return 2;
        }
        int64_t id;
        if (fedc_certs_revoke(dir, argv[3], &id, &err) != 0) {
            fprintf(stderr, "fedc certs revoke: %s\n", err.msg);
            return 1;
        }
        printf("node %lld revoked\n", (long long)id);
        return 0;
    }
    fprintf(stderr, "fedc certs: unknown subcommand %s\n", sub);
    usage(stderr);
    return 2;
}
