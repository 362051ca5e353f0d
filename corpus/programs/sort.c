/* sort.c: several sorting algorithms over generated arrays; each prints a checksum of its result
 * and whether it is sorted, so a wrong resume shows in stdout.  Deterministic (no clock, no random):
 * the data come from a 32-bit LCG, x = x * 1103515245 + 12345, value = x >> 8.
 * Output, one line per (size, algorithm): "n=<size> <algorithm> sorted=<0|1> sum=<hex> first=<v> last=<v>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned int u32;

static u32 lcg_state;

static u32 next_value(void) {
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

static void generate(u32 *a, int n, u32 seed) {
    lcg_state = seed;
    for (int i = 0; i < n; i++) a[i] = next_value();
}

/* order-sensitive checksum: a wrong permutation changes it */
static u32 checksum(const u32 *a, int n) {
    u32 h = 2166136261u;
    for (int i = 0; i < n; i++) h = (h ^ a[i]) * 16777619u + (u32)i;
    return h;
}

static int is_sorted(const u32 *a, int n) {
    for (int i = 1; i < n; i++)
        if (a[i - 1] > a[i]) return 0;
    return 1;
}

static void insertion_sort(u32 *a, int n) {
    for (int i = 1; i < n; i++) {
        u32 v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
}

static void quick_sort(u32 *a, int lo, int hi) {  /* recursive, Hoare partition */
    while (lo < hi) {
        u32 pivot = a[lo + (hi - lo) / 2];
        int i = lo - 1, j = hi + 1;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j) break;
            u32 t = a[i]; a[i] = a[j]; a[j] = t;
        }
        if (j - lo < hi - j) { quick_sort(a, lo, j); lo = j + 1; }
        else { quick_sort(a, j + 1, hi); hi = j; }
    }
}

static void merge_sort(u32 *a, u32 *tmp, int n) {  /* recursive, memcpy back */
    if (n < 2) return;
    int h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

static void sift_down(u32 *a, int root, int n) {
    for (;;) {
        int child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && a[child + 1] > a[child]) child++;
        if (a[root] >= a[child]) return;
        u32 t = a[root]; a[root] = a[child]; a[child] = t;
        root = child;
    }
}

static void heap_sort(u32 *a, int n) {
    for (int i = n / 2 - 1; i >= 0; i--) sift_down(a, i, n);
    for (int end = n - 1; end > 0; end--) {
        u32 t = a[0]; a[0] = a[end]; a[end] = t;
        sift_down(a, 0, end);
    }
}

static void shell_sort(u32 *a, int n) {
    static const int gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (unsigned g = 0; g < sizeof gaps / sizeof *gaps; g++) {
        int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            u32 v = a[i];
            int j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap) a[j] = a[j - gap];
            a[j] = v;
        }
    }
}

static void radix_sort(u32 *a, u32 *tmp, int n) {  /* LSD, 8 bits a pass */
    for (int shift = 0; shift < 32; shift += 8) {
        int count[257];
        memset(count, 0, sizeof count);
        for (int i = 0; i < n; i++) count[((a[i] >> shift) & 255) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (int i = 0; i < n; i++) tmp[count[(a[i] >> shift) & 255]++] = a[i];
        memcpy(a, tmp, (size_t)n * sizeof *a);
    }
}

static int compare_u32(const void *x, const void *y) {
    u32 a = *(const u32 *)x, b = *(const u32 *)y;
    return (a > b) - (a < b);
}

static u32 *g_tmp;
static void run_insertion(u32 *a, int n) { insertion_sort(a, n); }
static void run_quick(u32 *a, int n) { quick_sort(a, 0, n - 1); }
static void run_merge(u32 *a, int n) { merge_sort(a, g_tmp, n); }
static void run_heap(u32 *a, int n) { heap_sort(a, n); }
static void run_shell(u32 *a, int n) { shell_sort(a, n); }
static void run_radix(u32 *a, int n) { radix_sort(a, g_tmp, n); }
static void run_qsort(u32 *a, int n) { qsort(a, (size_t)n, sizeof *a, compare_u32); }

static const struct { const char *name; void (*sort)(u32 *, int); } algorithms[] = {
    {"insertion", run_insertion}, {"quick", run_quick}, {"merge", run_merge}, {"heap", run_heap},
    {"shell", run_shell}, {"radix", run_radix}, {"qsort", run_qsort},
};

int main(void) {
    static const int sizes[] = {1, 7, 100, 400, 1000};
    int failures = 0;
    for (unsigned s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n = sizes[s];
        u32 *a = malloc((size_t)n * sizeof *a);
        g_tmp = malloc((size_t)n * sizeof *g_tmp);
        u32 reference = 0;
        for (unsigned k = 0; k < sizeof algorithms / sizeof *algorithms; k++) {
            generate(a, n, 42u + (u32)n);
            algorithms[k].sort(a, n);
            u32 sum = checksum(a, n);
            if (k == 0) reference = sum;
            int ok = is_sorted(a, n) && sum == reference;
            failures += !ok;
            printf("n=%d %s sorted=%d sum=%08x first=%u last=%u\n", n, algorithms[k].name, ok, sum, a[0], a[n - 1]);
        }
        free(g_tmp);
        free(a);
    }
    printf("failures=%d\n", failures);
    return failures != 0;
}
