/*
 * sock.h - the control socket: a Unix stream socket serving line-delimited requests.
 *
 * The daemon's main lcore owns it and calls ctl_sock_poll() in its loop instead of
 * sleeping, so requests are served between the main lcore's other duties and never on
 * a worker. The socket only frames: it accepts up to CTL_SOCK_MAX_CLIENTS clients,
 * checks each peer's credentials (root, the daemon's own user, or a process that has
 * the configured group as its primary or one of its own supplementary groups), cuts
 * their input into lines of at most CTL_SOCK_REQ_MAX bytes and hands each line to a
 * handler, whose reply it queues back followed by a newline. What a line means (JSON,
 * commands) is ops.c's business. Nothing blocks: a client that does not read its
 * replies is not read from until it does, a client that sends CTL_SOCK_REQ_MAX bytes
 * without a newline gets an error and is closed, and silent clients neither stay
 * forever (idle timeout) nor keep a newcomer out (a full table gives the slot of the
 * longest-idle client to the newcomer). docs/control.md states the rules.
 */
#ifndef SIPHON_CTL_SOCK_H
#define SIPHON_CTL_SOCK_H

#include <stddef.h>

/** Clients served at once; a newcomer beyond takes an idle one's slot or is refused. */
#define CTL_SOCK_MAX_CLIENTS 64u
/** Longest request line, newline excluded. */
#define CTL_SOCK_REQ_MAX     65536u
/** Default idle timeout: a client that neither sends a byte nor takes one of its reply
 *  for this long is told so and closed. siphonctl needs milliseconds; an operator's
 *  interactive `socat` session gets a minute between commands. */
#define CTL_SOCK_IDLE_MS     60000u
/** Default eviction threshold: when every slot is taken, a permitted newcomer takes the
 *  slot of the client idle longest, provided it has been idle at least this long. A
 *  client in the middle of an exchange is never idle that long; a silent one is. */
#define CTL_SOCK_EVICT_MS    1000u

struct ctl_sock;

/**
 * Answer one request line (without its newline; not NUL-terminated).
 * @return a malloc'd NUL-terminated reply without newline (one line: no '\n' in it),
 *         which the socket frees; NULL closes the client.
 */
typedef char *(*ctl_sock_handler)(void *arg, const char *req, size_t len);

/**
 * Create and listen on the socket at path: its parent folder is created (0755) when
 * missing, a stale socket left by a dead daemon is replaced, a live one is not. The
 * socket file gets mode and group (a name: getgrnam()).
 * @return the socket, or NULL with one line in err.
 */
struct ctl_sock *ctl_sock_open(const char *path, unsigned mode, const char *group, char *err,
                               size_t errlen);

/**
 * Wait up to timeout_ms for activity, then accept, read, answer through fn(arg, ...)
 * and write what is ready. Never blocks longer than timeout_ms.
 */
void ctl_sock_poll(struct ctl_sock *cs, int timeout_ms, ctl_sock_handler fn, void *arg);

/**
 * Change the idle timeout and the eviction threshold of cs (both start at the defaults
 * above). idle_ms 0 disables the idle timeout; evict_ms 0 lets a newcomer always take
 * the longest-idle client's slot. Takes effect at the next ctl_sock_poll().
 */
void ctl_sock_set_timeouts(struct ctl_sock *cs, unsigned idle_ms, unsigned evict_ms);

/** Number of clients connected now. */
unsigned ctl_sock_clients(const struct ctl_sock *cs);

/** Close every client and the listener, and remove the socket file if it is still ours. */
void ctl_sock_close(struct ctl_sock *cs);

#endif /* SIPHON_CTL_SOCK_H */
