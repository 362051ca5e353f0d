/* interp.c: a tiny stack-machine interpreter.  Programs are assembled at run time from text
 * (two passes, labels), then run twice: once by a switch over the opcode (compiled to a jump table)
 * and once through a table of handler function pointers (call_indirect).  CALL/RET use frames of
 * their own, so recursive programs (fib) work.  Output, one line per run:
 * "<name>(<args>) = <result> switch=<result> table=<result> steps=<instructions executed>"
 * where the first result is the switch run's; a mismatch between the two prints "MISMATCH". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { PUSH, LOAD, STORE, ADD, SUB, MUL, DIV, MOD, LT, GT, EQ, JMP, JZ, JNZ, CALL, RET, DUP, POP, NOPS };
static const char *const op_names[NOPS] = {"push", "load", "store", "add", "sub", "mul", "div", "mod", "lt",
                                           "gt", "eq", "jmp", "jz", "jnz", "call", "ret", "dup", "pop"};
/* operands after the opcode: PUSH value; LOAD/STORE local; JMP/JZ/JNZ target; CALL target arity */
static int operands(int op) {
    return op == CALL ? 2 : (op == PUSH || op == LOAD || op == STORE || op == JMP || op == JZ || op == JNZ);
}

#define MAX_CODE 512
#define MAX_LABELS 32
#define STACK 256
#define FRAMES 128
#define LOCALS 8

struct program { int64_t code[MAX_CODE]; int length; };

struct frame { int return_pc; int64_t locals[LOCALS]; };

struct vm {
    const struct program *program;
    int pc, sp, fp, halted;
    int64_t stack[STACK];
    struct frame frames[FRAMES];
    uint64_t steps;
    int64_t result;
};

static int find_label(char names[][24], int *addresses, int count, const char *name) {
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0) return addresses[i];
    fprintf(stderr, "interp: unknown label %s\n", name);
    exit(2);
}

/* two-pass assembler: "label:" defines, a word after jmp/jz/jnz/call names a label */
static void assemble(const char *source, struct program *out) {
    char names[MAX_LABELS][24];
    int addresses[MAX_LABELS], count = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *p = source;
        int pc = 0, pending = 0, pending_op = -1;
        char word[24];
        int n;
        while (sscanf(p, "%23s%n", word, &n) == 1) {
            p += n;
            size_t len = strlen(word);
            if (word[len - 1] == ':') {
                if (pass == 0) {
                    word[len - 1] = 0;
                    strcpy(names[count], word);
                    addresses[count++] = pc;
                }
                continue;
            }
            if (pending) {
                int64_t value;
                if ((pending_op == JMP || pending_op == JZ || pending_op == JNZ || (pending_op == CALL && pending == 2)))
                    value = pass ? find_label(names, addresses, count, word) : 0;
                else
                    value = strtoll(word, NULL, 10);
                out->code[pc++] = value;
                pending--;
                continue;
            }
            int op = 0;
            while (op < NOPS && strcmp(op_names[op], word) != 0) op++;
            if (op == NOPS) { fprintf(stderr, "interp: unknown instruction %s\n", word); exit(2); }
            out->code[pc++] = op;
            pending = operands(op);
            pending_op = op;
        }
        out->length = pc;
    }
}

static void vm_start(struct vm *vm, const struct program *program, const int64_t *args, int nargs) {
    memset(vm, 0, sizeof *vm);
    vm->program = program;
    vm->frames[0].return_pc = -1;
    for (int i = 0; i < nargs; i++) vm->frames[0].locals[i] = args[i];
}

#define CODE (vm->program->code)
#define TOP (vm->stack[vm->sp - 1])
#define POP_VALUE (vm->stack[--vm->sp])

static void do_call(struct vm *vm, int target, int arity) {
    struct frame *f = &vm->frames[++vm->fp];
    memset(f, 0, sizeof *f);
    f->return_pc = vm->pc;
    for (int i = arity - 1; i >= 0; i--) f->locals[i] = POP_VALUE;
    vm->pc = target;
}

static void do_ret(struct vm *vm) {
    int64_t value = POP_VALUE;
    int back = vm->frames[vm->fp].return_pc;
    if (vm->fp == 0) { vm->halted = 1; vm->result = value; return; }
    vm->fp--;
    vm->pc = back;
    vm->stack[vm->sp++] = value;
}

static int64_t run_switch(struct vm *vm) {
    while (!vm->halted) {
        int64_t a, b;
        vm->steps++;
        switch ((enum op)CODE[vm->pc++]) {
        case PUSH: vm->stack[vm->sp++] = CODE[vm->pc++]; break;
        case LOAD: vm->stack[vm->sp++] = vm->frames[vm->fp].locals[CODE[vm->pc++]]; break;
        case STORE: vm->frames[vm->fp].locals[CODE[vm->pc++]] = POP_VALUE; break;
        case ADD: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = (int64_t)((uint64_t)a + (uint64_t)b); break;
        case SUB: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = (int64_t)((uint64_t)a - (uint64_t)b); break;
        case MUL: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = (int64_t)((uint64_t)a * (uint64_t)b); break;
        case DIV: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = a / b; break;
        case MOD: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = a % b; break;
        case LT: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = a < b; break;
        case GT: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = a > b; break;
        case EQ: b = POP_VALUE; a = POP_VALUE; vm->stack[vm->sp++] = a == b; break;
        case JMP: vm->pc = (int)CODE[vm->pc]; break;
        case JZ: a = POP_VALUE; vm->pc = a == 0 ? (int)CODE[vm->pc] : vm->pc + 1; break;
        case JNZ: a = POP_VALUE; vm->pc = a != 0 ? (int)CODE[vm->pc] : vm->pc + 1; break;
        case CALL: { int target = (int)CODE[vm->pc], arity = (int)CODE[vm->pc + 1]; vm->pc += 2; do_call(vm, target, arity); break; }
        case RET: do_ret(vm); break;
        case DUP: vm->stack[vm->sp] = TOP; vm->sp++; break;
        case POP: vm->sp--; break;
        default: fprintf(stderr, "interp: bad opcode at %d\n", vm->pc - 1); exit(2);
        }
    }
    return vm->result;
}

/* the same machine, one handler function per opcode */
typedef void (*handler)(struct vm *);
static void h_push(struct vm *vm) { vm->stack[vm->sp++] = CODE[vm->pc++]; }
static void h_load(struct vm *vm) { vm->stack[vm->sp++] = vm->frames[vm->fp].locals[CODE[vm->pc++]]; }
static void h_store(struct vm *vm) { vm->frames[vm->fp].locals[CODE[vm->pc++]] = POP_VALUE; }
#define BINARY(name, expr) static void name(struct vm *vm) { int64_t b = POP_VALUE, a = POP_VALUE; vm->stack[vm->sp++] = (expr); }
BINARY(h_add, (int64_t)((uint64_t)a + (uint64_t)b))
BINARY(h_sub, (int64_t)((uint64_t)a - (uint64_t)b))
BINARY(h_mul, (int64_t)((uint64_t)a * (uint64_t)b))
BINARY(h_div, a / b)
BINARY(h_mod, a % b)
BINARY(h_lt, a < b)
BINARY(h_gt, a > b)
BINARY(h_eq, a == b)
static void h_jmp(struct vm *vm) { vm->pc = (int)CODE[vm->pc]; }
static void h_jz(struct vm *vm) { int64_t a = POP_VALUE; vm->pc = a == 0 ? (int)CODE[vm->pc] : vm->pc + 1; }
static void h_jnz(struct vm *vm) { int64_t a = POP_VALUE; vm->pc = a != 0 ? (int)CODE[vm->pc] : vm->pc + 1; }
static void h_call(struct vm *vm) { int t = (int)CODE[vm->pc], n = (int)CODE[vm->pc + 1]; vm->pc += 2; do_call(vm, t, n); }
static void h_ret(struct vm *vm) { do_ret(vm); }
static void h_dup(struct vm *vm) { vm->stack[vm->sp] = TOP; vm->sp++; }
static void h_pop(struct vm *vm) { vm->sp--; }
static const handler handlers[NOPS] = {h_push, h_load, h_store, h_add, h_sub, h_mul, h_div, h_mod, h_lt,
                                       h_gt, h_eq, h_jmp, h_jz, h_jnz, h_call, h_ret, h_dup, h_pop};

static int64_t run_table(struct vm *vm) {
    while (!vm->halted) {
        vm->steps++;
        handlers[CODE[vm->pc++]](vm);
    }
    return vm->result;
}

static const struct { const char *name; const char *source; } sources[] = {
    {"fact", "push 1 store 1 loop: load 0 jz end load 1 load 0 mul store 1 "
             "load 0 push 1 sub store 0 jmp loop end: load 1 ret"},
    {"fib", "fib: load 0 push 2 lt jz rec load 0 ret "
            "rec: load 0 push 1 sub call fib 1 load 0 push 2 sub call fib 1 add ret"},
    {"gcd", "loop: load 1 jz done load 0 load 1 mod load 1 store 0 store 1 jmp loop done: load 0 ret"},
    {"primes", "push 0 store 1 push 2 store 2 "
               "outer: load 2 load 0 lt jz done push 2 store 3 "
               "inner: load 3 load 3 mul load 2 gt jnz prime load 2 load 3 mod jz next "
               "load 3 push 1 add store 3 jmp inner "
               "prime: load 1 push 1 add store 1 "
               "next: load 2 push 1 add store 2 jmp outer done: load 1 ret"},
    {"collatz", "push 0 store 1 loop: load 0 push 1 eq jnz done load 0 push 2 mod jz even "
                "load 0 push 3 mul push 1 add store 0 jmp step "
                "even: load 0 push 2 div store 0 step: load 1 push 1 add store 1 jmp loop done: load 1 ret"},
};

static const struct { int program; int nargs; int64_t args[2]; } runs[] = {
    {0, 1, {0}}, {0, 1, {5}}, {0, 1, {20}}, {0, 1, {25}},
    {1, 1, {0}}, {1, 1, {1}}, {1, 1, {10}}, {1, 1, {14}},
    {2, 2, {1071, 462}}, {2, 2, {832040, 514229}}, {2, 2, {0, 7}},
    {3, 1, {2}}, {3, 1, {100}}, {3, 1, {600}},
    {4, 1, {1}}, {4, 1, {27}}, {4, 1, {97}}, {4, 1, {837799}},
};

int main(void) {
    static struct program programs[sizeof sources / sizeof *sources];
    static struct vm vm;
    for (unsigned i = 0; i < sizeof sources / sizeof *sources; i++) assemble(sources[i].source, &programs[i]);
    int mismatches = 0;
    for (unsigned r = 0; r < sizeof runs / sizeof *runs; r++) {
        const struct program *p = &programs[runs[r].program];
        vm_start(&vm, p, runs[r].args, runs[r].nargs);
        int64_t by_switch = run_switch(&vm);
        uint64_t steps = vm.steps;
        vm_start(&vm, p, runs[r].args, runs[r].nargs);
        int64_t by_table = run_table(&vm);
        mismatches += by_switch != by_table || steps != vm.steps;
        printf("%s(", sources[runs[r].program].name);
        for (int a = 0; a < runs[r].nargs; a++) printf(a ? ",%lld" : "%lld", (long long)runs[r].args[a]);
        printf(") = %lld switch=%lld table=%lld steps=%llu%s\n", (long long)by_switch, (long long)by_switch,
               (long long)by_table, (unsigned long long)steps, by_switch != by_table ? " MISMATCH" : "");
    }
    printf("mismatches=%d\n", mismatches);
    return mismatches != 0;
}
