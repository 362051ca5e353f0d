/* recursion.c: deep recursion with the shadow stack in use.
 *   ack(m,n)        Ackermann's function (m <= 3), thousands of nested calls;
 *   expr <text> = v a recursive-descent parser (expr/term/factor, each frame holding a 256-byte
 *                   buffer on the shadow stack) evaluating generated expressions, unsigned 32-bit
 *                   arithmetic (+ - * and parentheses, unary minus), nesting up to 150 deep;
 *   chain(n) = v    a linear recursion n deep passing a 256-byte struct by value (memcpy'd into
 *                   every frame): v = sum over k = 1..n of (k * 2654435761) mod 2^32, mod 2^32;
 *   even(n) = 0|1   mutual recursion through function pointers, n deep.
 * Deterministic: expressions come from the LCG x = x * 1103515245 + 12345 (mod 2^32). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned ack(unsigned m, unsigned n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

/* -- expressions ------------------------------------------------------------------------------ */
static uint32_t lcg;
static unsigned next_random(unsigned bound) {
    lcg = lcg * 1103515245u + 12345u;
    return (lcg >> 16) % bound;
}

static char text[8192];
static size_t length;

static void emit(const char *s) {
    size_t n = strlen(s);
    memcpy(text + length, s, n);
    length += n;
    text[length] = 0;
}

static void generate(int depth) {
    unsigned choice = depth <= 0 ? 0 : next_random(5);
    char number[16];
    switch (choice) {
    case 0: snprintf(number, sizeof number, "%u", next_random(100000)); emit(number); break;
    case 1: emit("("); generate(depth - 1); emit(")"); break;
    case 2: emit("-"); generate(depth - 1); break;
    default: {
        static const char *const ops[] = {"+", "-", "*"};
        generate(depth - 1);
        emit(ops[next_random(3)]);
        generate(depth - 1);
    }
    }
}

static const char *cursor;
static int max_depth, depth_now;
static uint32_t parse_expr(void);

/* every frame keeps a copy of the text it starts at: a sizeable frame on the shadow stack */
static void note(char scratch[256]) {
    strncpy(scratch, cursor, 255);
    scratch[255] = 0;
    if (++depth_now > max_depth) max_depth = depth_now;
}

static uint32_t parse_factor(void) {
    char scratch[256];
    volatile char *keep = scratch;
    note(scratch);
    uint32_t v;
    if (*cursor == '(') {
        cursor++;
        v = parse_expr();
        cursor++;  /* ')' */
    } else if (*cursor == '-') {
        cursor++;
        v = -parse_factor();
    } else {
        v = 0;
        while (*cursor >= '0' && *cursor <= '9') v = v * 10 + (uint32_t)(*cursor++ - '0');
    }
    depth_now--;
    return v + (uint32_t)(keep[256 - 1] & 0);  /* uses the buffer: it stays in the frame */
}

static uint32_t parse_term(void) {
    char scratch[256];
    volatile char *keep = scratch;
    note(scratch);
    uint32_t v = parse_factor();
    while (*cursor == '*') {
        cursor++;
        v *= parse_factor();
    }
    depth_now--;
    return v + (uint32_t)(keep[0] & 0);
}

static uint32_t parse_expr(void) {
    char scratch[256];
    volatile char *keep = scratch;
    note(scratch);
    uint32_t v = parse_term();
    while (*cursor == '+' || *cursor == '-') {
        char op = *cursor++;
        uint32_t w = parse_term();
        v = op == '+' ? v + w : v - w;
    }
    depth_now--;
    return v + (uint32_t)(keep[1] & 0);
}

static uint32_t evaluate(const char *source) {
    cursor = source;
    max_depth = depth_now = 0;
    return parse_expr();
}

/* -- a big frame passed by value ---------------------------------------------------------------- */
struct block { uint32_t words[64]; };
static volatile unsigned chain_returns;  /* stored after every call: no call is a tail call */

static uint32_t chain(struct block b, unsigned n) {
    if (n == 0) return b.words[0];
    b.words[1 + n % 63] ^= n;  /* touches the copy, never words[0] */
    struct block next = b;    /* another copy in this frame */
    next.words[0] += n * 2654435761u;
    uint32_t v = chain(next, n - 1);
    chain_returns++;
    return v;
}

/* -- mutual recursion through function pointers ----------------------------------------------- */
typedef int (*parity)(unsigned);
static int is_even(unsigned n);
static int is_odd(unsigned n);
static volatile parity even_fn = is_even, odd_fn = is_odd;
static int is_even(unsigned n) { return n == 0 ? 1 : odd_fn(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : even_fn(n - 1); }

int main(void) {
    for (unsigned m = 0; m <= 3; m++)
        for (unsigned n = 0; n <= (m < 3 ? 10u : 6u); n++) printf("ack(%u,%u) = %u\n", m, n, ack(m, n));

    for (unsigned k = 0; k < 12; k++) {
        lcg = 7 + k;
        length = 0;
        generate((int)(2 + k % 7));
        printf("expr %s = %u\n", text, evaluate(text));
    }
    /* nesting 150 deep: ((((...(n)...)))) with an operation at every level */
    length = 0;
    for (int i = 0; i < 150; i++) emit(i % 3 == 0 ? "-(" : "(");
    emit("12345");
    for (int i = 150; i > 0; i--) emit(i % 2 ? "*3)" : "+7)");
    uint32_t deep = evaluate(text);
    printf("expr %s = %u\n", text, deep);
    printf("max parse depth = %d\n", max_depth);

    struct block b;
    memset(&b, 0, sizeof b);
    static const unsigned depths[] = {0, 1, 10, 1000, 3000};
    for (unsigned i = 0; i < sizeof depths / sizeof *depths; i++)
        printf("chain(%u) = %u\n", depths[i], chain(b, depths[i]));
    static const unsigned parities[] = {0, 1, 7, 1000, 3001};
    for (unsigned i = 0; i < sizeof parities / sizeof *parities; i++)
        printf("even(%u) = %d\n", parities[i], is_even(parities[i]));
    return 0;
}
