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

/// A non-blocking monotonic timer firing every `period_ns`.
static inline int cep_periodic_timer(long period_ns) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return fd;
    struct itimerspec spec = {
        .it_interval = {.tv_sec = period_ns / 1000000000L, .tv_nsec = period_ns % 1000000000L},
        .it_value = {.tv_sec = period_ns / 1000000000L, .tv_nsec = period_ns % 1000000000L},
    };
    if (timerfd_settime(fd, 0, &spec, 0) < 0) return -1;
    return fd;
}

#endif
