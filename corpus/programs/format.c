/* format.c: formatted output through printf: ints, unsigned, long long, doubles (including
 * infinities, NaN, signed zero, subnormals, large and tiny values), strings and characters, with
 * flags, widths and precisions.  Every conversion is printed on a line of its own that states what
 * was formatted, so a reader can recompute it:
 *     "<kind>\t<format>\t<value>\t[<printf's result>]"
 * kind i (int), u (unsigned), l (long long), d (double; value = its IEEE-754 bits, 16 hex digits),
 * s (string), c (character code); the last line is "count=<lines printed before it>". */
#include <stdio.h>
#include <string.h>

#define N(a) (sizeof (a) / sizeof *(a))

static int count;

static unsigned long long bits_of(double v) {
    unsigned long long b;
    memcpy(&b, &v, sizeof b);
    return b;
}

int main(void) {
    static const char *const int_formats[] = {"%d", "%i", "%5d", "%-5d", "%05d", "%+d", "% d", "%x", "%X",
                                              "%o", "%8.3d", "%-+8d", "%.5i", "%d%%"};
    static const int ints[] = {0, 1, -1, 42, -42, 100000, 2147483647, -2147483647 - 1};
    static const char *const unsigned_formats[] = {"%u", "%x", "%X", "%o", "%10u", "%-10x", "%.8X", "%#x", "%#X", "%#o"};
    static const unsigned unsigneds[] = {1, 255, 4096, 3000000000u, 4294967295u};
    static const char *const long_formats[] = {"%lld", "%+lld", "%25lld", "%-22lld", "%llx", "%llo", "%llX"};
    static const long long longs[] = {0, 1234567890123ll, -1234567890123ll, 9223372036854775807ll,
                                      -9223372036854775807ll - 1};
    static const char *const double_formats[] = {"%f", "%.2f", "%10.4f", "%-12.3f", "%+.1f", "% f", "%08.2f",
                                                 "%.0f", "%#.0f", "%e", "%.3e", "%E", "%+12.4e", "%g", "%.10g",
                                                 "%G", "%#g", "%.17g", "%10.3g", "%-10g"};
    double zero = 0.0;
    const double doubles[] = {0.0, -0.0, 1.0, 0.5, 2.5, -2.5, 3.141592653589793, 1e-10, 123456789.125,
                              1e300, -1e-300, 5e-324, 2.2250738585072014e-308, 1.0 / 3.0, 1e21, 9.999999e-5,
                              1.0 / zero, -1.0 / zero, zero / zero};
    static const char *const string_formats[] = {"%s", "%10s", "%-10s", "%.3s", "%10.2s", "%-8.5s"};
    static const char *const strings[] = {"hello", "", "wasi preview 1", "a"};
    static const char *const char_formats[] = {"%c", "%3c", "%-3c"};
    static const int chars[] = {'A', 'z', '0', ' '};

    for (unsigned f = 0; f < N(int_formats); f++)
        for (unsigned v = 0; v < N(ints); v++) {
            printf("i\t%s\t%d\t[", int_formats[f], ints[v]);
            printf(int_formats[f], ints[v]);
            printf("]\n");
            count++;
        }
    for (unsigned f = 0; f < N(unsigned_formats); f++)
        for (unsigned v = 0; v < N(unsigneds); v++) {
            printf("u\t%s\t%u\t[", unsigned_formats[f], unsigneds[v]);
            printf(unsigned_formats[f], unsigneds[v]);
            printf("]\n");
            count++;
        }
    for (unsigned f = 0; f < N(long_formats); f++)
        for (unsigned v = 0; v < N(longs); v++) {
            printf("l\t%s\t%lld\t[", long_formats[f], longs[v]);
            printf(long_formats[f], longs[v]);
            printf("]\n");
            count++;
        }
    for (unsigned f = 0; f < N(double_formats); f++)
        for (unsigned v = 0; v < N(doubles); v++) {
            printf("d\t%s\t%016llx\t[", double_formats[f], bits_of(doubles[v]));
            printf(double_formats[f], doubles[v]);
            printf("]\n");
            count++;
        }
    for (unsigned f = 0; f < N(string_formats); f++)
        for (unsigned v = 0; v < N(strings); v++) {
            printf("s\t%s\t%s\t[", string_formats[f], strings[v]);
            printf(string_formats[f], strings[v]);
            printf("]\n");
            count++;
        }
    for (unsigned f = 0; f < N(char_formats); f++)
        for (unsigned v = 0; v < N(chars); v++) {
            printf("c\t%s\t%d\t[", char_formats[f], chars[v]);
            printf(char_formats[f], chars[v]);
            printf("]\n");
            count++;
        }
    printf("count=%d\n", count);
    return 0;
}
