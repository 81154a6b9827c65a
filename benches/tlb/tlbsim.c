// A set-associative LRU TLB fed by a valgrind `lackey --trace-mem=yes`
// trace on stdin (benches/tlb/trace.sh runs it): 4 KiB pages, or 2 MiB
// ones for addresses in [huge_lo, huge_hi), set = page number mod sets.
// usage: tlbsim ENTRIES WAYS [huge_lo huge_hi]   (hex)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
int main(int argc,char**argv){
  int entries=atoi(argv[1]), ways=atoi(argv[2]); int sets=entries/ways;
  uint64_t hlo=0,hhi=0; if(argc>4){hlo=strtoull(argv[3],0,16);hhi=strtoull(argv[4],0,16);}
  uint64_t *tag=calloc(entries,8), *age=calloc(entries,8); uint64_t t=0,acc=0,miss=0,dacc=0,dmiss=0;
  char line[256];
  while(fgets(line,sizeof line,stdin)){
    char k; uint64_t a;
    char *p=line; while(*p==' ')p++;
    if(!(*p=='I'||*p=='L'||*p=='S'||*p=='M')) continue;
    k=*p; p++; while(*p==' ')p++;
    a=strtoull(p,0,16);
    uint64_t vpn; int huge = (a>=hlo && a<hhi);
    vpn = huge ? ((a>>21)|(1ULL<<62)) : (a>>12);
    int set = (int)((huge? (a>>21):(a>>12)) % sets);
    uint64_t *T=tag+set*ways,*A=age+set*ways; t++; acc++; if(k!='I')dacc++;
    int hit=-1,lru=0;
    for(int i=0;i<ways;i++){ if(T[i]==vpn+1){hit=i;break;} if(A[i]<A[lru])lru=i; }
    if(hit<0){ miss++; if(k!='I')dmiss++; T[lru]=vpn+1; A[lru]=t; } else A[hit]=t;
  }
  printf("accesses=%llu misses=%llu daccesses=%llu dmisses=%llu\n",(unsigned long long)acc,(unsigned long long)miss,(unsigned long long)dacc,(unsigned long long)dmiss);
}
