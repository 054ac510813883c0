/* Latency-bound: a pointer chase through a random cyclic permutation of
 * 32768 8-byte slots (256 KiB: misses the 64 KiB L1D, fits the L2). */
#include "rt.h"

#define SLOTS 32768u
static unsigned long next[SLOTS];

int
main(void)
{
    for (unsigned i = 0; i < SLOTS; i++)
        next[i] = i;
    unsigned long x = 12345;
    for (unsigned i = SLOTS - 1; i > 0; i--) {       /* Sattolo: one cycle */
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        unsigned j = (unsigned)((x >> 33) % i);
        unsigned long t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    unsigned long p = 0, sum = 0;
    for (unsigned step = 0; step < 40000; step++) {
        p = next[p];
        sum += p;
    }
    put_hex(sum);
    return 0;
}
