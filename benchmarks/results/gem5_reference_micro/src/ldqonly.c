#include "rt.h"
static float buf[64] __attribute__((aligned(64)));
int main(void){
  unsigned long n = 4000; float *p = buf; unsigned long q;
  __asm__ volatile(
   " movi v16.16b,#0\n movi v17.16b,#0\n movi v18.16b,#0\n movi v19.16b,#0\n movi v20.16b,#0\n movi v21.16b,#0\n movi v22.16b,#0\n movi v23.16b,#0\n"
   ".p2align 6\n1:\n mov %[q], %[p]\n"
   " ldr q0,[%[q]]\n add %[q],%[q],#16\n ldr q1,[%[q]]\n add %[q],%[q],#16\n ldr q2,[%[q]]\n add %[q],%[q],#16\n ldr q3,[%[q]]\n add %[q],%[q],#16\n"
   " subs %[n], %[n], #1\n b.ne 1b\n"
   : [n]"+r"(n), [q]"=&r"(q) : [p]"r"(p) : "v0","v1","v2","v3","v8","v16","v17","v18","v19","v20","v21","v22","v23","memory");
  put_hex(n);
  return 0;
}
