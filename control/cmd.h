/*
 * cmd.h - the control socket's commands: what one request does.
 * Requests and replies are one line of JSON each; docs/control.md documents every
 * command. Changes go through gen_apply() (gen.h), so a command never changes the
 * running configuration any other way. Main lcore only.
 */
#ifndef SIPHON_CTL_CMD_H
#define SIPHON_CTL_CMD_H

#include <signal.h>
#include <stddef.h>

struct ann;

/**
 * Answer one request (a ctl_sock_handler; arg is the struct gen). Never fails to
 * reply: malformed JSON, an unknown command or bad arguments get {"ok":false,...}.
 * @return a malloc'd one-line JSON reply, or NULL when out of memory.
 */
char *cmd_handle(void *gen, const char *req, size_t len);

/**
 * What "show-announce" and "shutdown" act on: the announcer (NULL: not announcing) and
 * main.c's count of shutdown requests, which "shutdown" raises as a SIGTERM does (1:
 * withdraw and drain, 2: stop now). Call once, before the first request.
 */
void cmd_bind(struct ann *ann, volatile sig_atomic_t *term);

struct edge;

/**
 * The TLS/TCP edge that "show-edge", "tls-reload" and "reload" act on (control/edge.h);
 * NULL: no edge. Set after edge_start(), reset before edge_stop().
 */
void cmd_bind_edge(struct edge *e);

#endif /* SIPHON_CTL_CMD_H */
