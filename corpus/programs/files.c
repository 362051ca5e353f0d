/* files.c: file I/O through the preopened directory "." with POSIX calls (open/read/write/lseek/
 * fstat/stat/opendir; not stdio's fopen, whose "a" mode links in fd_fdstat_set_flags).
 *   1. writes out.txt (3 lines), overwrites byte 5 after a seek, reports the offset;
 *   2. reads out.txt back whole and prints it between "--- out.txt ---" and "--- end ---";
 *   3. appends a line (O_APPEND), reports the size (lseek SEEK_END, fstat, stat) and the last line;
 *   4. copies stdin into stdin-copy.txt and prints its length;
 *   5. lists the directory (names sorted, "d" or "f" and the size of files), unless $FILES_NO_LIST is
 *      set (a listing calls fd_readdir, whose order a host need not reproduce);
 *   6. reads input.txt if there is one and prints it between "--- input.txt ---" and "--- end ---"
 *      (or "input.txt: absent");
 *   7. prints $FILES_TAG if set, writes "files: done" to stderr, and exits with argv[1] (default 0). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fail(const char *what) {
    fprintf(stderr, "files: %s: %s\n", what, strerror(errno));
    exit(70);
}

static void write_all(int fd, const char *data, size_t n) {
    while (n > 0) {
        ssize_t done = write(fd, data, n);
        if (done < 0) fail("write");
        data += done;
        n -= (size_t)done;
    }
}

/* the whole rest of FD, malloc'd; *length set */
static char *read_all(int fd, size_t *length) {
    size_t cap = 256, n = 0;
    char *buffer = malloc(cap);
    for (;;) {
        if (n == cap) buffer = realloc(buffer, cap *= 2);
        ssize_t got = read(fd, buffer + n, cap - n);
        if (got < 0) fail("read");
        if (got == 0) break;
        n += (size_t)got;
    }
    *length = n;
    return buffer;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    static const char text[] = "line one\nline two\nline three\n";
    int fd = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("open out.txt for writing");
    write_all(fd, text, sizeof text - 1);
    if (lseek(fd, 5, SEEK_SET) != 5) fail("lseek");
    write_all(fd, "O", 1);
    printf("offset after overwrite: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    close(fd);

    size_t n;
    fd = open("out.txt", O_RDONLY);
    if (fd < 0) fail("open out.txt for reading");
    char *back = read_all(fd, &n);
    close(fd);
    printf("--- out.txt ---\n");
    fwrite(back, 1, n, stdout);
    printf("--- end ---\n");
    free(back);

    fd = open("out.txt", O_WRONLY | O_APPEND);
    if (fd < 0) fail("open out.txt for appending");
    write_all(fd, "appended\n", 9);
    close(fd);
    fd = open("out.txt", O_RDONLY);
    struct stat by_fd, by_path;
    if (fd < 0 || fstat(fd, &by_fd) != 0 || stat("out.txt", &by_path) != 0) fail("stat out.txt");
    off_t end = lseek(fd, 0, SEEK_END);
    char last[16] = {0};
    lseek(fd, -9, SEEK_END);
    if (read(fd, last, 9) != 9) fail("read the last line");
    close(fd);
    printf("size: seek %lld fstat %lld stat %lld; last line: %s", (long long)end, (long long)by_fd.st_size,
           (long long)by_path.st_size, last);

    char *in = read_all(0, &n);
    fd = open("stdin-copy.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("open stdin-copy.txt");
    write_all(fd, in, n);
    close(fd);
    free(in);
    printf("stdin: %zu bytes\n", n);

    char *names[256];
    int count = 0;
    if (!getenv("FILES_NO_LIST")) {
        DIR *dir = opendir(".");
        if (!dir) fail("opendir .");
        struct dirent *entry;
        while ((entry = readdir(dir)) && count < 256)
            if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) names[count++] = strdup(entry->d_name);
        closedir(dir);
    }
    qsort(names, (size_t)count, sizeof *names, compare_names);
    for (int i = 0; i < count; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0) fail("stat an entry");
        if (S_ISDIR(st.st_mode)) printf("entry d %s\n", names[i]);
        else printf("entry f %s %lld\n", names[i], (long long)st.st_size);
        free(names[i]);
    }

    fd = open("input.txt", O_RDONLY);
    if (fd < 0) {
        if (errno != ENOENT) fail("open input.txt");
        printf("input.txt: absent\n");
    } else {
        char *input = read_all(fd, &n);
        close(fd);
        printf("--- input.txt ---\n");
        fwrite(input, 1, n, stdout);
        printf("--- end ---\n");
        free(input);
    }

    const char *tag = getenv("FILES_TAG");
    if (tag) printf("FILES_TAG=%s\n", tag);
    fflush(stdout);
    fprintf(stderr, "files: done\n");
    return argc > 1 ? atoi(argv[1]) : 0;
}
