/* What it would cost to reset a fresh guest's memory by the pages its call wrote, found with
 * Linux's PAGEMAP_SCAN ioctl (6.7 and later; what newer wasmtime releases do in their pooling
 * allocator), against writing the whole memory back as the sandbox does (BENCHMARKS.md, "A
 * fresh call at 64 B"). A 128 KiB anonymous mapping (the codecs guest's two pages) with eight
 * 4 KiB pages written, as a small call leaves it; each figure is the mean of 200,000 rounds.
 *
 *   cc -O2 -o /tmp/pagemap-scan-cost scripts/pagemap-scan-cost.c && /tmp/pagemap-scan-cost
 *
 * Written in C, not Rust: the ioctl has no safe wrapper in the crates the project uses, and a
 * measurement that is not kept needs no `unsafe` in the tree. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

/* From the kernel's uapi/linux/fs.h (6.7), for C libraries whose headers predate it. */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_PFNZERO (1 << 5)
struct page_region {
  __u64 start, end, categories;
};
struct pm_scan_arg {
  __u64 size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

enum { LEN = 128 * 1024, PAGE = 4096, WRITTEN = 8, ROUNDS = 200000 };

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void) {
  int pagemap = open("/proc/self/pagemap", O_RDONLY);
  char *memory = mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pagemap < 0 || memory == MAP_FAILED) {
    perror("setup");
    return 1;
  }
  for (int i = 0; i < WRITTEN; i++) memory[i * 3 * PAGE] = 1;
  struct page_region regions[32];
  struct pm_scan_arg scan;
  memset(&scan, 0, sizeof scan);
  scan.size = sizeof scan;
  scan.start = (uint64_t)memory;
  scan.end = (uint64_t)memory + LEN;
  scan.vec = (uint64_t)regions;
  scan.vec_len = 32;
  /* Written and present, not the zero page, not a file's: wasmtime's categories. */
  scan.category_inverted = PAGE_IS_PFNZERO | PAGE_IS_FILE;
  scan.category_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_PFNZERO | PAGE_IS_FILE;
  long found = ioctl(pagemap, PAGEMAP_SCAN, &scan);
  if (found < 0) {
    perror("PAGEMAP_SCAN (Linux 6.7 or later)");
    return 1;
  }
  printf("regions found: %ld (of %d pages written)\n", found, WRITTEN);

  double start = now_ns();
  for (int i = 0; i < ROUNDS; i++) ioctl(pagemap, PAGEMAP_SCAN, &scan);
  printf("PAGEMAP_SCAN of 128 KiB:      %6.0f ns\n", (now_ns() - start) / ROUNDS);

  start = now_ns();
  for (int i = 0; i < ROUNDS; i++) {
    memset(memory, 0, LEN);
    __asm__ volatile("" : : "r"(memory) : "memory");
  }
  printf("memset of 128 KiB:            %6.0f ns\n", (now_ns() - start) / ROUNDS);

  start = now_ns();
  for (int i = 0; i < ROUNDS; i++) {
    for (int page = 0; page < WRITTEN; page++) memset(memory + page * 3 * PAGE, 0, PAGE);
    __asm__ volatile("" : : "r"(memory) : "memory");
  }
  printf("memset of the 8 pages alone:  %6.0f ns\n", (now_ns() - start) / ROUNDS);
  return 0;
}
