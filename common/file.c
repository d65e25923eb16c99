/*
 * file.c: see file.h.
 * Trust: the file's size is checked against max before the allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
