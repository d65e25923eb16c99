/*
 * file.h: a whole regular file read into memory, bounded: guest images,
 * domain XML, option ROMs.
 * Trust: the path and the bytes are the caller's input; the size is
 * checked before anything is allocated.
 */
#ifndef KVMMU_FILE_H
#define KVMMU_FILE_H

#include <stddef.h>

/*
 * Reads path, a regular file of at most max bytes: *buf (malloc'd, a NUL
 * after the bytes, so text can be used as a string) and *len.  0, or
 * -errno with *buf NULL: open/fstat's, -EINVAL for a file that is not
 * regular, -EFBIG when it is larger than max (*len then holds its size),
 * -ENOMEM, -EIO for a short read.
 */
int file_read(const char *path, size_t max, char **buf, size_t *len);
/* The same from fd, an open regular file read from where it stands. */
int file_read_fd(int fd, size_t max, char **buf, size_t *len);

#endif
