/* Branchy: data-dependent, hard-to-predict branches on LCG values. */
#include "rt.h"

int
main(void)
{
    unsigned long x = 88172645463325252ul, acc = 0;
    for (unsigned i = 0; i < 60000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (x & 1)
            acc += x >> 3;
        else if (x & 2)
            acc ^= x;
        else
            acc -= i;
        if ((x >> 8) % 3 == 0)
            acc = acc * 3 + 1;
    }
    put_hex(acc);
    return 0;
}
