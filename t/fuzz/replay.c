/*
 * Replays fuzz corpora without libFuzzer: each argument is a file or a
 * directory of files, each fed once to LLVMFuzzerTestOneInput.  Prints TAP
 * so that make test can run it through prove (t/090-fuzz-replay.t).
 */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int  replayed;

static void
replay_file(const char *path)
{
    FILE     *f;
    long      n;
    uint8_t  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        return;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc(n ? n : 1);
    if (p && fread(p, 1, n, f) == (size_t) n) {
        LLVMFuzzerTestOneInput(p, (size_t) n);
        replayed++;
    }
    free(p);
    fclose(f);
}

int
main(int argc, char **argv)
{
    int             i;
    DIR            *d;
    char            path[4096];
    struct stat     st;
    struct dirent  *e;

    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) != 0) {
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            replay_file(argv[i]);
            continue;
        }
        d = opendir(argv[i]);
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            replay_file(path);
        }
        if (d) {
            closedir(d);
        }
    }

    printf("%s 1 - replayed %d inputs without a crash\n",
           replayed > 0 ? "ok" : "not ok", replayed);
    printf("1..1\n");
    return replayed > 0 ? 0 : 1;
}
