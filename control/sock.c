/*
 * sock.c - the control socket (sock.h): listener, clients, framing, peer credentials.
 * Single-threaded by design: the main lcore polls it with a short timeout, so the only
 * shared state is what the handler touches, and nothing here ever blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

#define CTL_SOCK_GROUPS_MAX 256 /* supplementary groups looked at per peer */

struct ctl_client {
	int fd;
	bool eof; /* the peer sent everything: close once the last reply is written */
	char *in; /* CTL_SOCK_REQ_MAX + 1 bytes: a longest line and its newline */
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
	struct ctl_client c[CTL_SOCK_MAX_CLIENTS];
};

static const char ctl_err_oversize[] = "{\"ok\":false,\"error\":\"request longer than 65536 "
                                       "bytes: closing the connection\"}\n";
static const char ctl_err_busy[] = "{\"ok\":false,\"error\":\"too many clients (64): try "
                                   "again later\"}\n";
static const char ctl_err_nomem[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";

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

/* Whether the peer may use the socket: root, the daemon's user, or the group's members
 * (primary group, or supplementary in the group database). Sets why otherwise. */
static bool
ctl_sock_allowed(const struct ctl_sock *cs, int fd, char *why, size_t n)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	gid_t groups[CTL_SOCK_GROUPS_MAX];
	int ng = CTL_SOCK_GROUPS_MAX;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
		snprintf(why, n, "cannot read peer credentials: %s", strerror(errno));
		return false;
	}
	if (uc.uid == 0 || uc.uid == geteuid() || uc.gid == cs->gid)
		return true;
	if (getpwuid_r(uc.uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL &&
	    getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) >= 0)
		for (int i = 0; i < ng; i++)
			if (groups[i] == cs->gid)
				return true;
	snprintf(why, n,
	         "permission denied: uid %u is not root, not the daemon's user and not in group "
	         "\\\"%s\\\"",
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

static void
ctl_sock_accept(struct ctl_sock *cs)
{
	for (;;) {
		int fd = accept4(cs->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		char why[256], msg[400];
		struct ctl_client *c = NULL;

		if (fd < 0)
			return; /* EAGAIN, or a client that left already */
		if (!ctl_sock_allowed(cs, fd, why, sizeof(why))) {
			int n = snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"%s\"}\n",
			                 why);

			ctl_sock_say(fd, msg, (size_t)n);
			close(fd);
			continue;
		}
		for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS && c == NULL; i++)
			if (cs->c[i].fd < 0)
				c = &cs->c[i];
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
		cs->nb++;
	}
}

/* Write what is pending. @return false when the client is gone. */
static bool
ctl_client_flush(struct ctl_client *c)
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
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return true;
}

static bool
ctl_client_queue(struct ctl_client *c, char *reply)
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
	return ctl_client_flush(c);
}

/* Answer complete lines while the previous reply is fully written (a client that does
 * not read is not served further). After EOF the rest of the buffer is a last line.
 * @return false when the client must be closed now. */
static bool
ctl_client_serve(struct ctl_client *c, ctl_sock_handler fn, void *arg)
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
		if (reply == NULL || !ctl_client_queue(c, reply))
			return false;
	}
	return true;
}

static bool
ctl_client_read(struct ctl_client *c, ctl_sock_handler fn, void *arg)
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
			if (!ctl_client_serve(c, fn, arg))
				return false;
			return c->out != NULL; /* stay until the last reply is written */
		}
		c->in_len += (size_t)n;
		if (!ctl_client_serve(c, fn, arg))
			return false;
	}
}

void
ctl_sock_poll(struct ctl_sock *cs, int timeout_ms, ctl_sock_handler fn, void *arg)
{
	struct pollfd pfd[CTL_SOCK_MAX_CLIENTS + 1];
	struct ctl_client *who[CTL_SOCK_MAX_CLIENTS + 1];
	nfds_t n = 0;

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
	if (poll(pfd, n, timeout_ms) <= 0)
		return;
	for (nfds_t i = 1; i < n; i++) {
		struct ctl_client *c = who[i];
		bool ok = true;

		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].revents & POLLOUT) {
			ok = ctl_client_flush(c);
			/* Lines read while the reply was pending are served now. */
			if (ok && c->out == NULL)
				ok = ctl_client_serve(c, fn, arg);
			if (ok && c->out == NULL && c->eof)
				ok = false;
		}
		if (ok && (pfd[i].revents & POLLIN))
			ok = ctl_client_read(c, fn, arg);
		if (ok && (pfd[i].revents & (POLLERR | POLLNVAL)))
			ok = false;
		if (ok && (pfd[i].revents & POLLHUP) && !(pfd[i].revents & POLLIN))
			ok = false;
		if (!ok)
			ctl_client_close(cs, c);
	}
	if (pfd[0].revents & POLLIN)
		ctl_sock_accept(cs);
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
