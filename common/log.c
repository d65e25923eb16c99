/*
 * log.c: logging for kvmmu programs.  Trust: none needed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "log.h"

static const char *log_prog = "kvmmu";
static bool log_stderr = true;
static int log_verbose;

void log_init(const char *prog, bool to_stderr, int verbose)
{
	log_prog = prog;
	log_stderr = to_stderr;
	log_verbose = verbose;
	if (!to_stderr)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* A printf-style function: lets -Wformat-nonliteral check the callers. */
static void log_vmsg(int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void log_vmsg(int prio, const char *fmt, va_list ap)
{
	if (prio == LOG_DEBUG && !log_verbose)
		return;
	if (!log_stderr) {
		vsyslog(prio, fmt, ap);
		return;
	}
	flockfile(stderr);
	fprintf(stderr, "%s: ", log_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
