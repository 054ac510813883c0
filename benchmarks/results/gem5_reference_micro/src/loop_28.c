#include "rt.h"
int main(void){
  unsigned long a=0,b=0,c=0,d=0,e=0,f=0,n=10000;
  __asm__ volatile(
   ".p2align 6\n1:\n"
   ".rept 4\n add %[a],%[a],#1\n add %[b],%[b],#1\n add %[c],%[c],#1\n add %[d],%[d],#1\n add %[e],%[e],#1\n add %[f],%[f],#1\n.endr\n"
   ".rept 4\n add %[a],%[a],#2\n.endr\n"
   " subs %[n], %[n], #1\n b.ne 1b\n"
   : [a]"+r"(a),[b]"+r"(b),[c]"+r"(c),[d]"+r"(d),[e]"+r"(e),[f]"+r"(f),[n]"+r"(n));
  put_hex(a+b+c+d+e+f);
  return 0;
}
