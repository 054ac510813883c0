/* Memory-bound: one 4-byte load per 64-byte line over a 4 MiB array (twice
 * the L2), after a store pass that writes one word per line: every access
 * misses both caches. */
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
    for (unsigned i = 0; i < WORDS; i += STRIDE)
        sum += a[i];
    put_hex(sum);
    return 0;
}
