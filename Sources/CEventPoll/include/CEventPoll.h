// epoll and timerfd for Swift: glibc's module map does not export them, and `struct epoll_event`
// is packed on x86_64, so events are handed over as two plain arrays.
#ifndef C_EVENT_POLL_H
#define C_EVENT_POLL_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

static inline int cep_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int cep_add(int ep, int fd, uint32_t events) {
    struct epoll_event event = {.events = events, .data = {.fd = fd}};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &event);
}

static inline int cep_remove(int ep, int fd) { return epoll_ctl(ep, EPOLL_CTL_DEL, fd, 0); }

/// Waits up to `timeout_ms` (-1: no limit) for at most `capacity` (≤ 256) events.
static inline int cep_wait(int ep, int *fds, uint32_t *events, int capacity, int timeout_ms) {
    struct epoll_event ready[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(ep, ready, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        fds[i] = ready[i].data.fd;
        events[i] = ready[i].events;
    }
    return count;
}

static inline uint32_t cep_in(void) { return EPOLLIN; }

/// A non-blocking monotonic timer, not armed.
static inline int cep_timer(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

/// Arms `fd` to fire once at `at_ns` on the monotonic clock (absolute; at once when past).
static inline int cep_arm_at(int fd, uint64_t at_ns) {
    struct itimerspec spec = {
        .it_interval = {.tv_sec = 0, .tv_nsec = 0},
        .it_value = {.tv_sec = (time_t)(at_ns / 1000000000ULL), .tv_nsec = (long)(at_ns % 1000000000ULL)},
    };
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, 0);
}

#endif
