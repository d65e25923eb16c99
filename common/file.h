/*
 * file.h: a whole regular file read into memory, bounded: guest images,
 * domain XML, option ROMs; and the directories a socket's path needs.
 * Trust: the path and the bytes are the caller's input; the size is
 * checked before anything is allocated.
 */
#ifndef KVMMU_FILE_H
#define KVMMU_FILE_H

#include <stddef.h>
#include <sys/types.h>

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

/*
 * Makes the directory that holds path (a socket, say) and each missing
 * one above it, as `mkdir -p` would, each of them mode exactly `mode`
 * whatever the umask (as systemd's RuntimeDirectory= makes /run/NAME).
 * Directories that exist are left as they are.  0, or -errno with
 * which[len] naming the directory that could not be made (-ENOTDIR:
 * something else has its name).
 */
int file_mkdir_parents(const char *path, mode_t mode, char *which, size_t len);

#endif
