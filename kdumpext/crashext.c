/* The crash extension: `triage`, `fault` and `explain` inside crash, answered by kdumpext.
 *
 * Built by `kdumpext crash-extension` (kdumpext/crashext.py) against crash's defs.h,
 * loaded with `extend kdumpext.so`.  Thin on purpose: each command runs
 *
 *   PYTHON -c BOOT ROOT crash-extension --run COMMAND --dump DUMP [--vmlinux VMLINUX]
 *          [--module-file FILE]... [options]
 *
 * with the dump crash opened (pc->dumpfile), the vmlinux it loaded (pc->namelist_debug,
 * else pc->namelist) and the module debug files loaded with `mod -s`/`mod -S`
 * (st->load_modules[i].mod_namelist where mod_flags has MOD_LOAD_SYMS), and copies the
 * child's standard output to crash's `fp`, so that the pager, `> file` and `| command`
 * work as for any crash command.  What the child says on its standard error (kdumpext's
 * one-line errors) goes through error(INFO, ...); nothing here calls error(FATAL), so
 * crash carries on whatever happens.  `explain` evaluates its argument with crash's own
 * evaluator (eval_common(), what crash's `eval` command uses: symbols, hex numbers,
 * one operator, parentheses) and passes the address, and for PTR+OFF the pointer too.
 *
 * PYTHON, ROOT, the build stamp and this source's stamp are compiled in
 * (-DKDUMPEXT_PYTHON=..., see crashext.py); $KDUMPEXT_PYTHON overrides PYTHON when the
 * extension is loaded.  The source stamp goes with every command, so that a kdumpext
 * newer than this library says so.
 */

#define _GNU_SOURCE  /* pipe2() */
#include "defs.h"

#include <poll.h>
#include <sys/wait.h>

#ifndef KDUMPEXT_PYTHON
#define KDUMPEXT_PYTHON "python3"
#endif
#ifndef KDUMPEXT_ROOT
#define KDUMPEXT_ROOT ""
#endif
#ifndef KDUMPEXT_BUILD
#define KDUMPEXT_BUILD "unknown"
#endif
#ifndef KDUMPEXT_SOURCE
#define KDUMPEXT_SOURCE "unknown"
#endif

/* What `kdumpext crash-extension` looks for to tell whether this build is current. */
const char kdumpext_crash_build[] __attribute__((used)) =
	"kdumpext-crash-extension-build " KDUMPEXT_BUILD;

/* sys.argv is [-c, ROOT, crash-extension, ...]: put ROOT first on the path, run the CLI. */
static const char boot[] =
	"import sys\n"
	"root = sys.argv.pop(1)\n"
	"if root: sys.path.insert(0, root)\n"
	"from kdumpext.cli import main\n"
	"sys.exit(main())\n";

void kdumpext_init(void);
void kdumpext_fini(void);

static void cmd_triage(void);
static void cmd_fault(void);
static void cmd_explain(void);

static char *help_triage[];
static char *help_fault[];
static char *help_explain[];

static struct command_table_entry command_table[] = {
	{ "triage", cmd_triage, help_triage, MINIMAL },
	{ "fault", cmd_fault, help_fault, MINIMAL },
	{ "explain", cmd_explain, help_explain, MINIMAL },
	{ NULL },
};

void __attribute__((constructor))
kdumpext_init(void)
{
	register_extension(command_table);
}

void __attribute__((destructor))
kdumpext_fini(void)
{
}

/* --- running kdumpext ---------------------------------------------------------------- */

#define MAX_STDERR (16 * 1024)

static volatile sig_atomic_t interrupted;

static void
note_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Each line of the child's standard error through crash's error path ("triage: ..."),
 * without the "kdumpext: " every kdumpext message starts with. */
static void
report_lines(char *text)
{
	char *line, *next;

	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = NULLCHAR;
		if (strncmp(line, "kdumpext: ", 10) == 0)
			line += 10;
		if (*line)
			error(INFO, "%s\n", line);
	}
}

/* Run kdumpext with `argv` (NULL-terminated); its output to fp, its errors to error(INFO). */
static void
run_kdumpext(char **argv)
{
	int out[2], err[2], status, open_fds, n;
	struct pollfd fds[2];
	struct sigaction quiet, saved;
	char buf[8192], errbuf[MAX_STDERR];
	size_t errlen = 0;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		error(INFO, "cannot make a pipe: %s\n", strerror(errno));
		return;
	}
	fflush(fp);
	fflush(stdout);
	fflush(stderr);

	pid = fork();
	if (pid < 0) {
		error(INFO, "cannot start %s: %s\n", argv[0], strerror(errno));
		close(out[0]); close(out[1]); close(err[0]); close(err[1]);
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* kdumpext must not read crash's own input (commands in `-i FILE` or a pipe) */
		if (null >= 0)
			dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		dprintf(2, "kdumpext: cannot run %s: %s (set KDUMPEXT_PYTHON, or run "
			"`kdumpext crash-extension` again)\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);

	/* Ctrl-C reaches kdumpext too (same process group) and ends it with one line; crash's
	 * own handler would longjmp out of here and leave the child behind. */
	interrupted = 0;
	memset(&quiet, 0, sizeof(quiet));
	quiet.sa_handler = note_sigint;
	sigemptyset(&quiet.sa_mask);
	sigaction(SIGINT, &quiet, &saved);

	fds[0].fd = out[0];
	fds[0].events = POLLIN;
	fds[1].fd = err[0];
	fds[1].events = POLLIN;
	open_fds = 2;
	while (open_fds > 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents) {
			n = read(out[0], buf, sizeof(buf));
			if (n > 0) {
				fwrite(buf, 1, n, fp);  /* a reader that went away (| head) is no error */
			} else if (n == 0 || errno != EINTR) {
				fds[0].fd = -1;
				open_fds--;
			}
		}
		if (fds[1].revents) {
			n = read(err[0], buf, sizeof(buf));
			if (n > 0) {
				size_t room = sizeof(errbuf) - 1 - errlen;
				size_t take = (size_t)n < room ? (size_t)n : room;

				memcpy(errbuf + errlen, buf, take);
				errlen += take;
			} else if (n == 0 || errno != EINTR) {
				fds[1].fd = -1;
				open_fds--;
			}
		}
	}
	close(out[0]);
	close(err[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &saved, NULL);
	fflush(fp);

	errbuf[errlen] = NULLCHAR;
	report_lines(errbuf);
	if (WIFSIGNALED(status))
		error(INFO, "kdumpext ended by signal %d\n", WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && errlen == 0)
		error(INFO, "kdumpext failed (exit status %d)\n", WEXITSTATUS(status));
}

/* The command line for kdumpext's `crash-extension --run COMMAND` with what crash has
 * loaded, then `extra` (NULL-terminated); NULL (after one line) when there is no dump.
 * The array is GETBUF()'d: crash frees it when the command ends. */
static char **
kdumpext_argv(char *command, char **extra)
{
	char *python, *vmlinux;
	struct load_module *lm;
	int i, n, mods;
	char **argv;

	if (ACTIVE() || !pc->dumpfile) {
		error(INFO, "this is a live system, not a crash dump: kdumpext explains crash dumps\n");
		return NULL;
	}
	mods = st->load_modules ? st->mods_installed : 0;
	for (n = 0; extra[n]; n++)
		;
	argv = (char **)GETBUF(sizeof(char *) * (20 + 2 * mods + n));

	python = getenv("KDUMPEXT_PYTHON");
	if (!python || !*python)
		python = KDUMPEXT_PYTHON;
	vmlinux = pc->namelist_debug ? pc->namelist_debug : pc->namelist;

	n = 0;
	argv[n++] = python;
	argv[n++] = "-c";
	argv[n++] = (char *)boot;
	argv[n++] = KDUMPEXT_ROOT;
	argv[n++] = "crash-extension";
	argv[n++] = "--run";
	argv[n++] = command;
	argv[n++] = "--source-stamp";
	argv[n++] = KDUMPEXT_SOURCE;
	argv[n++] = "--dump";
	argv[n++] = pc->dumpfile;
	if (vmlinux) {
		argv[n++] = "--vmlinux";
		argv[n++] = vmlinux;
	}
	for (i = 0; i < mods; i++) {
		lm = &st->load_modules[i];
		if ((lm->mod_flags & MOD_LOAD_SYMS) && lm->mod_namelist[0]) {
			argv[n++] = "--module-file";
			argv[n++] = lm->mod_namelist;
		}
	}
	for (i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	return argv;
}

/* --- the commands ----------------------------------------------------------------------- */

static void
report_command(char *command, int verdict_only)
{
	char *extra[4];
	char **argv;
	int c, n = 0, json = FALSE, intel = FALSE, bare = FALSE;

	while ((c = getopt(argcnt, args, verdict_only ? "ji" : "jin")) != EOF) {
		switch (c)
		{
		case 'j':
			json = TRUE;
			break;
		case 'i':
			intel = TRUE;
			break;
		case 'n':
			bare = TRUE;
			break;
		default:
			argerrs++;
			break;
		}
	}
	if (argerrs || args[optind])
		cmd_usage(pc->curcmd, SYNOPSIS);
	if (json)
		extra[n++] = "--json";
	if (intel)
		extra[n++] = "--intel";
	if (bare)
		extra[n++] = "--no-evidence";
	extra[n] = NULL;
	if ((argv = kdumpext_argv(command, extra)))
		run_kdumpext(argv);
}

static void
cmd_triage(void)
{
	report_command("triage", FALSE);
}

static void
cmd_fault(void)
{
	report_command("fault", TRUE);
}

/* `expr` evaluated by crash (hex numbers, symbols, one operator, parentheses); FALSE
 * after one line when crash cannot read it. */
static int
crash_value(char *expr, ulong *value)
{
	struct number_option nopt;
	int errflag = FALSE;

	BZERO(&nopt, sizeof(nopt));
	if (!eval_common(expr, HEX_BIAS|RETURN_ON_ERROR|QUIET, &errflag, &nopt) || errflag) {
		error(INFO, "cannot evaluate: %s (not a hex number, a symbol, X+Y or (EXPR) "
			"crash reads)\n", expr);
		return FALSE;
	}
	*value = nopt.num;
	return TRUE;
}

/* For PTR+OFF and PTR-OFF (also in parentheses), PTR's value: the pointer the address
 * was reached through.  FALSE for any other form. */
static int
pointer_part(char *expr, ulong *pointer)
{
	char work[BUFSIZE];
	char *op;
	size_t len;

	if (strlen(expr) >= sizeof(work))
		return FALSE;
	strcpy(work, expr);
	len = strlen(work);
	if (len > 2 && work[0] == '(' && work[len - 1] == ')') {
		work[len - 1] = NULLCHAR;
		memmove(work, work + 1, len - 1);
	}
	clean_line(work);
	/* the operator eval_common() splits at: the first one, past a leading minus */
	op = strpbrk(work + (work[0] == '-'), "#><+-&|*/%^");
	if (!op || (*op != '+' && *op != '-') || op == work)
		return FALSE;
	*op = NULLCHAR;
	clean_line(work);
	return *work && crash_value(work, pointer);
}

static void
cmd_explain(void)
{
	char address[32], pointer[32], type[BUFSIZE];
	char *extra[9];
	char **argv;
	ulong value, ptr;
	int c, n = 0, json = FALSE;

	type[0] = NULLCHAR;
	while ((c = getopt(argcnt, args, "jt:")) != EOF) {
		switch (c)
		{
		case 'j':
			json = TRUE;
			break;
		case 't':
			if (snprintf(type, sizeof(type), "%s", optarg) >= (int)sizeof(type))
				argerrs++;
			break;
		default:
			argerrs++;
			break;
		}
	}
	/* -t struct scst_device, unquoted: the tag's name is the next word */
	if ((STREQ(type, "struct") || STREQ(type, "union")) && args[optind] && args[optind + 1]) {
		size_t used = strlen(type);

		if (snprintf(type + used, sizeof(type) - used, " %s", args[optind]) >= (int)(sizeof(type) - used))
			argerrs++;
		optind++;
	}
	if (argerrs || !args[optind] || args[optind + 1])
		cmd_usage(pc->curcmd, SYNOPSIS);

	if (!crash_value(args[optind], &value))
		return;
	if (json)
		extra[n++] = "--json";
	sprintf(address, "0x%lx", value);
	extra[n++] = "--address";
	extra[n++] = address;
	if (pointer_part(args[optind], &ptr)) {
		sprintf(pointer, "0x%lx", ptr);
		extra[n++] = "--pointer";
		extra[n++] = pointer;
	}
	if (type[0]) {
		extra[n++] = "--type";
		extra[n++] = type;
	}
	extra[n] = NULL;
	if ((argv = kdumpext_argv("explain", extra)))
		run_kdumpext(argv);
}

/* --- help (crash's format: name, one line, synopsis, then the description) ---------------- */

static char *help_triage[] = {
"triage",
"explain the crash: task, backtrace, faulting instruction, bad pointer (kdumpext)",
"[-j] [-i] [-n]",
"  This command prints the report of \"kdumpext triage\" for this dump: the crashed",
"  task, its backtrace, the faulting instruction, which pointer was bad and which",
"  member it was used to reach, the verdict, its bucket and the evidence.",
"",
"  kdumpext reads the dump crash opened, with the vmlinux crash loaded and the",
"  module debug files loaded with \"mod -s\" or \"mod -S\"; a module with none is",
"  looked for as \"kdumpext triage\" does (beside the vmlinux and the dump, and in",
"  $KDUMPEXT_DEBUG_PATH).  The output can be piped or redirected as usual.",
"",
"    -j  print JSON (schema kdumpext.triage/1), as \"kdumpext triage --json\".",
"    -i  Intel syntax for instructions.",
"    -n  leave out the EVIDENCE block.",
"\nEXAMPLES",
"  Explain the crash, after loading the modules' debug info:\n",
"    %s> mod -S /usr/lib/debug/lib/modules/6.1.0-18-amd64",
"    %s> triage",
"    ...",
"    VERDICT  cmd->dev is NULL; read of cmd->dev->vdev_update_lat_stats (struct scst_device +0x240, 8 bytes)",
"    BUCKET   null-deref:scst_update_lat_stats:scst_device.vdev_update_lat_stats",
"",
"  Only the bucket:\n",
"    %s> triage | grep BUCKET",
NULL
};

static char *help_fault[] = {
"fault",
"the crash verdict only: faulting instruction, bad pointer, member (kdumpext)",
"[-j] [-i]",
"  This command prints the verdict block of \"triage\": FAULT, the bad pointer,",
"  ACCESS, VERDICT, confidence and bucket, and kdumpext's warnings (modules",
"  without debug info).",
"",
"    -j  print the verdict as JSON (the \"verdict\" object of \"triage -j\").",
"    -i  Intel syntax for instructions.",
NULL
};

static char *help_explain[] = {
"explain",
"say what an address is: bad-pointer kind, symbol, slab object, member (kdumpext)",
"[-j] [-t type] address | symbol[+offset] | pointer+offset | (expression)",
"  This command says what an address is: NULL + offset, ERR_PTR(-errno), list",
"  or slab poison, user, non-canonical or a kernel address; the symbol and module,",
"  slab cache and object, task or page it lies in; whether the dump holds it; and",
"  the member of the type at the offset.",
"",
"  crash evaluates the argument as its \"eval\" command does: numbers are",
"  hexadecimal (0x optional), symbols are crash's, one operator, or an",
"  expression in parentheses.  Written as pointer+offset (or pointer-offset),",
"  the address is the access that many bytes past the pointer: 0+240 is",
"  NULL + 0x240, and -t names the type the pointer points to.",
"",
"    -j  print JSON.",
"    -t  the C type the pointer points to: struct scst_device, or scst_device.",
"\nEXAMPLES",
"  The member 0x240 bytes into a struct scst_device reached through NULL:\n",
"    %s> explain -t scst_device 0+240",
"",
"  What the word at a symbol is:\n",
"    %s> explain jiffies",
NULL
};
