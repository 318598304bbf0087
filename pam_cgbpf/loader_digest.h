/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine digest: a 256-bit fingerprint of the built-in filter's BPF object, stamped into
 * every shared instance's config map so that an instance left by another build is never taken
 * for ours. The build computes it from the object file (loader_gen.c writes engine_build.h),
 * so the module knows it without carrying the object; test_loader_elf proves it equals the
 * digest of the bytes the loader's skeleton embeds.
 *
 * It only has to tell one build from another (the pins are root's): four lanes of
 * multiply-xorshift over 8-byte words.
 */
#ifndef CGBPF_LOADER_DIGEST_H
#define CGBPF_LOADER_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CGBPF_ENGINE_DIGEST_SIZE 32

static inline void cgbpf_engine_digest_of(const uint8_t *elf, size_t size,
					  uint8_t out[CGBPF_ENGINE_DIGEST_SIZE])
{
	uint64_t h[4] = { 0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
			  0xa54ff53a5f1d36f1ULL };
	uint64_t w;
	size_t i;

	for (i = 0; i < size; i += 8) {
		w = 0;
		memcpy(&w, elf + i, size - i < 8 ? size - i : 8);
		h[(i / 8) & 3] = (h[(i / 8) & 3] ^ w) * 0x9e3779b97f4a7c15ULL;
		h[(i / 8) & 3] ^= h[(i / 8) & 3] >> 31;
	}
	for (i = 0; i < 4; i++) {
		h[i] = (h[i] ^ size ^ h[(i + 1) & 3]) * 0xbf58476d1ce4e5b9ULL;
		h[i] ^= h[i] >> 29;
		memcpy(out + 8 * i, &h[i], 8);
	}
}

#endif
