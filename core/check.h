/*
 * Check mode (app=check, SPEC 6 and 7): each path of check= is mapped
 * from the file volume through the file pager (fat_pager.h), read whole
 * through the mapping and printed as "CHECK <path> <sha256-hex> <bytes>".
 *
 * Returns the number of paths that could not be read (each logged with
 * its error), or -ENODEV when there is no file volume at all.
 */
#ifndef PHOBOS_CHECK_H
#define PHOBOS_CHECK_H

#define CHECK_PATH_MAX 512

int check_run(const char *paths);

#endif
