/* Store-bound: word stores streaming over 512 KiB (beyond the L1D, in the
 * L2), four passes, then a read-back checksum of a few lines. */
#include "rt.h"

#define WORDS (1u << 17)          /* 512 KiB of uint32 */
static unsigned int buf[WORDS];

int
main(void)
{
    for (unsigned pass = 0; pass < 4; pass++)
        for (unsigned i = 0; i < WORDS; i += 2)
            buf[i] = i + pass;
    unsigned long sum = 0;
    for (unsigned i = 0; i < WORDS; i += 1024)
        sum += buf[i];
    put_hex(sum);
    return 0;
}
