/*
 * log.h: logging for kvmmu programs (stderr in the foreground, syslog when
 * daemonized).  Trust: none needed.
 */
#ifndef KVMMU_LOG_H
#define KVMMU_LOG_H

#include <stdbool.h>

void log_init(const char *prog, bool to_stderr, int verbose);
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Every line names the function that logged it, as in OpenBSD's daemons. */
#define log_warn(fmt, ...)  log_msg(4, "%s: " fmt, __func__, ##__VA_ARGS__)
#define log_info(fmt, ...)  log_msg(6, "%s: " fmt, __func__, ##__VA_ARGS__)
#define log_debug(fmt, ...) log_msg(7, "%s: " fmt, __func__, ##__VA_ARGS__)

#endif
