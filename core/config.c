/*
 * config_parse: SPEC 6's words.  Each key has a parser taking the value;
 * parsers log what is wrong with a value and return -EINVAL.
 */
#include "core/config.h"
#include "core/console.h"
#include "core/lib/guid.h"

#define CONFIG_WORD_MAX 2048

static int config_copy(char *dst, size_t size, const char *key, const char *v)
{
	if (strlen(v) >= size) {
		log_error("config: value of '%s' is too long (max %zu)", key, size - 1);
		return -EINVAL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int config_guid(char *dst, const char *key, const char *v)
{
	uint8_t bytes[16];

	if (guid_parse(v, bytes) < 0) {
		log_error("config: %s=%s is not a GUID (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)", key, v);
		return -EINVAL;
	}
	return config_copy(dst, CONFIG_GUID_TEXT, key, v);
}

/* Picks v out of names[]; returns its index or -EINVAL. */
static int config_choice(const char *key, const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	log_error("config: %s=%s is not one of the allowed values", key, v);
	return -EINVAL;
}

/* Sizes like 64M, 2G, 4096K or plain bytes; at least one MiB. */
/* A whole number of seconds, 1 to a year: longer is no limit worth the name. */
static int config_seconds(uint32_t *out, const char *key, const char *v)
{
	uint32_t n = 0;
	const char *p = v;

	for (; *p >= '0' && *p <= '9' && n <= CONFIG_TIMEOUT_MAX; p++)
		n = n * 10 + (uint32_t)(*p - '0');
	if (p == v || *p != '\0' || n == 0 || n > CONFIG_TIMEOUT_MAX) {
		log_error("config: %s=%s is not a number of seconds from 1 to %u", key, v,
			  CONFIG_TIMEOUT_MAX);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

/* A size with an optional K, M, G or T, of at least min bytes. */
static int config_size(uint64_t *out, const char *key, const char *v, uint64_t min)
{
	uint64_t n = 0;
	const char *p = v;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			goto bad;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	switch (*p) {
	case 'K': case 'k': shift = 10; p++; break;
	case 'M': case 'm': shift = 20; p++; break;
	case 'G': case 'g': shift = 30; p++; break;
	case 'T': case 't': shift = 40; p++; break;
	default: break;
	}
	if (*p != '\0' || n > (UINT64_MAX >> shift) || (n << shift) < min)
		goto bad;
	*out = n << shift;
	return 0;
bad:
	log_error("config: %s=%s is not a size of at least %lluK (e.g. 64M, 2G)", key, v,
		  (unsigned long long)(min >> 10));
	return -EINVAL;
}

static int config_console(unsigned *out, const char *v)
{
	unsigned mask = 0;

	/* every element must be a sink name: "serial," or "" is a mistake */
	for (const char *p = v;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 6 && strncmp(p, "serial", 6) == 0) {
			mask |= CONSOLE_SERIAL;
		} else if (len == 2 && strncmp(p, "fb", 2) == 0) {
			mask |= CONSOLE_FB;
		} else {
			log_error("config: console=%s: allowed are serial, fb, serial,fb", v);
			return -EINVAL;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	*out = mask;
	return 0;
}

static int config_apply(struct config *c, const char *key, const char *v)
{
	static const char *const apps[] = {"bench", "selftest", "check", "demo"};
	static const char *const exits[] = {"halt", "qemu", "reboot"};
	static const char *const logs[] = {"error", "info", "debug"};
	int r;

	if (strcmp(key, "app") == 0) {
		if ((r = config_choice(key, v, apps, 4)) >= 0)
			c->app = (enum config_app)r;
	} else if (strcmp(key, "exit") == 0) {
		if ((r = config_choice(key, v, exits, 3)) >= 0)
			c->exit = (enum config_exit)r;
	} else if (strcmp(key, "log") == 0) {
		if ((r = config_choice(key, v, logs, 3)) >= 0)
			c->log = (enum log_level)r;
	} else if (strcmp(key, "bench") == 0) {
		r = config_copy(c->bench, sizeof(c->bench), key, v);
	} else if (strcmp(key, "check") == 0) {
		r = config_copy(c->check, sizeof(c->check), key, v);
	} else if (strcmp(key, "selftest") == 0) {
		r = config_copy(c->selftest, sizeof(c->selftest), key, v);
	} else if (strcmp(key, "trace") == 0) {
		static const char *const bits[] = {"0", "1"};
		if ((r = config_choice(key, v, bits, 2)) >= 0)
			c->trace = r == 1;
	} else if (strcmp(key, "tick") == 0) {
		static const char *const ticks[] = {"on", "off"};
		if ((r = config_choice(key, v, ticks, 2)) >= 0)
			c->tick_off = r == 1;
	} else if (strcmp(key, "timeout") == 0) {
		r = config_seconds(&c->timeout, key, v);
	} else if (strcmp(key, "mem") == 0) {
		r = config_size(&c->mem_cap, key, v, 1ull << 20);
	} else if (strcmp(key, "bench_mem") == 0) {
		r = config_size(&c->bench_mem, key, v, 1ull << 20);
	} else if (strcmp(key, "bench_file") == 0) {
		r = config_size(&c->bench_file, key, v, 64ull << 10);
	} else if (strcmp(key, "fs") == 0) {
		r = config_guid(c->fs_guid, key, v);
	} else if (strcmp(key, "console") == 0) {
		r = config_console(&c->console, v);
	} else if (strcmp(key, "swap") == 0) {
		if (strcmp(v, "auto") == 0) {
			c->swap = CONFIG_SWAP_AUTO;
			r = 0;
		} else if (strcmp(v, "off") == 0) {
			c->swap = CONFIG_SWAP_OFF;
			r = 0;
		} else if ((r = config_guid(c->swap_guid, key, v)) == 0) {
			c->swap = CONFIG_SWAP_GUID;
		}
	} else {
		log_error("config: warning: unknown key '%s' ignored", key);
		return 0;
	}
	return r < 0 ? -EINVAL : 0;
}

static bool config_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool config_printable(const char *w)
{
	for (; *w != '\0'; w++)
		if ((unsigned char)*w < 0x20 || (unsigned char)*w > 0x7e)
			return false;
	return true;
}

/* Rewrites w in place with each unprintable byte as \xNN (truncated to
 * size), so a log line can never carry terminal control sequences. */
static void config_escape(char *w, size_t size)
{
	char out[CONFIG_WORD_MAX];
	size_t o = 0;

	for (const char *p = w; *p != '\0' && o + 5 < sizeof(out); p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e)
			o += (size_t)ksnprintf(out + o, sizeof(out) - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	memcpy(w, out, MIN(o + 1, size));
	w[size - 1] = '\0';
}

int config_check_text(const char *text, uint32_t len, uint32_t max)
{
	size_t n = strlen(text);

	if (len >= max) {
		log_error("config: longer than the %u bytes allowed; refusing to run on part of it",
			  max - 1);
		return -EINVAL;
	}
	if (n != len) {
		log_error("config: a NUL byte at offset %zu of %u; refusing to run on part of it", n,
			  len);
		return -EINVAL;
	}
	return 0;
}

int config_parse(struct config *cfg, const char *text)
{
	char word[CONFIG_WORD_MAX];
	int err = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->log = LOG_INFO;
	memcpy(cfg->bench, "all", 4);
	for (const char *p = text; *p != '\0';) {
		if (config_blank(*p)) {
			p++;
			continue;
		}
		size_t n = 0;
		while (p[n] != '\0' && !config_blank(p[n]))
			n++;
		if (n >= sizeof(word)) {
			log_error("config: word of %zu characters is too long", n);
			err = -EINVAL;
			p += n;
			continue;
		}
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		if (!config_printable(word)) {
			config_escape(word, sizeof(word));
			log_error("config: '%s' holds bytes that are not printable", word);
			err = -EINVAL;
			continue;
		}
		char *eq = strchr(word, '=');
		if (eq == NULL || eq == word) {
			log_error("config: '%s' is not key=value", word);
			err = -EINVAL;
			continue;
		}
		*eq = '\0';
		if (config_apply(cfg, word, eq + 1) < 0)
			err = -EINVAL;
	}
	return err;
}

bool config_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (strcmp(list, "all") == 0)
		return true;
	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (e ? 1 : 0);
	}
	return false;
}
