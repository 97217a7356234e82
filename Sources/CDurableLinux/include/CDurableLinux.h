// The few Linux facilities Glibc does not expose to Swift (they sit behind _GNU_SOURCE),
// plus a hardware-accelerated CRC32C. Nothing else belongs here.
#ifndef CDURABLE_LINUX_H
#define CDURABLE_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Takes an open-file-description lock on [start, start+len) of `fd`.
/// `exclusive` selects a write lock, otherwise a read lock; `wait` blocks until granted.
/// Returns 0, or -1 with errno set (EAGAIN when the range is held by another description).
int durable_ofd_lock(int fd, int exclusive, int64_t start, int64_t len, int wait);

/// Releases an open-file-description lock on [start, start+len) of `fd`. Returns 0 or -1/errno.
int durable_ofd_unlock(int fd, int64_t start, int64_t len);

/// Asks whether another open file description holds a conflicting lock on [start, start+len).
/// Returns 1 if held, 0 if free, -1 with errno on error. Takes no lock itself.
int durable_ofd_is_locked(int fd, int64_t start, int64_t len);

/// fallocate(2). Returns 0 or -1 with errno set.
int durable_fallocate(int fd, int mode, int64_t offset, int64_t len);

/// The filesystem magic (statfs f_type) of the filesystem holding `path`, or -1 with errno set.
int64_t durable_filesystem_type(const char *path);

/// CRC32C (Castagnoli) of `len` bytes, continuing from `crc` (pass 0 to start).
/// Uses the SSE4.2 instruction when the CPU has it and a table otherwise.
uint32_t durable_crc32c(uint32_t crc, const void *buf, size_t len);

/// Whether durable_crc32c uses the hardware instruction on this CPU.
int durable_crc32c_is_hardware(void);

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start (no window before a fork).
int durable_pipe_cloexec(int fds[2]);

/// How many arguments the process was started with (argv as main saw it; 0 if unknown).
int durable_argument_count(void);

/// Argument `index` of the process (NULL past the end).
const char *durable_argument(int index);

/// Starts `path` with `argv` and `envp` by posix_spawn: stdin from /dev/null, `out_fd` and
/// `err_fd` (-1: inherited) as stdout and stderr, and no other descriptor of the parent's.
/// Returns 0 and sets `*pid`, or an errno value.
int durable_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd);

#endif
