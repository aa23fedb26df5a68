/* libFuzzer: the key = value file parser and the typed getters over it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drp_config *c;
	char path[64], err[256];
	size_t i;
	int fd;

	/* the parser reads a path: an anonymous in-memory file, never the disk */
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c = drp_config_new();
	if (c != NULL && drp_config_load_file(c, path, 0, err, sizeof(err)) == 0) {
		for (i = 0; i < drp_config_count(c); i++) {
			const char *k = drp_config_key_at(c, i), *v;
			long l;
			int b;
			char env[128];

			/* X_file values name files: only look at the value itself */
			if (strlen(k) > 5 && strcmp(k + strlen(k) - 5, "_file") == 0)
				continue;
			v = drp_config_get(c, k);
			(void)v;
			(void)drp_config_source(c, k);
			(void)drp_config_long(c, k, 0, &l, err, sizeof(err));
			(void)drp_config_bool(c, k, 0, &b, err, sizeof(err));
			(void)drp_config_ms(c, k, 0, &l, err, sizeof(err));
			drp_config_env_name(k, env, sizeof(env));
		}
	}
	drp_config_free(c);
	close(fd);
	return 0;
}
