// A set-associative LRU TLB of 4 KiB pages (set = page number mod sets),
// fed by a valgrind `lackey --trace-mem=yes` trace on stdin
// (benches/tlb/trace.sh runs it). Counts every access and every miss,
// and the data ones (loads, stores, modifies) among them.
// usage: tlbsim ENTRIES WAYS
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: tlbsim ENTRIES WAYS\n"); return 2; }
  int entries = atoi(argv[1]), ways = atoi(argv[2]);
  if (ways <= 0 || entries < ways) { fprintf(stderr, "tlbsim: need ENTRIES >= WAYS > 0\n"); return 2; }
  int sets = entries / ways;
  uint64_t *tag = calloc(entries, 8), *age = calloc(entries, 8);
  uint64_t t = 0, acc = 0, miss = 0, dacc = 0, dmiss = 0;
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    char *p = line;
    while (*p == ' ') p++;
    char k = *p;
    if (!(k == 'I' || k == 'L' || k == 'S' || k == 'M')) continue;
    p++;
    uint64_t vpn = strtoull(p, 0, 16) >> 12;
    uint64_t *T = tag + (vpn % sets) * ways, *A = age + (vpn % sets) * ways;
    t++; acc++;
    if (k != 'I') dacc++;
    int hit = -1, lru = 0;
    for (int i = 0; i < ways; i++) {
      if (T[i] == vpn + 1) { hit = i; break; }
      if (A[i] < A[lru]) lru = i;
    }
    if (hit < 0) { miss++; if (k != 'I') dmiss++; T[lru] = vpn + 1; A[lru] = t; }
    else A[hit] = t;
  }
  printf("accesses=%llu misses=%llu daccesses=%llu dmisses=%llu\n", (unsigned long long)acc,
         (unsigned long long)miss, (unsigned long long)dacc, (unsigned long long)dmiss);
  return 0;
}
