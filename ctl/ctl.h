/*
 * ctl.h - siphonctl's private interface between the dispatcher (siphonctl.c) and its
 * subcommands (scan.c; client.c, the control socket commands).
 *
 * main() looks the first argument up in a table of struct ctl_cmd and hands the rest of
 * the command line to that command's run(). Every command keeps one exit-code contract so
 * scripts can tell a bad invocation from a failed run: 0 done, 1 runtime or input error
 * (unreadable file, bad configuration, malformed input; for the control socket commands,
 * the daemon refused), 2 usage error (unknown option, missing argument), and for the
 * control socket commands 3: the daemon cannot be reached. Messages go to stderr,
 * results to stdout.
 */
#ifndef SIPHON_CTL_H
#define SIPHON_CTL_H

#include <stdio.h>

#define CTL_EXIT_OK      0 /**< success */
#define CTL_EXIT_ERR     1 /**< runtime or input error */
#define CTL_EXIT_USAGE   2 /**< bad command line */
#define CTL_EXIT_CONNECT 3 /**< control socket commands: the daemon cannot be reached */

/** One subcommand. */
struct ctl_cmd {
	const char *name;    /**< what the user types: "scan" */
	const char *summary; /**< one line for the command list */
	/**
	 * Run the command. argv[0] is the command name, as for getopt(); argv[argc] is NULL.
	 * @return a CTL_EXIT_* code.
	 */
	int (*run)(int argc, char **argv);
	/** Print the command's full help to out. */
	void (*usage)(FILE *out);
};

/** Name every message starts with. */
#define CTL_PROG "siphonctl"

/* scan.c: explain a capture or a SIP message packet by packet. */
int scan_run(int argc, char **argv);
void scan_usage(FILE *out);

/* client.c: the control socket commands (docs/control.md). Exit codes: CTL_EXIT_ERR when
 * the daemon refused, CTL_EXIT_CONNECT when it cannot be reached. */
extern const char *ctl_client_socket; /**< --socket PATH given before the command, or NULL */
extern int ctl_client_json;           /**< --json given before the command */
int show_run(int argc, char **argv);
void show_usage(FILE *out);
int backend_run(int argc, char **argv);
void backend_usage(FILE *out);
int acl_run(int argc, char **argv);
void acl_usage(FILE *out);
int rules_run(int argc, char **argv);
void rules_usage(FILE *out);
int reload_run(int argc, char **argv);
void reload_usage(FILE *out);
int tls_run(int argc, char **argv);
void tls_usage(FILE *out);
int shutdown_run(int argc, char **argv);
void shutdown_usage(FILE *out);
int log_level_run(int argc, char **argv);
void log_level_usage(FILE *out);
int dispatch_run(int argc, char **argv);
void dispatch_usage(FILE *out);

#endif /* SIPHON_CTL_H */
