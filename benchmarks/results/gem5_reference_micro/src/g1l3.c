#include "rt.h"
static float inp[4096] __attribute__((aligned(64)));
int main(void){
  unsigned long n = 4000, x3 = (unsigned long)inp, x5, x7, x8;
  __asm__ volatile(
   ".p2align 6\n1:\n"
   " add %[x5], %[x3], #256\n ldr s0,[%[x5]]\n ldr s4,[%[x5],#4]\n ldr s5,[%[x5],#8]\n"
   " subs %[n], %[n], #1\n b.ne 1b\n"
   : [n]"+r"(n), [x5]"=&r"(x5), [x7]"=&r"(x7), [x8]"=&r"(x8) : [x3]"r"(x3)
   : "v0","v1","v2","v4","v5","v6","v7","v16","v17","v18","v19","memory","cc");
  put_hex(n);
  return 0;
}
