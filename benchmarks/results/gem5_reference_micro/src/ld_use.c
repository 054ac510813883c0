#include "rt.h"
static unsigned long buf[64] __attribute__((aligned(64)));
int main(void){
  unsigned long n = 4000, a=0,b=0,c=0,d=0; unsigned long *p = buf;
  buf[0] = (unsigned long)buf;
  __asm__ volatile(
   " fmov s2, wzr\n fmov s0, #1.0\n"
   ".p2align 6\n1:\n"
   ".rept 8\n ldr %[a],[%[p],#8]\n add %[b],%[b],%[a]\n.endr\n"
   " subs %[n], %[n], #1\n b.ne 1b\n"
   : [n]"+r"(n), [a]"+r"(a), [b]"+r"(b), [c]"+r"(c), [d]"+r"(d), [p]"+r"(p) : : "v0","v1","v2","memory");
  put_hex(n + a + b + c + d);
  return 0;
}
