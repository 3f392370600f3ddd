/*
 * siphonctl.c - the operator CLI's entry point: a dispatcher over a table of subcommands.
 *
 * `siphonctl COMMAND [ARGS]` finds COMMAND in ctl_cmds[] and runs it with the remaining
 * arguments (see ctl.h for the contract every command keeps, exit codes included). Adding a
 * command means writing its run() and usage() in their own file and adding one row here;
 * help, the command list and the error paths follow. --socket and --json, the options of
 * the control socket commands (client.c), may also come before the command.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void help_usage(FILE *out);
static int help_run(int argc, char **argv);

static const struct ctl_cmd ctl_cmds[] = {
        {"scan", "explain a capture or SIP message: scanner verdict and backend per packet",
         scan_run, scan_usage},
        {"show",
         "show the daemon's VIPs, groups, backends, stats, configuration, announcement, edge "
         "or mirror",
         show_run, show_usage},
        {"backend", "add or remove a backend, set its weight or state", backend_run, backend_usage},
        {"acl", "add or remove a prefix of a VIP's trusted or blocked tier", acl_run, acl_usage},
        {"rules", "load a list of operator rules or remove one", rules_run, rules_usage},
        {"reload", "make the daemon reload its configuration file", reload_run, reload_usage},
        {"tls", "make the daemon's TLS edge reload its certificates", tls_run, tls_usage},
        {"shutdown", "withdraw the VIPs, drain, then stop the daemon", shutdown_run,
         shutdown_usage},
        {"log-level", "set the daemon's log level", log_level_run, log_level_usage},
        {"dispatch", "which backend the daemon sends a Call-ID to", dispatch_run, dispatch_usage},
        {"help", "show the help of a command", help_run, help_usage},
};

#define CTL_NB_CMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static const struct ctl_cmd *
cmd_find(const char *name)
{
	for (size_t i = 0; i < CTL_NB_CMDS; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

static void
main_usage(FILE *out)
{
	fprintf(out, "usage: " CTL_PROG
	             " [--help | --version] [--socket PATH] [--json] COMMAND [ARGS]\n\n"
	             "commands:\n");
	for (size_t i = 0; i < CTL_NB_CMDS; i++)
		fprintf(out, "  %-9s %s\n", ctl_cmds[i].name, ctl_cmds[i].summary);
	fprintf(out,
	        "\n'" CTL_PROG " help COMMAND' or '" CTL_PROG " COMMAND --help' for more.\n"
	        "exit status: 0 ok, 1 runtime or input error (or the daemon refused), 2 usage\n"
	        "error, 3 the daemon cannot be reached (control socket commands)\n");
}

static void
help_usage(FILE *out)
{
	fprintf(out, "usage: " CTL_PROG " help [COMMAND]\n\n"
	             "Print the help of COMMAND, or the list of commands.\n");
}

static int
help_run(int argc, char **argv)
{
	const struct ctl_cmd *c;

	if (argc < 2) {
		main_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (argc > 2) {
		help_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	c = cmd_find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, CTL_PROG ": no command '%s'\n", argv[1]);
		return CTL_EXIT_USAGE;
	}
	c->usage(stdout);
	return CTL_EXIT_OK;
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd *c;

	/* Options of the control socket commands may come before the command. */
	while (argc >= 2 && (strcmp(argv[1], "--json") == 0 || strcmp(argv[1], "--socket") == 0 ||
	                     strncmp(argv[1], "--socket=", 9) == 0)) {
		int used = 1;

		if (strcmp(argv[1], "--json") == 0) {
			ctl_client_json = 1;
		} else if (argv[1][8] == '=') {
			ctl_client_socket = argv[1] + 9;
		} else if (argc < 3) {
			fprintf(stderr, CTL_PROG ": --socket needs a path\n");
			return CTL_EXIT_USAGE;
		} else {
			ctl_client_socket = argv[2];
			used = 2;
		}
		argv[used] = argv[0]; /* the program name stays in front */
		argc -= used;
		argv += used;
	}
	if (argc < 2) {
		main_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		main_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(CTL_PROG " " SIPHON_VERSION "\n");
		return CTL_EXIT_OK;
	}
	c = cmd_find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, CTL_PROG ": unknown command '%s'\n\n", argv[1]);
		main_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
