/*
 * The init of make bench's Linux guest: the same workloads as the
 * Phobos app (app/bench/, the POSIX backend), run as PID 1 of an initramfs
 * in the same QEMU.  It loads the modules the initramfs carries (listed in
 * /modules.order, dependencies first), mounts the image's FAT partition
 * at /mnt, turns its swap partition on, runs bench_main with the kernel
 * command line's words, then, if bench_peers=<list> names allocators, runs
 * alloc_mix again under each (/phobos-bench, dynamic, with the allocator
 * preloaded), and powers off.
 *   bench_lru_gen=1  enables the multi-generational LRU first.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/bench/bench.h"
#include "app/bench/os_linux.h"

static char init_cmdline[4096];

static void init_modules(void)
{
	char path[512];
	FILE *f = fopen("/modules.order", "r");

	while (f != NULL && fgets(path, sizeof(path), f) != NULL) {
		path[strcspn(path, "\n")] = 0;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0)
			printf("init: module %s not loaded\n", path);
		if (fd >= 0)
			close(fd);
	}
	if (f != NULL)
		fclose(f);
}

/* The image's partitions by what they hold: mkswap's signature, or FAT. */
static void init_partitions(void)
{
	char dev[32], page[4096];

	for (int tries = 0; tries < 100 && access("/dev/vda", F_OK) != 0; tries++)
		usleep(100000);
	for (int i = 1; i <= 8; i++) {
		snprintf(dev, sizeof(dev), "/dev/vda%d", i);
		int fd = open(dev, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, page, sizeof(page));
		close(fd);
		if (n == (ssize_t)sizeof(page) && memcmp(page + 4086, "SWAPSPACE2", 10) == 0) {
			if (swapon(dev, 0) == 0) {
				os_linux_swap = true;
				printf("init: swap on %s\n", dev);
			}
		} else if (!os_have_files() && mount(dev, "/mnt", "vfat", 0, "") == 0) {
			os_linux_root = "/mnt";
			printf("init: files on %s\n", dev);
		}
	}
}

static const char *init_word(const char *key)
{
	size_t k = strlen(key);

	for (const char *p = init_cmdline; (p = strstr(p, key)) != NULL; p += k)
		if ((p == init_cmdline || p[-1] == ' ') && p[k] == '=')
			return p + k + 1;
	return NULL;
}

static void init_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		printf("init: cannot write %s to %s\n", text, path);
	if (fd >= 0)
		close(fd);
}

/* alloc_mix under each allocator of the list: "glibc" (the dynamic
 * binary as it is), or a library preloaded from /lib/preload/<name>.so. */
static void init_peers(const char *list)
{
	char name[32], pre[96];

	while (list != NULL) {
		size_t n = strcspn(list, ", \n");
		if (n == 0)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)n, list);
		list += n + (list[n] == ',');
		snprintf(pre, sizeof(pre), "LD_PRELOAD=/lib/preload/%s.so", name);
		printf("BENCH-VARIANT alloc_mix %s\n", name);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			char *argv[] = {"/phobos-bench", "bench=alloc_mix", NULL};
			char *envp[] = {strcmp(name, "glibc") ? pre : NULL, NULL};
			execve(argv[0], argv, envp);
			_exit(127);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			printf("bench: alloc_mix under %s FAILED: status %d\n", name, status);
	}
	printf("BENCH-VARIANT end\n");
}

int main(void)
{
	mount("proc", "/proc", "proc", 0, "");
	mount("sysfs", "/sys", "sysfs", 0, "");
	mount("devtmpfs", "/dev", "devtmpfs", 0, "");
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, init_cmdline, sizeof(init_cmdline) - 1);
	init_cmdline[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	init_modules();
	init_partitions();
	const char *lru = init_word("bench_lru_gen");
	if (lru != NULL && lru[0] == '1')
		init_write("/sys/kernel/mm/lru_gen/enabled", "y");
	printf("init: Linux guest ready; lru_gen %s\n", lru != NULL && lru[0] == '1' ? "on" : "off");
	int code = bench_main(init_cmdline);
	init_peers(init_word("bench_peers"));
	printf("LINUX EXIT %d\n", code);
	fflush(stdout);
	sync();
	if (os_have_files())
		umount("/mnt");
	reboot(RB_POWER_OFF);
	return 0;
}
