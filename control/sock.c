/*
 * sock.c - the control socket (sock.h): listener, clients, framing, peer credentials,
 * idle timeout and eviction. Single-threaded by design: the main lcore polls it with a
 * short timeout, so the only shared state is what the handler touches, and nothing here
 * ever blocks. Invariant: a slot is either free (fd -1) or holds a permitted peer.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"

#define CTL_SOCK_GROUPS_STACK 64 /* peer groups read without malloc (more: on the heap) */

struct ctl_client {
	int fd;
	bool eof;         /* the peer sent everything: close once the last reply is written */
	uint64_t last_ms; /* monotonic: accepted, or last byte read or written */
	char *in;         /* CTL_SOCK_REQ_MAX + 1 bytes: a longest line and its newline */
	size_t in_len;
	char *out;
	size_t out_len, out_off;
};

struct ctl_sock {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file we bound: removed at close only if still ours */
	ino_t ino;
	gid_t gid;
	char group[64];
	unsigned nb;
	unsigned idle_ms;  /* 0: no idle timeout */
	unsigned evict_ms; /* idle time that makes a client yield its slot to a newcomer */
	struct ctl_client c[CTL_SOCK_MAX_CLIENTS];
};

static const char ctl_err_oversize[] = "{\"ok\":false,\"error\":\"request longer than 65536 "
                                       "bytes: closing the connection\"}\n";
static const char ctl_err_busy[] = "{\"ok\":false,\"error\":\"too many clients (64): try "
                                   "again later\"}\n";
static const char ctl_err_nomem[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";
static const char ctl_err_evicted[] = "{\"ok\":false,\"error\":\"idle while every client slot "
                                      "(64) was taken: closed to serve a new client\"}\n";

static uint64_t
ctl_sock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Make the parent folder of path when it is missing (one level, like /run/siphon). */
static int
ctl_sock_mkparent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &st) == 0)
		return 0;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create folder %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* A socket file at path: remove it when no daemon answers on it. @return 0 or -1. */
static int
ctl_sock_clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", sa->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s is served by another running daemon", sa->sun_path);
		return -1;
	}
	if (unlink(sa->sun_path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the stale socket %s: %s", sa->sun_path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

struct ctl_sock *
ctl_sock_open(const char *path, unsigned mode, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ctl_sock *cs;
	struct group gr, *grp = NULL;
	char grbuf[16384];
	struct stat st;
	mode_t um;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return NULL;
	}
	rc = getgrnam_r(group, &gr, grbuf, sizeof(grbuf), &grp);
	if (rc != 0 || grp == NULL) {
		if (rc != 0)
			snprintf(err, errlen, "cannot look group \"%s\" up: %s", group,
			         strerror(rc));
		else
			snprintf(err, errlen, "group \"%s\" does not exist", group);
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (cs == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cs->gid = grp->gr_gid;
	cs->idle_ms = CTL_SOCK_IDLE_MS;
	cs->evict_ms = CTL_SOCK_EVICT_MS;
	snprintf(cs->group, sizeof(cs->group), "%s", group);
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++)
		cs->c[i].fd = -1;
	cs->fd = -1;
	if (ctl_sock_mkparent(path, err, errlen) != 0 ||
	    ctl_sock_clear_stale(&sa, err, errlen) != 0)
		goto fail;
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cs->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* Nobody may connect between bind() and chmod(): bind with no permission at all. */
	um = umask(0777);
	rc = bind(cs->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(um);
	if (rc != 0) {
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (stat(path, &st) == 0) {
		cs->dev = st.st_dev;
		cs->ino = st.st_ino;
	}
	if (chown(path, (uid_t)-1, cs->gid) != 0) {
		snprintf(err, errlen, "cannot give %s to group \"%s\": %s", path, group,
		         strerror(errno));
		goto fail_unlink;
	}
	if (chmod(path, (mode_t)mode) != 0) {
		snprintf(err, errlen, "cannot chmod %s to %04o: %s", path, mode, strerror(errno));
		goto fail_unlink;
	}
	/* A full backlog makes connect() fail at once (EAGAIN) for non-blocking clients:
	 * room for as many pending connections as clients served. */
	if (listen(cs->fd, CTL_SOCK_MAX_CLIENTS) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto fail_unlink;
	}
	return cs;
fail_unlink:
	unlink(path);
fail:
	if (cs->fd >= 0)
		close(cs->fd);
	free(cs);
	return NULL;
}

/*
 * Whether the peer process has gid among its supplementary groups, as the kernel sees
 * them (what the socket file's permission check used), not as the group database lists
 * them: a service given the group by setgroups() (systemd SupplementaryGroups=) is
 * in it, a process that dropped it is not. SO_PEERGROUPS (Linux 4.13+) gives the groups
 * the peer had when it connected. Older kernels: /proc/PID/status, read now rather than
 * at connect time, so it is racy: a peer that changed its groups since, or exited and
 * had its PID reused, is judged by the groups of what has that PID now.
 * @return 1 in the group, 0 not, -1 cannot tell (why set).
 */
static int
ctl_sock_peer_has_group(int fd, pid_t pid, gid_t gid, char *why, size_t n)
{
	char path[64];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int found = -1;

/* CTL_SOCK_NO_PEERGROUPS: build the fallback alone, so that tests reach it. */
#if defined(SO_PEERGROUPS) && !defined(CTL_SOCK_NO_PEERGROUPS)
	gid_t small[CTL_SOCK_GROUPS_STACK], *g = small;
	socklen_t len = sizeof(small);
	int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len), err;

	if (rc != 0 && errno == ERANGE) { /* len now says how much is needed */
		g = malloc(len > 0 ? len : 1);
		if (g == NULL) {
			snprintf(why, n, "out of memory reading peer groups");
			return -1;
		}
		rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len);
	}
	if (rc == 0) {
		found = 0;
		for (size_t i = 0; i < len / sizeof(gid_t) && found == 0; i++)
			found = g[i] == gid;
	}
	err = errno;
	if (g != small)
		free(g);
	if (rc == 0)
		return found;
	if (err != ENOPROTOOPT) {
		snprintf(why, n, "cannot read peer groups: %s", strerror(err));
		return -1;
	}
#else
	(void)fd;
#endif
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(why, n, "cannot read peer groups from %s: %s", path, strerror(errno));
		return -1;
	}
	while (found < 0 && getline(&line, &cap, f) > 0) {
		char *p = line + 7, *e;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		found = 0;
		for (;;) {
			unsigned long v;

			errno = 0;
			v = strtoul(p, &e, 10);
			if (e == p || errno != 0)
				break;
			if ((gid_t)v == gid && v == (unsigned long)(gid_t)v)
				found = 1;
			p = e;
		}
	}
	free(line);
	fclose(f);
	if (found < 0)
		snprintf(why, n, "no Groups line in %s", path);
	return found;
}

/* Whether the peer may use the socket: root, the daemon's user, or a process whose
 * primary or supplementary groups include the socket's group. Sets why otherwise. */
static bool
ctl_sock_allowed(const struct ctl_sock *cs, int fd, char *why, size_t n)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	char err[200];
	int in;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
		snprintf(why, n, "cannot read peer credentials: %s", strerror(errno));
		return false;
	}
	if (uc.uid == 0 || uc.uid == geteuid() || uc.gid == cs->gid)
		return true;
	in = ctl_sock_peer_has_group(fd, uc.pid, cs->gid, err, sizeof(err));
	if (in == 1)
		return true;
	if (in < 0)
		snprintf(why, n, "permission denied: uid %u: %s", (unsigned)uc.uid, err);
	else
		snprintf(why, n,
		         "permission denied: uid %u is not root, not the daemon's user and not "
		         "in group \\\"%s\\\"",
		         (unsigned)uc.uid, cs->group);
	return false;
}

static void
ctl_client_close(struct ctl_sock *cs, struct ctl_client *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	*c = (struct ctl_client){.fd = -1};
	cs->nb--;
}

/* Best effort, for a client about to be dropped: one non-blocking send. */
static void
ctl_sock_say(int fd, const char *msg, size_t len)
{
	ssize_t rc = send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)rc;
}

/* When every slot is taken: the slot of the client idle longest, if it has been idle
 * at least evict_ms (it is told why and closed), else NULL. A silent client can thus
 * hold a slot only while no one else needs it. */
static struct ctl_client *
ctl_sock_evict(struct ctl_sock *cs, uint64_t now)
{
	struct ctl_client *victim = NULL;

	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++) {
		struct ctl_client *c = &cs->c[i];

		if (c->fd >= 0 && now - c->last_ms >= cs->evict_ms &&
		    (victim == NULL || c->last_ms < victim->last_ms))
			victim = c;
	}
	if (victim == NULL)
		return NULL;
	if (victim->out == NULL) /* else the line would land inside a reply */
		ctl_sock_say(victim->fd, ctl_err_evicted, sizeof(ctl_err_evicted) - 1);
	ctl_client_close(cs, victim);
	return victim;
}

static void
ctl_sock_accept(struct ctl_sock *cs, uint64_t now)
{
	for (;;) {
		int fd = accept4(cs->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		char why[256], msg[400];
		struct ctl_client *c = NULL;

		if (fd < 0)
			return; /* EAGAIN, or a client that left already */
		if (!ctl_sock_allowed(cs, fd, why, sizeof(why))) {
			size_t n = (size_t)snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"");

			/* why may quote a group or user name: escaped as a JSON string wants. */
			for (const char *p = why; *p != '\0' && n + 8 < sizeof(msg); p++) {
				unsigned char ch = (unsigned char)*p;

				if (ch == '"' || ch == '\\')
					n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\\%c", ch);
				else if (ch < 0x20)
					n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\\u%04x",
					                      ch);
				else
					msg[n++] = (char)ch;
			}
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\"}\n");
			ctl_sock_say(fd, msg, n);
			close(fd);
			continue;
		}
		for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS && c == NULL; i++)
			if (cs->c[i].fd < 0)
				c = &cs->c[i];
		if (c == NULL)
			c = ctl_sock_evict(cs, now);
		if (c == NULL) {
			ctl_sock_say(fd, ctl_err_busy, sizeof(ctl_err_busy) - 1);
			close(fd);
			continue;
		}
		c->in = malloc(CTL_SOCK_REQ_MAX + 1);
		if (c->in == NULL) {
			ctl_sock_say(fd, ctl_err_nomem, sizeof(ctl_err_nomem) - 1);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last_ms = now;
		cs->nb++;
	}
}

/* Write what is pending. @return false when the client is gone. */
static bool
ctl_client_flush(struct ctl_client *c, uint64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			return false;
		}
		c->out_off += (size_t)n;
		c->last_ms = now;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return true;
}

static bool
ctl_client_queue(struct ctl_client *c, char *reply, uint64_t now)
{
	size_t n = strlen(reply);
	char *out = malloc(n + 1);

	if (out == NULL) {
		free(reply);
		return false;
	}
	memcpy(out, reply, n);
	free(reply);
	out[n] = '\n';
	c->out = out;
	c->out_len = n + 1;
	c->out_off = 0;
	return ctl_client_flush(c, now);
}

/* Answer complete lines while the previous reply is fully written (a client that does
 * not read is not served further). After EOF the rest of the buffer is a last line.
 * @return false when the client must be closed now. */
static bool
ctl_client_serve(struct ctl_client *c, ctl_sock_handler fn, void *arg, uint64_t now)
{
	while (c->out == NULL) {
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t len, used;
		char *reply;

		if (nl != NULL) {
			len = (size_t)(nl - c->in);
			used = len + 1;
		} else if (c->eof && c->in_len > 0) {
			len = used = c->in_len;
		} else {
			break;
		}
		if (len > 0 && c->in[len - 1] == '\r')
			len--;
		/* An empty line is no request: skip it (keeps `nc` sessions forgiving). */
		reply = len > 0 ? fn(arg, c->in, len) : NULL;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (len == 0)
			continue;
		if (reply == NULL || !ctl_client_queue(c, reply, now))
			return false;
	}
	return true;
}

static bool
ctl_client_read(struct ctl_client *c, ctl_sock_handler fn, void *arg, uint64_t now)
{
	for (;;) {
		ssize_t n;

		if (c->out != NULL)
			return true; /* back-pressure: answer what is read first */
		/* Served lines are gone, so a full buffer holds no newline. */
		if (c->in_len == CTL_SOCK_REQ_MAX + 1) {
			ctl_sock_say(c->fd, ctl_err_oversize, sizeof(ctl_err_oversize) - 1);
			return false;
		}
		n = recv(c->fd, c->in + c->in_len, CTL_SOCK_REQ_MAX + 1 - c->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		if (n == 0) {
			c->eof = true;
			if (!ctl_client_serve(c, fn, arg, now))
				return false;
			return c->out != NULL; /* stay until the last reply is written */
		}
		c->in_len += (size_t)n;
		c->last_ms = now;
		if (!ctl_client_serve(c, fn, arg, now))
			return false;
	}
}

/* Close the clients that made no progress (no byte read or written) for idle_ms: the
 * ones that connect and say nothing, and the ones that stop reading their replies. */
static void
ctl_sock_expire(struct ctl_sock *cs, uint64_t now)
{
	char msg[128];
	int len;

	if (cs->idle_ms == 0)
		return;
	len = snprintf(msg, sizeof(msg),
	               "{\"ok\":false,\"error\":\"idle for %u ms: closing the connection\"}\n",
	               cs->idle_ms);
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++) {
		struct ctl_client *c = &cs->c[i];

		if (c->fd < 0 || now - c->last_ms < cs->idle_ms)
			continue;
		/* A client with a reply pending is not reading: the line goes nowhere. */
		if (c->out == NULL)
			ctl_sock_say(c->fd, msg, (size_t)len);
		ctl_client_close(cs, c);
	}
}

void
ctl_sock_poll(struct ctl_sock *cs, int timeout_ms, ctl_sock_handler fn, void *arg)
{
	struct pollfd pfd[CTL_SOCK_MAX_CLIENTS + 1];
	struct ctl_client *who[CTL_SOCK_MAX_CLIENTS + 1];
	nfds_t n = 0;
	uint64_t now;

	pfd[n] = (struct pollfd){.fd = cs->fd, .events = POLLIN};
	who[n++] = NULL;
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++) {
		struct ctl_client *c = &cs->c[i];

		if (c->fd < 0)
			continue;
		pfd[n] = (struct pollfd){.fd = c->fd,
		                         .events = (short)(c->out != NULL ? POLLOUT : POLLIN)};
		who[n++] = c;
	}
	if (poll(pfd, n, timeout_ms) < 0)
		return; /* EINTR: the caller polls again */
	now = ctl_sock_now_ms();
	for (nfds_t i = 1; i < n; i++) {
		struct ctl_client *c = who[i];
		bool ok = true;

		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].revents & POLLOUT) {
			ok = ctl_client_flush(c, now);
			/* Lines read while the reply was pending are served now. */
			if (ok && c->out == NULL)
				ok = ctl_client_serve(c, fn, arg, now);
			if (ok && c->out == NULL && c->eof)
				ok = false;
		}
		if (ok && (pfd[i].revents & POLLIN))
			ok = ctl_client_read(c, fn, arg, now);
		if (ok && (pfd[i].revents & (POLLERR | POLLNVAL)))
			ok = false;
		if (ok && (pfd[i].revents & POLLHUP) && !(pfd[i].revents & POLLIN))
			ok = false;
		if (!ok)
			ctl_client_close(cs, c);
	}
	ctl_sock_expire(cs, now);
	if (pfd[0].revents & POLLIN)
		ctl_sock_accept(cs, now);
}

void
ctl_sock_set_timeouts(struct ctl_sock *cs, unsigned idle_ms, unsigned evict_ms)
{
	cs->idle_ms = idle_ms;
	cs->evict_ms = evict_ms;
}

unsigned
ctl_sock_clients(const struct ctl_sock *cs)
{
	return cs != NULL ? cs->nb : 0;
}

void
ctl_sock_close(struct ctl_sock *cs)
{
	struct stat st;

	if (cs == NULL)
		return;
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++)
		if (cs->c[i].fd >= 0)
			ctl_client_close(cs, &cs->c[i]);
	close(cs->fd);
	/* Another daemon may have replaced a file we were told was stale: leave its own. */
	if (stat(cs->path, &st) == 0 && st.st_dev == cs->dev && st.st_ino == cs->ino)
		unlink(cs->path);
	free(cs);
}
