#include "rt.h"
int main(void){
  unsigned long x = 88172645463325252ul, acc = 0, n = 20000, t;
  __asm__ volatile(
   "1:\n"
   " eor %[t], %[x], %[x], lsl #13\n eor %[x], %[t], %[t], lsr #7\n eor %[x], %[x], %[x], lsl #17\n"
   " and %[t], %[x], #1\n"
   ".rept 0\n add %[acc], %[acc], #3\n.endr\n"
   " cbz %[t], 2f\n"
   " add %[acc], %[acc], #1\n"
   "2:\n"
   " subs %[n], %[n], #1\n b.ne 1b\n"
   : [x]"+r"(x), [acc]"+r"(acc), [n]"+r"(n), [t]"=&r"(t));
  put_hex(acc);
  return 0;
}
