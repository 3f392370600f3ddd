/*
 * test_sock.c - the control socket's framing, idle timeout, eviction and peer
 * credentials (control/sock.c), driven directly: sock.c is DPDK-free, so the test is
 * both the server (it calls ctl_sock_poll() itself, with an echo handler) and its
 * clients. Timeouts are injected short with ctl_sock_set_timeouts(); waits are loops
 * bounded against a hang, never a timing assertion. The credential tests fork children
 * that drop root (need root; skipped otherwise).
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sock.h"

#define POLL_MS    10  /* one server turn */
#define MAX_TURNS  500 /* 5 s of turns: a guard against a hang, not a threshold */
#define CLIENT_TMO 5   /* s: a child's blocking reads give up after this (a hang) */

static char dir[64];
static char path[96];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_sock.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	/* Children that drop root must reach the socket inside. */
	cr_assert_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(sock, .init = setup, .fini = teardown);

/* The handler: "ok:" and the request. */
static char *
echo(void *arg, const char *req, size_t len)
{
	char *r = malloc(len + 4);

	(void)arg;
	if (r == NULL)
		return NULL;
	memcpy(r, "ok:", 3);
	memcpy(r + 3, req, len);
	r[len + 3] = '\0';
	return r;
}

static struct ctl_sock *
open_sock(unsigned mode, const char *group)
{
	char err[256] = "";
	struct ctl_sock *cs = ctl_sock_open(path, mode, group, err, sizeof(err));

	cr_assert_not_null(cs, "ctl_sock_open: %s", err);
	return cs;
}

static int
connect_client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
	             strerror(errno));
	return fd;
}

static void
say(int fd, const char *line)
{
	cr_assert_eq(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
}

static bool
readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

/* Serve until fd has something to read (a reply, or EOF). */
static void
serve_until_readable(struct ctl_sock *cs, int fd)
{
	for (unsigned t = 0; t < MAX_TURNS && !readable(fd); t++)
		ctl_sock_poll(cs, POLL_MS, echo, NULL);
	cr_assert(readable(fd), "no reply within %u server turns", MAX_TURNS);
}

/* Everything fd holds now (it is readable), NUL-terminated; "" at EOF. */
static void
drain(int fd, char *buf, size_t n)
{
	size_t len = 0;

	while (len + 1 < n) {
		ssize_t r = recv(fd, buf + len, n - 1 - len, MSG_DONTWAIT);

		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
}

static bool
at_eof(int fd)
{
	char c;

	return readable(fd) && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

Test(sock, request_answered_in_order)
{
	struct ctl_sock *cs = open_sock(0660, "root");
	int fd = connect_client();
	char buf[256];

	/* CRLF and an empty line are framing, not requests. */
	say(fd, "one\ntwo\r\n\nthree\n");
	/* Three replies may come in more than one turn: collect until all are there. */
	buf[0] = '\0';
	for (unsigned t = 0; t < MAX_TURNS && strstr(buf, "ok:three\n") == NULL; t++) {
		char more[128];

		ctl_sock_poll(cs, POLL_MS, echo, NULL);
		drain(fd, more, sizeof(more));
		strncat(buf, more, sizeof(buf) - strlen(buf) - 1);
	}
	cr_assert_str_eq(buf, "ok:one\nok:two\nok:three\n");
	close(fd);
	ctl_sock_close(cs);
}

Test(sock, silent_client_dropped_after_idle_timeout)
{
	struct ctl_sock *cs = open_sock(0660, "root");
	int silent, fresh;
	char buf[256];

	ctl_sock_set_timeouts(cs, 50, CTL_SOCK_EVICT_MS);
	silent = connect_client();
	for (unsigned t = 0; t < MAX_TURNS && ctl_sock_clients(cs) == 0; t++)
		ctl_sock_poll(cs, POLL_MS, echo, NULL);
	cr_assert_eq(ctl_sock_clients(cs), 1, "the silent client is accepted");
	serve_until_readable(cs, silent);
	drain(silent, buf, sizeof(buf));
	cr_assert(strstr(buf, "\"ok\":false") != NULL && strstr(buf, "idle for 50 ms") != NULL,
	          "the silent client is told why: %s", buf);
	cr_assert_eq(ctl_sock_clients(cs), 0, "the silent client is closed");
	cr_assert(at_eof(silent) || !readable(silent), "nothing after the reason");
	close(silent);

	fresh = connect_client();
	say(fresh, "hello\n");
	serve_until_readable(cs, fresh);
	drain(fresh, buf, sizeof(buf));
	cr_assert_str_eq(buf, "ok:hello\n", "a new client is served");
	close(fresh);
	ctl_sock_close(cs);
}

Test(sock, talking_client_outlives_the_idle_timeout)
{
	struct ctl_sock *cs = open_sock(0660, "root");
	int fd = connect_client();
	char buf[64];

	/* Exchanges for 3.5 s outlast a 1 s timeout several times over, while no gap
	 * between two of them comes near it: a gap of a second would take a stall of the
	 * whole test (the CI machine's load once made 300 ms too tight). The clock only
	 * says when to stop; what is asserted is the replies. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ctl_sock_set_timeouts(cs, 1000, CTL_SOCK_EVICT_MS);
	for (unsigned i = 0;; i++) {
		say(fd, "ping\n");
		serve_until_readable(cs, fd);
		drain(fd, buf, sizeof(buf));
		cr_assert_str_eq(buf, "ok:ping\n", "exchange %u", i);
		ctl_sock_poll(cs, POLL_MS, echo, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= 3500)
			break;
	}
	cr_assert_eq(ctl_sock_clients(cs), 1);
	close(fd);
	ctl_sock_close(cs);
}

Test(sock, client_that_stops_reading_is_dropped)
{
	struct ctl_sock *cs = open_sock(0660, "root");
	int fd = connect_client();
	static char line[32768];
	bool accepted = false;

	/* It sends requests and never reads: the server stops reading it once a reply
	 * is stuck (back-pressure), its own sends then stop going through, and neither
	 * side moves a byte. That is idle too. */
	ctl_sock_set_timeouts(cs, 100, CTL_SOCK_EVICT_MS);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (unsigned t = 0; t < MAX_TURNS; t++) {
		(void)!send(fd, line, sizeof(line), MSG_DONTWAIT | MSG_NOSIGNAL);
		ctl_sock_poll(cs, POLL_MS, echo, NULL);
		accepted |= ctl_sock_clients(cs) == 1;
		if (accepted && ctl_sock_clients(cs) == 0)
			break;
	}
	cr_assert(accepted);
	cr_assert_eq(ctl_sock_clients(cs), 0, "a client that reads nothing is closed");
	close(fd);
	ctl_sock_close(cs);
}

/* Fill every slot with clients that say nothing; return their fds. */
static void
fill(struct ctl_sock *cs, int *fds)
{
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++)
		fds[i] = connect_client();
	for (unsigned t = 0; t < MAX_TURNS && ctl_sock_clients(cs) < CTL_SOCK_MAX_CLIENTS; t++)
		ctl_sock_poll(cs, POLL_MS, echo, NULL);
	cr_assert_eq(ctl_sock_clients(cs), CTL_SOCK_MAX_CLIENTS);
}

Test(sock, silent_clients_cannot_lock_out_a_new_one)
{
	struct ctl_sock *cs = open_sock(0660, "root");
	int fds[CTL_SOCK_MAX_CLIENTS], fresh, evicted = 0;
	char buf[256];

	/* No idle timeout: only the eviction can make room. */
	ctl_sock_set_timeouts(cs, 0, 20);
	fill(cs, fds);
	usleep(40 * 1000); /* every silent client is now idle past the 20 ms threshold */
	fresh = connect_client();
	say(fresh, "let me in\n");
	serve_until_readable(cs, fresh);
	drain(fresh, buf, sizeof(buf));
	cr_assert_str_eq(buf, "ok:let me in\n", "the newcomer is served");
	cr_assert_eq(ctl_sock_clients(cs), CTL_SOCK_MAX_CLIENTS);
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++) {
		if (!readable(fds[i]))
			continue;
		drain(fds[i], buf, sizeof(buf));
		cr_assert(strstr(buf, "closed to serve a new client") != NULL, "evicted: %s", buf);
		evicted++;
	}
	cr_assert_eq(evicted, 1, "exactly one silent client yields its slot");
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++)
		close(fds[i]);
	close(fresh);
	ctl_sock_close(cs);
}

Test(sock, busy_clients_are_not_evicted)
{
	struct ctl_sock *cs = open_sock(0660, "root");
	int fds[CTL_SOCK_MAX_CLIENTS], fresh;
	char buf[256];

	/* Nobody is idle for a minute here: a newcomer finds the table full. */
	ctl_sock_set_timeouts(cs, 0, 60000);
	fill(cs, fds);
	fresh = connect_client();
	serve_until_readable(cs, fresh);
	drain(fresh, buf, sizeof(buf));
	cr_assert(strstr(buf, "too many clients") != NULL, "newcomer refused: %s", buf);
	cr_assert_eq(ctl_sock_clients(cs), CTL_SOCK_MAX_CLIENTS);
	for (unsigned i = 0; i < CTL_SOCK_MAX_CLIENTS; i++) {
		cr_assert(!readable(fds[i]), "client %u kept", i);
		close(fds[i]);
	}
	close(fresh);
	ctl_sock_close(cs);
}

/* ---- peer credentials ---- */

struct ids {
	uid_t uid;  /* an unprivileged user */
	gid_t gid;  /* its primary group */
	gid_t sock; /* a group it is not in, by the group database or otherwise */
	char sock_name[64];
};

/* nobody, and a group whose database entry does not list it: only setgroups() can
 * put nobody in it. */
static void
find_ids(struct ids *id)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr;
	bool found = false;

	if (geteuid() != 0)
		cr_skip_test("needs root to set a child's groups");
	cr_assert_not_null(pw, "no user nobody");
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	setgrent();
	while (!found && (gr = getgrent()) != NULL) {
		bool member = false;

		for (char **m = gr->gr_mem; *m != NULL; m++)
			member |= strcmp(*m, "nobody") == 0;
		if (gr->gr_gid == 0 || gr->gr_gid == id->gid || member)
			continue;
		id->sock = gr->gr_gid;
		snprintf(id->sock_name, sizeof(id->sock_name), "%s", gr->gr_name);
		found = true;
	}
	endgrent();
	cr_assert(found, "no group without nobody in it");
}

/* Child: become nobody with exactly the given supplementary groups, send one request
 * and classify the answer. Exit 0: served, 1: refused (permission denied), 2 and up:
 * the test itself broke. */
static void
child(const struct ids *id, const gid_t *groups, size_t ng)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CLIENT_TMO};
	char buf[512];
	ssize_t n;
	size_t len = 0;
	int fd;

	if (setgroups(ng, groups) != 0 || setgid(id->gid) != 0 || setuid(id->uid) != 0)
		_exit(2);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		_exit(3);
	/* A refused peer may be closed before it sends: its answer is queued anyway. */
	(void)!send(fd, "who\n", 4, MSG_NOSIGNAL);
	while (len + 1 < sizeof(buf) && (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0) {
		len += (size_t)n;
		if (buf[len - 1] == '\n')
			break;
	}
	buf[len] = '\0';
	if (strcmp(buf, "ok:who\n") == 0)
		_exit(0);
	if (strstr(buf, "permission denied") != NULL)
		_exit(1);
	_exit(5);
}

/* Serve until the child exits; its exit status. */
static int
run_child(struct ctl_sock *cs, const struct ids *id, const gid_t *groups, size_t ng)
{
	pid_t pid = fork();
	int status = 0;

	cr_assert_geq(pid, 0);
	if (pid == 0)
		child(id, groups, ng);
	for (unsigned t = 0; t < MAX_TURNS * 2; t++) {
		ctl_sock_poll(cs, POLL_MS, echo, NULL);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	cr_assert_fail("the child did not finish");
	return -1;
}

Test(sock, peer_given_the_group_by_setgroups_is_served)
{
	struct ids id;
	struct ctl_sock *cs;
	int rc;

	find_ids(&id);
	/* 0660: the file's permission lets the child in by that group alone, and so must
	 * the credential check, whatever the group database says. */
	cs = open_sock(0660, id.sock_name);
	rc = run_child(cs, &id, &id.sock, 1);
	cr_assert_eq(rc, 0, "nobody with group %s by setgroups(): exit %d (1: refused)",
	             id.sock_name, rc);
	ctl_sock_close(cs);
}

Test(sock, peer_without_the_group_is_refused)
{
	struct ids id;
	struct ctl_sock *cs;
	int rc;

	find_ids(&id);
	/* 0666: the file lets anyone connect, so the refusal is the credential check's. */
	cs = open_sock(0666, id.sock_name);
	rc = run_child(cs, &id, NULL, 0);
	cr_assert_eq(rc, 1, "nobody without group %s: exit %d (0: served)", id.sock_name, rc);
	cr_assert_eq(ctl_sock_clients(cs), 0, "the refused peer holds no slot");
	ctl_sock_close(cs);
}
