#include "rt.h"
static float B[64*40] __attribute__((aligned(64)));
static float A[64] __attribute__((aligned(64)));
int main(void){
  unsigned long n = 4000; unsigned long x0, x1;
  __asm__ volatile(
   " movi v0.16b,#0\n"
   ".p2align 6\n1:\n mov %[x0], %[b]\n mov %[x1], %[a]\n"
   ".rept 8\n" " ldr q2,[%[x0]],#16\n" ".endr\n"
   " subs %[n], %[n], #1\n b.ne 1b\n"
   : [n]"+r"(n), [x0]"=&r"(x0), [x1]"=&r"(x1) : [b]"r"(B), [a]"r"(A) : "v0","v1","v2","memory");
  put_hex(n);
  return 0;
}
