/* err_name: the printable name of an error code, for log lines. */
#include "core/env.h"

const char *err_name(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "OK";
	case ENOENT: return "-ENOENT";
	case EIO: return "-EIO";
	case EAGAIN: return "-EAGAIN";
	case ENOMEM: return "-ENOMEM";
	case EACCES: return "-EACCES";
	case EFAULT: return "-EFAULT";
	case EBUSY: return "-EBUSY";
	case EEXIST: return "-EEXIST";
	case ENODEV: return "-ENODEV";
	case ENOTDIR: return "-ENOTDIR";
	case EISDIR: return "-EISDIR";
	case EINVAL: return "-EINVAL";
	case EFBIG: return "-EFBIG";
	case ENOSPC: return "-ENOSPC";
	case EROFS: return "-EROFS";
	case ERANGE: return "-ERANGE";
	case ENAMETOOLONG: return "-ENAMETOOLONG";
	case ENOTEMPTY: return "-ENOTEMPTY";
	case ELOOP: return "-ELOOP";
	case ETIMEDOUT: return "-ETIMEDOUT";
	case EBADF: return "-EBADF";
	case EMFILE: return "-EMFILE";
	case ENOSYS: return "-ENOSYS";
	default: return "-E?";
	}
}
