/*
 * file.c: see file.h.
 * Trust: the file's size is checked against max before the allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int file_read_fd(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int r = 0;

	*buf = NULL;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((*len = (size_t)st.st_size) > max)
		r = -EFBIG;
	else if ((*buf = malloc(*len + 1)) == NULL)
		r = -ENOMEM;
	while (r == 0 && got < *len) {
		ssize_t n = read(fd, *buf + got, *len - got);

		if (n <= 0)
			r = -EIO;
		else
			got += (size_t)n;
	}
	if (r < 0) {
		free(*buf);
		*buf = NULL;
		return r;
	}
	(*buf)[got] = '\0';
	return 0;
}

int file_read(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	*buf = NULL;
	if (fd < 0)
		return -errno;
	r = file_read_fd(fd, max, buf, len);
	close(fd);
	return r;
}

/*
 * One directory: made, or already there.  A fresh one gets its mode
 * through an fd (O_NOFOLLOW): nobody can swap a symlink in between.
 */
static int file_mkdir_one(const char *dir, mode_t mode)
{
	struct stat st;
	int fd, r = 0;

	if (mkdir(dir, mode) < 0) {
		if (errno != EEXIST)
			return -errno;
		if (stat(dir, &st) < 0)
			return -errno;
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	}
	/* The umask may have taken bits away: give them back. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0)
		r = -errno;
	close(fd);
	return r;
}

int file_mkdir_parents(const char *path, mode_t mode, char *which, size_t len)
{
	char dir[PATH_MAX];
	char *slash;
	int r;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		snprintf(which, len, "%s", path);
		return -ENAMETOOLONG;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0; /* the current directory, or / */
	*slash = '\0';
	/* Each prefix from the top down: a, a/b, ..., then the whole. */
	for (char *p = dir + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		r = file_mkdir_one(dir, mode);
		if (r < 0) {
			snprintf(which, len, "%s", dir);
			return r;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}
