/*
 * guard.c - test helper: buffers whose last byte sits right before a PROT_NONE page.
 * One anonymous mapping per buffer: the data pages (read-write), then one guard page
 * (PROT_NONE). The buffer is placed at the end of the data pages, so reading p[len]
 * faults. Test-only (see guard.h); mmap/mprotect failures return NULL, never abort.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard.h"

static size_t
page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : 4096u;
}

/* Octets of read-write pages in front of the guard page for a buffer of len octets. */
static size_t
data_bytes(size_t len)
{
	size_t ps = page_size();

	return (len + ps - 1) / ps * ps;
}

uint8_t *
guard_alloc(size_t len)
{
	size_t data = data_bytes(len);
	size_t ps = page_size();

	if (len > SIZE_MAX - 2 * ps)
		return NULL;
	uint8_t *base =
	        mmap(NULL, data + ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base + data, ps, PROT_NONE) != 0) {
		munmap(base, data + ps);
		return NULL;
	}
	return base + data - len;
}

uint8_t *
guard_copy(const void *src, size_t len)
{
	uint8_t *p = guard_alloc(len);

	if (p != NULL && len != 0)
		memcpy(p, src, len);
	return p;
}

void
guard_free(uint8_t *p, size_t len)
{
	if (p == NULL)
		return;
	size_t data = data_bytes(len);

	munmap(p + len - data, data + page_size());
}
