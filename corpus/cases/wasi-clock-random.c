/* wasi-clock-random.c: host state a program reads back after it resumed -- clocks and random bytes.
 * Each of 40 rounds does some work (a loop: the yield points), then reads the monotonic and
 * realtime clocks (clock_time_get), the monotonic clock's resolution (clock_res_get), sleeps 1 ms
 * (nanosleep: a poll_oneoff clock subscription, which advances the virtual clocks), yields
 * (sched_yield) and draws 8 random bytes (getentropy: random_get).  It prints every reading, so a
 * host that restarts its clocks or its random stream after a restore changes stdout, and says
 * "BACKWARDS" (and exits 1) if the monotonic clock ever decreases.  The harness's WASI host makes
 * all of it deterministic: virtual clocks and a seeded random stream, carried in the snapshot. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void) {
    uint64_t last = 0, work = 1;
    int backwards = 0;
    struct timespec res, nap = {0, 1000000};
    clock_getres(CLOCK_MONOTONIC, &res);
    printf("monotonic resolution %ld ns\n", (long)res.tv_nsec);
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 200; i++) work = work * 6364136223846793005u + 1442695040888963407u;
        uint64_t now = ns(CLOCK_MONOTONIC), wall = ns(CLOCK_REALTIME);
        if (now < last) backwards = 1;
        unsigned char bytes[8];
        if (getentropy(bytes, sizeof bytes) != 0) return 2;
        printf("round %2d: monotonic +%llu ns, realtime %llu, random %02x%02x%02x%02x%02x%02x%02x%02x, work %016llx\n",
               round, (unsigned long long)(now - last), (unsigned long long)wall, bytes[0], bytes[1], bytes[2],
               bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], (unsigned long long)work);
        last = now;
        nanosleep(&nap, NULL);
        sched_yield();
    }
    printf(backwards ? "BACKWARDS\n" : "monotonic throughout\n");
    return backwards;
}
