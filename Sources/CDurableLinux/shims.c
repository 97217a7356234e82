#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CDurableLinux.h"

#include <errno.h>
#include <spawn.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

static int ofd_command(int fd, int cmd, short type, int64_t start, int64_t len) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);  // l_pid must be 0 for OFD commands
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)start;
    fl.l_len = (off_t)len;
    int rc;
    do {
        rc = fcntl(fd, cmd, &fl);
    } while (rc == -1 && errno == EINTR && cmd == F_OFD_SETLKW);
    return rc;
}

int durable_ofd_lock(int fd, int exclusive, int64_t start, int64_t len, int wait) {
    return ofd_command(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, exclusive ? F_WRLCK : F_RDLCK, start, len);
}

int durable_ofd_unlock(int fd, int64_t start, int64_t len) {
    return ofd_command(fd, F_OFD_SETLK, F_UNLCK, start, len);
}

int durable_ofd_is_locked(int fd, int64_t start, int64_t len) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)start;
    fl.l_len = (off_t)len;
    if (fcntl(fd, F_OFD_GETLK, &fl) == -1) return -1;
    return fl.l_type == F_UNLCK ? 0 : 1;
}

int durable_fallocate(int fd, int mode, int64_t offset, int64_t len) {
    return fallocate(fd, mode, (off_t)offset, (off_t)len);
}

int64_t durable_filesystem_type(const char *path) {
    struct statfs st;
    if (statfs(path, &st) == -1) return -1;
    return (int64_t)st.f_type;
}

/* ---- CRC32C ---- */

static uint32_t crc32c_table[8][256];
static int crc32c_table_ready = 0;

static void crc32c_init_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = crc32c_table[0][n];
        for (int k = 1; k < 8; k++) {
            c = crc32c_table[0][c & 0xff] ^ (c >> 8);
            crc32c_table[k][n] = c;
        }
    }
    __atomic_store_n(&crc32c_table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t crc32c_software(uint32_t crc, const unsigned char *p, size_t len) {
    if (!__atomic_load_n(&crc32c_table_ready, __ATOMIC_ACQUIRE)) crc32c_init_table();
    crc = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = crc32c_table[7][w & 0xff] ^ crc32c_table[6][(w >> 8) & 0xff] ^
              crc32c_table[5][(w >> 16) & 0xff] ^ crc32c_table[4][(w >> 24) & 0xff] ^
              crc32c_table[3][(w >> 32) & 0xff] ^ crc32c_table[2][(w >> 40) & 0xff] ^
              crc32c_table[1][(w >> 48) & 0xff] ^ crc32c_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len) {
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

int durable_crc32c_is_hardware(void) { return __builtin_cpu_supports("sse4.2") ? 1 : 0; }

uint32_t durable_crc32c(uint32_t crc, const void *buf, size_t len) {
    static int hw = -1;  // idempotent lazy probe; atomics keep concurrent first calls well-defined
    int h = __atomic_load_n(&hw, __ATOMIC_RELAXED);
    if (h < 0) {
        h = durable_crc32c_is_hardware();
        __atomic_store_n(&hw, h, __ATOMIC_RELAXED);
    }
    return h ? crc32c_sse42(crc, buf, len) : crc32c_software(crc, buf, len);
}
#else
int durable_crc32c_is_hardware(void) { return 0; }

uint32_t durable_crc32c(uint32_t crc, const void *buf, size_t len) {
    return crc32c_software(crc, buf, len);
}
#endif

int durable_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

// The process's arguments, as the C runtime hands them to constructors (a glibc extension).
// Swift's own CommandLine.arguments come from /proc/self/cmdline in a statically linked binary,
// which an empty root or a minimal container may not mount; these are written once, before
// main, and only read after.
static int captured_argc = 0;
static char **captured_argv = 0;

__attribute__((constructor)) static void durable_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}

int durable_argument_count(void) { return captured_argc; }

const char *durable_argument(int index) {
    return index >= 0 && index < captured_argc ? captured_argv[index] : 0;
}

int durable_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd) {
    posix_spawn_file_actions_t actions;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0 && out_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    if (rc == 0 && err_fd >= 0) rc = posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}
