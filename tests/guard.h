/*
 * guard.h - test helper: buffers whose last byte sits right before a PROT_NONE page.
 * Used by the parser suites (tests/test_sip.c) in the manner of picohttpparser's test.c:
 * a read one octet past the end faults at once instead of passing unnoticed, so SIMD
 * over-reads crash the one test that made them. Test-only; never linked into siphon.
 */
#ifndef SIPHON_TEST_GUARD_H
#define SIPHON_TEST_GUARD_H

#include <stddef.h>
#include <stdint.h>

/**
 * Map len writable octets ending right before an inaccessible page: p[len] faults.
 * len may be 0, then the pointer is the first octet of the inaccessible page.
 *
 * @return The buffer (contents zero), or NULL when the mapping fails.
 */
uint8_t *guard_alloc(size_t len);

/** guard_alloc(len) filled with src[0, len). src may be NULL when len is 0. */
uint8_t *guard_copy(const void *src, size_t len);

/** Unmap a buffer from guard_alloc() or guard_copy() given the same len; NULL is ignored. */
void guard_free(uint8_t *p, size_t len);

#endif /* SIPHON_TEST_GUARD_H */
