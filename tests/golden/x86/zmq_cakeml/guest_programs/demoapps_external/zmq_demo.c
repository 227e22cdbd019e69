/*
 * ZeroMQ demo programs for the zmq_samples guests: one source, one program per role
 * (ROLE_NAME).  Usage: <role> ENDPOINT [COUNT]
 *   (worker: worker ENDPOINT COUNT RESULTS)
 *   server: replies to COUNT requests on ENDPOINT (bind); client: sends them (connect)
 *   pub: publishes COUNT updates (bind); sub: receives COUNT of them (connect)
 *   source: pushes COUNT tasks (bind); worker: pulls COUNT tasks from ENDPOINT and pushes
 *   each to its third argument, RESULTS (connect both); sink: pulls COUNT results (bind)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", ROLE_NAME, what, zmq_strerror(zmq_errno()));
    return 1;
}

static void *open_socket(void *ctx, int type, const char *endpoint, int bind)
{
    void *s = zmq_socket(ctx, type);
    if (s != NULL && (bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint)) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int relay(void *in, void *out, int count, int reply)
{
    char buf[64];
    for (int i = 0; i < count; i++) {
        int n = zmq_recv(in, buf, sizeof buf, 0);
        void *to = reply ? in : out;
        size_t len = n > (int)sizeof buf ? sizeof buf : (size_t)n;
        if (n < 0 || (to != NULL && zmq_send(to, buf, len, 0) < 0)) {
            return fail("relay");
        }
    }
    return 0;
}

static int produce(void *s, int count, int wait_reply)
{
    char buf[64];
    for (int i = 0; i < count; i++) {
        int n = snprintf(buf, sizeof buf, "%s %d", ROLE_NAME, i);
        if (zmq_send(s, buf, n, 0) < 0 || (wait_reply && zmq_recv(s, buf, sizeof buf, 0) < 0)) {
            return fail("send");
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ENDPOINT [COUNT]\n", ROLE_NAME);
        return 2;
    }
    const char *at = argv[1];
    int count = argc > 2 ? atoi(argv[2]) : 100;
    void *ctx = zmq_ctx_new();
    const char *role = ROLE_NAME;
    int bind = !strcmp(role, "server") || !strcmp(role, "pub") || !strcmp(role, "source")
               || !strcmp(role, "sink");
    int type = !strcmp(role, "server") ? ZMQ_REP : !strcmp(role, "client") ? ZMQ_REQ
               : !strcmp(role, "pub") ? ZMQ_PUB : !strcmp(role, "sub") ? ZMQ_SUB
               : !strcmp(role, "source") ? ZMQ_PUSH : ZMQ_PULL;
    void *s = open_socket(ctx, type, at, bind);
    if (s == NULL) {
        return fail(at);
    }
    int rc;
    if (type == ZMQ_SUB) {
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
        rc = relay(s, NULL, count, 0);
    } else if (type == ZMQ_REP) {
        rc = relay(s, s, count, 1);
    } else if (type == ZMQ_REQ || type == ZMQ_PUB || type == ZMQ_PUSH) {
        rc = produce(s, count, type == ZMQ_REQ);
    } else if (!strcmp(role, "worker")) {
        void *out = open_socket(ctx, ZMQ_PUSH, argc > 3 ? argv[3] : at, 0);
        rc = out == NULL ? fail("results endpoint") : relay(s, out, count, 0);
    } else {
        char buf[64];
        rc = 0;
        for (int i = 0; i < count && rc == 0; i++) {
            rc = zmq_recv(s, buf, sizeof buf, 0) < 0 ? fail("receive") : 0;
        }
    }
    printf("%s: %s after %d messages\n", role, rc ? "failed" : "done", count);
    zmq_close(s);
    zmq_ctx_destroy(ctx);
    return rc;
}
