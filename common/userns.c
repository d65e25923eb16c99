/*
 * userns.c: a new user namespace's id maps (userns.h).  No stdio, no
 * allocation: only system calls and the stack.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "userns.h"

/* "IN OUT 1" for a uid_map or gid_map. */
static void idmap_line(char *out, unsigned in, unsigned outside)
{
	unsigned v[2] = {in, outside};

	for (int k = 0; k < 2; k++) {
		char digits[12];
		int n = 0;

		do
			digits[n++] = (char)('0' + v[k] % 10);
		while ((v[k] /= 10) != 0);
		while (n > 0)
			*out++ = digits[--n];
		*out++ = ' ';
	}
	memcpy(out, "1", 2);
}

/* Writes s to the /proc file path; 0 or -1. */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

int userns_map(uid_t in_uid, uid_t out_uid, gid_t in_gid, gid_t out_gid)
{
	char line[32];

	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return -1;
	idmap_line(line, (unsigned)in_uid, (unsigned)out_uid);
	if (write_file("/proc/self/uid_map", line) < 0 ||
	    write_file("/proc/self/setgroups", "deny") < 0)
		return -1;
	idmap_line(line, (unsigned)in_gid, (unsigned)out_gid);
	return write_file("/proc/self/gid_map", line);
}
