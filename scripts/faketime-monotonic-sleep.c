/*
 * Preloaded before libfaketime by `make test-future`.
 *
 * libfaketime 0.9.10 (Debian 12) shifts the deadline of
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...) by the fake offset even
 * when FAKETIME_DONT_FAKE_MONOTONIC=1 leaves the monotonic clock real: the
 * kernel then gets a negative time and answers EINVAL. Python 3.11's
 * time.sleep() sleeps exactly that way, so every sleep would fail
 * (libfaketime issue #426). With the monotonic clock left real, such a sleep
 * needs no translation: this passes it straight to the kernel and hands every
 * other clock_nanosleep to libfaketime unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_nanosleep_fn)(clockid_t, int, const struct timespec *, struct timespec *);

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request,
                    struct timespec *remain)
{
    if (clock_id == CLOCK_MONOTONIC) {
        /* the raw syscall reports failure through errno; clock_nanosleep returns it */
        if (syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == 0)
            return 0;
        return errno;
    }
    static clock_nanosleep_fn next;
    if (next == NULL)
        next = (clock_nanosleep_fn)dlsym(RTLD_NEXT, "clock_nanosleep");
    if (next == NULL)
        return ENOSYS;
    return next(clock_id, flags, request, remain);
}
