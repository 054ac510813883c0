#include "rt.h"
static float inp[4096] __attribute__((aligned(64)));
static float ker[64] __attribute__((aligned(64)));
int main(void){
  unsigned long n = 2000, x10, x11, x19, x6;
  __asm__ volatile(
   " fmov s2, wzr\n"
   "3:\n mov %[x10], %[inp]\n mov %[x11], %[ker]\n mov %[x6], #8\n"
   ".p2align 6\n1:\n"
   " add %[x19], %[x10], #256\n"
   " add %[x19], %[x19], #256\n"
   " add %[x10], %[x10], #4\n"
   " subs %[x6], %[x6], #1\n"
   " ldr s1, [%[x11]]\n fmadd s2, s0, s1, s2\n ldr s1, [%[x11], #4]\n fmadd s2, s4, s1, s2\n"
   " ldr s1, [%[x11], #8]\n fmadd s2, s5, s1, s2\n ldr s1, [%[x11], #12]\n fmadd s2, s6, s1, s2\n"
   " ldr s1, [%[x11], #16]\n fmadd s2, s7, s1, s2\n ldr s1, [%[x11], #20]\n fmadd s2, s16, s1, s2\n"
   " ldr s1, [%[x11], #24]\n fmadd s2, s17, s1, s2\n ldr s1, [%[x11], #28]\n fmadd s2, s18, s1, s2\n"
   " ldr s1, [%[x11], #32]\n fmadd s2, s19, s1, s2\n add %[x11], %[x11], #0x24\n b.ne 1b\n"
   " subs %[n], %[n], #1\n b.ne 3b\n"
   : [n]"+r"(n), [x10]"=&r"(x10), [x11]"=&r"(x11), [x19]"=&r"(x19), [x6]"=&r"(x6) : [inp]"r"(inp), [ker]"r"(ker)
   : "v0","v1","v2","v4","v5","v6","v7","v16","v17","v18","v19","memory","cc");
  put_hex(n);
  return 0;
}
