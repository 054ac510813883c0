/* Memory-bound: one 4-byte load per 64-byte line over a 4 MiB array (twice
 * the L2), after a store pass that writes one word per line. */
#include "rt.h"

#define WORDS (1u << 20)          /* 4 MiB of uint32 */
#define STRIDE 16                 /* one word per 64-byte line */
static unsigned int a[WORDS];

int
main(void)
{
    for (unsigned i = 0; i < WORDS; i += STRIDE)
        a[i] = i * 2654435761u;
    unsigned long sum = 0;
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < WORDS; i += STRIDE)
            sum += a[i] ^ pass;
    put_hex(sum);
    return 0;
}
