/*
 * siphonctl.c - the operator CLI's entry point: a dispatcher over a table of subcommands.
 *
 * `siphonctl COMMAND [ARGS]` finds COMMAND in ctl_cmds[] and runs it with the remaining
 * arguments (see ctl.h for the contract every command keeps, exit codes included). Adding a
 * command (the control socket client is next) means writing its run() and usage() in their
 * own file and adding one row here; help, the command list and the error paths follow.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void help_usage(FILE *out);
static int help_run(int argc, char **argv);

static const struct ctl_cmd ctl_cmds[] = {
        {"scan", "explain a capture or SIP message: scanner verdict and backend per packet",
         scan_run, scan_usage},
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
	fprintf(out, "usage: " CTL_PROG " [--help | --version] COMMAND [ARGS]\n\n"
	             "commands:\n");
	for (size_t i = 0; i < CTL_NB_CMDS; i++)
		fprintf(out, "  %-6s %s\n", ctl_cmds[i].name, ctl_cmds[i].summary);
	fprintf(out, "\n'" CTL_PROG " help COMMAND' or '" CTL_PROG " COMMAND --help' for more.\n"
	             "exit status: 0 ok, 1 runtime or input error, 2 usage error\n");
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
