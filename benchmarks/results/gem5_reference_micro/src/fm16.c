#include "rt.h"
static float buf[64] __attribute__((aligned(64)));
int main(void){
  unsigned long n = 4000; float *p = buf; unsigned long q;
  __asm__ volatile(
   " movi v16.16b,#0\n movi v17.16b,#0\n movi v18.16b,#0\n movi v19.16b,#0\n movi v20.16b,#0\n movi v21.16b,#0\n movi v22.16b,#0\n movi v23.16b,#0\n"
   ".p2align 6\n1:\n mov %[q], %[p]\n"
   " fmla v16.4s,v0.4s,v8.s[0]\n fmla v17.4s,v1.4s,v8.s[0]\n fmla v18.4s,v2.4s,v8.s[0]\n fmla v19.4s,v3.4s,v8.s[0]\n fmla v20.4s,v0.4s,v8.s[1]\n fmla v21.4s,v1.4s,v8.s[1]\n fmla v22.4s,v2.4s,v8.s[1]\n fmla v23.4s,v3.4s,v8.s[1]\n" " fmla v16.4s,v0.4s,v8.s[0]\n fmla v17.4s,v1.4s,v8.s[0]\n fmla v18.4s,v2.4s,v8.s[0]\n fmla v19.4s,v3.4s,v8.s[0]\n fmla v20.4s,v0.4s,v8.s[1]\n fmla v21.4s,v1.4s,v8.s[1]\n fmla v22.4s,v2.4s,v8.s[1]\n fmla v23.4s,v3.4s,v8.s[1]\n"
   " subs %[n], %[n], #1\n b.ne 1b\n"
   : [n]"+r"(n), [q]"=&r"(q) : [p]"r"(p) : "v0","v1","v2","v3","v8","v16","v17","v18","v19","v20","v21","v22","v23","memory");
  put_hex(n);
  return 0;
}
