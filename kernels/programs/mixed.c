/* A compiler-generated workload for the engine tests (built at -O2 with kernels/crt0.S): integer
 * sorting, a hash table with collisions, a branchy state machine, division, recursion and calls
 * through a function pointer, over arrays indexed with sign- and zero-extended registers.
 * The result words are written to OUT; the host checks them against qemu-aarch64. */
#include <stdint.h>

#define N 512
uint32_t OUT[8];
const void *output_ptr = OUT;
const uint64_t output_bytes = sizeof(OUT);

static uint32_t data[N];
static int32_t table[257];
static uint8_t text[1024];

static uint32_t lcg(uint32_t *s) { *s = *s * 1103515245u + 12345u; return *s >> 8; }

static void insertion_sort(uint32_t *a, int n) {
    for (int i = 1; i < n; i++) {
        uint32_t v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
}

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ (b << 3); }
static uint32_t op_div(uint32_t a, uint32_t b) { return a / (b | 1) + a % 7; }

static uint32_t (*volatile ops[3])(uint32_t, uint32_t) = {op_add, op_xor, op_div};

static int words(const uint8_t *t, int n) {
    int state = 0, count = 0;
    for (int i = 0; i < n; i++) {
        switch (t[i] & 7) {
        case 0: case 1: state = 0; break;
        case 2: if (!state) count++; state = 1; break;
        case 3: state = state ? 2 : 1; break;
        case 5: count += state == 2; state = 0; break;
        default: state = 1;
        }
    }
    return count;
}

void kernel_main(void) {
    uint32_t seed = 42;
    for (int i = 0; i < N; i++) data[i] = lcg(&seed) % 100000;
    insertion_sort(data, N);
    uint32_t sorted = 1;
    for (int i = 1; i < N; i++) sorted &= data[i - 1] <= data[i];
    for (int i = 0; i < 257; i++) table[i] = -1;
    int collisions = 0;
    for (int i = 0; i < N; i++) {
        int h = (int)(data[i] * 2654435761u >> 24) % 257;
        while (table[h] >= 0) { h = h == 256 ? 0 : h + 1; collisions++; if (collisions > 100000) break; }
        table[h] = i;
    }
    for (int i = 0; i < 1024; i++) text[i] = (uint8_t)lcg(&seed);
    uint32_t acc = 0, acc2 = 1;
    for (int i = 0; i < N; i++) {       /* two indirect call sites (blr) */
        acc = ops[data[i] % 3](acc, data[i]);
        acc2 = ops[(data[i] + 1) % 3](acc2, data[i] >> 1);
    }
    OUT[0] = sorted;
    OUT[1] = (uint32_t)collisions;
    OUT[2] = (uint32_t)words(text, 1024);
    OUT[3] = acc;
    OUT[4] = (uint32_t)fib(15);
    OUT[5] = data[N / 2];
    OUT[6] = (uint32_t)table[100];
    OUT[7] = seed ^ acc2;
}
