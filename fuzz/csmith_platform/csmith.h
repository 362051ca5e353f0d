/* resumefuzz: Csmith's platform hooks for host-I/O cases (see fuzz/csmith.py, HOST_IO_SHARE).
 *
 * A Csmith program's main calls platform_main_begin() first and platform_main_end(crc, flag)
 * last; csmith's own platform_generic.h (included by random_inc.h, from csmith.h) only prints
 * the checksum.  For a host-I/O case this folder comes first on the include path, so the
 * program's #include "csmith.h" finds this file: it defines PLATFORM_GENERIC_H, so that csmith's
 * own hooks are skipped (random_inc.h includes them by a quoted name, from its own folder, which
 * no include path can override), defines hooks that use the WASI host's state, then includes
 * csmith's csmith.h (#include_next: the next folder on the include path).
 *
 * begin: stdout line-buffered (each line reaches fd_write when printed, so output is written
 * before later suspensions), a file opened in the preopened directory with a line written to it
 * (the descriptor stays open, its offset past that line, through the whole computation), a
 * clock reading (monotonic twice, so that a clock set back to its start is seen going backwards,
 * and realtime) and random bytes, and a line on stdout.
 * end: the clock and random bytes read again; the crc and the time/random-derived values
 * written to the file (at its offset) and to stdout; the file read back from its start and
 * printed; whether the monotonic clock went forwards (elapsed >= 0).
 *
 * Both hooks also write a line to stderr, and end exits with the code the environment variable
 * RESUMEFUZZ_EXIT gives (wasi-libc reads the environment at the first getenv, here after the
 * whole computation; csmith.py sets it for host-I/O cases).
 *
 * What a broken restore of the host state does to it: a lost or repeated stdout tail changes
 * stdout; a file offset restored as 0 overwrites the first line (files); a descriptor missing
 * after restore loses the last lines (files); clocks restarted go backwards (clock); a random
 * stream restarted repeats begin's bytes (stdout); stderr lost loses begin's line (stderr); an
 * environment lost on restore changes the exit code (exit).
 */
#ifndef RESUMEFUZZ_CSMITH_PLATFORM_H
#define RESUMEFUZZ_CSMITH_PLATFORM_H

#define PLATFORM_GENERIC_H /* csmith's platform_generic.h: replaced by the hooks below */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define RFZ_LOG "csmith.log"

static int rfz_log = -1;
static struct timespec rfz_begin_monotonic, rfz_begin_realtime;
static uint64_t rfz_begin_random;

static uint64_t rfz_random64(void)
{
	unsigned char bytes[8];
	uint64_t value = 0;
	int i;
	if (getentropy(bytes, sizeof bytes) != 0)
		return 0;
	for (i = 0; i < 8; i++)
		value = value << 8 | bytes[i];
	return value;
}

static long long rfz_ns(struct timespec t)
{
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void rfz_write(const char *text, int length)
{
	if (rfz_log >= 0 && length > 0)
		write(rfz_log, text, (size_t)length);
}

static void
platform_main_begin(void)
{
	char line[128];
	int n;
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &rfz_begin_monotonic); /* the second reading is begin's time */
	rfz_log = open(RFZ_LOG, O_RDWR | O_CREAT | O_TRUNC, 0644);
	clock_gettime(CLOCK_MONOTONIC, &rfz_begin_monotonic);
	clock_gettime(CLOCK_REALTIME, &rfz_begin_realtime);
	rfz_begin_random = rfz_random64();
	n = snprintf(line, sizeof line, "begin: fd %d random %016llx\n", rfz_log,
	             (unsigned long long)rfz_begin_random);
	rfz_write(line, n);
	printf("%s", line);
	write(2, "begin\n", 6);
}

static void
platform_main_end(uint32_t crc, int flag)
{
	char text[256], back[512];
	struct timespec monotonic, realtime;
	uint64_t later;
	long long elapsed, wall;
	ssize_t got;
	int n;
	(void)flag;
	clock_gettime(CLOCK_MONOTONIC, &monotonic);
	clock_gettime(CLOCK_REALTIME, &realtime);
	later = rfz_random64();
	elapsed = rfz_ns(monotonic) - rfz_ns(rfz_begin_monotonic);
	wall = rfz_ns(realtime) - rfz_ns(rfz_begin_realtime);
	n = snprintf(text, sizeof text,
	             "checksum = %X\nrandom %016llx (xor begin %016llx)\nelapsed %lld ns (realtime %lld ns)\n",
	             crc, (unsigned long long)later, (unsigned long long)(later ^ rfz_begin_random), elapsed, wall);
	rfz_write(text, n);
	printf("%s", text);
	if (rfz_log >= 0 && lseek(rfz_log, 0, SEEK_SET) == 0) {
		got = read(rfz_log, back, sizeof back - 1);
		back[got > 0 ? got : 0] = '\0';
		printf("%s holds %zd bytes:\n%s", RFZ_LOG, got, back);
	} else {
		printf("%s: cannot seek back\n", RFZ_LOG);
	}
	if (rfz_log >= 0)
		close(rfz_log);
	clock_gettime(CLOCK_MONOTONIC, &monotonic);
	elapsed = rfz_ns(monotonic) - rfz_ns(rfz_begin_monotonic);
	printf("monotonic: elapsed >= 0: %s\n", elapsed >= 0 ? "yes" : "no");
	write(2, "end\n", 4);
	fflush(stdout);
	{
		const char *code = getenv("RESUMEFUZZ_EXIT");
		exit(code ? atoi(code) : 0);
	}
}

#define MB (1<<20)

#endif /* RESUMEFUZZ_CSMITH_PLATFORM_H */

#include_next <csmith.h>
