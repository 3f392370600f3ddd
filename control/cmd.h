/*
 * cmd.h - the control socket's commands: what one request does.
 * Requests and replies are one line of JSON each; docs/control.md documents every
 * command. Changes go through gen_apply() (gen.h), so a command never changes the
 * running configuration any other way. Main lcore only.
 */
#ifndef SIPHON_CTL_CMD_H
#define SIPHON_CTL_CMD_H

#include <stddef.h>

/**
 * Answer one request (a ctl_sock_handler; arg is the struct gen). Never fails to
 * reply: malformed JSON, an unknown command or bad arguments get {"ok":false,...}.
 * @return a malloc'd one-line JSON reply, or NULL when out of memory.
 */
char *cmd_handle(void *gen, const char *req, size_t len);

#endif /* SIPHON_CTL_CMD_H */
