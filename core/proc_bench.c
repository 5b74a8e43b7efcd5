/*
 * bucket_app: the app's allocator benchmark (app/main.c, part alloc_mix)
 * in ring 3; the app prints its own RESULT lines, read off the clock of
 * its gate page.
 */
#include "core/kbench.h"
#include "core/proc.h"

KBENCH(bucket_app)
{
	int code = 0;
	int err = proc_run("alloc_mix", &code);

	if (err < 0)
		return err;
	return code == 0 ? 0 : -EIO;
}
