/*
 * The one error code set of Phobos.
 *
 * Every fallible function returns 0 (or a non-negative count) on success and
 * one negated code from this list on failure.  Programmer errors (double
 * free, lock not held, misaligned argument from kernel code) are not codes:
 * they are KASSERTs and panics.
 *
 * The values match Linux's so that host tests may include <errno.h> too.
 */
#ifndef PHOBOS_ERRNO_H
#define PHOBOS_ERRNO_H

#ifndef ENOENT
#define ENOENT 2  /* no such file, page, entry or device */
#endif
#ifndef EIO
#define EIO 5     /* the device or medium failed or timed out */
#endif
#ifndef EAGAIN
#define EAGAIN 11 /* temporarily unavailable; retry may succeed */
#endif
#ifndef ENOMEM
#define ENOMEM 12 /* out of pages, space or descriptors */
#endif
#ifndef EACCES
#define EACCES 13 /* access violates protection */
#endif
#ifndef EFAULT
#define EFAULT 14 /* bad address from a caller (user pointer, unmapped) */
#endif
#ifndef EBUSY
#define EBUSY 16  /* resource in use (range allocated, object mapped) */
#endif
#ifndef EEXIST
#define EEXIST 17 /* already exists */
#endif
#ifndef ENOTDIR
#define ENOTDIR 20
#endif
#ifndef EISDIR
#define EISDIR 21
#endif
#ifndef EINVAL
#define EINVAL 22 /* malformed argument or corrupt on-disk structure */
#endif
#ifndef EFBIG
#define EFBIG 27  /* beyond the largest size supported */
#endif
#ifndef ENOSPC
#define ENOSPC 28 /* device or volume full */
#endif
#ifndef EROFS
#define EROFS 30  /* the volume is mounted read-only */
#endif
#ifndef ERANGE
#define ERANGE 34 /* outside the managed range */
#endif
#ifndef ENAMETOOLONG
#define ENAMETOOLONG 36
#endif
#ifndef ENOTEMPTY
#define ENOTEMPTY 39
#endif
#ifndef ELOOP
#define ELOOP 40  /* cycle found (e.g. a FAT cluster chain loop) */
#endif
#ifndef ENODEV
#define ENODEV 19 /* no such device */
#endif
#ifndef ETIMEDOUT
#define ETIMEDOUT 110 /* a device did not answer in time */
#endif
#ifndef EBADF
#define EBADF 9   /* not an open file descriptor */
#endif
#ifndef EMFILE
#define EMFILE 24 /* the app's file table is full */
#endif
#ifndef ENOSYS
#define ENOSYS 38 /* no such system call */
#endif

/* A short name for a code, for log lines ("-ENOMEM"). */
const char *err_name(int err);

#endif
