/*
 * evloop: the single-threaded readiness loop all three network clients share.
 *
 * One loop runs one fan-out: every UDP/TCP conversation of a request
 * registers its sockets and timers here and drp_loop_run() drives them
 * until nothing is pending or the request's one absolute deadline passes.
 * No threads, no DNS (addresses are resolved before a request starts),
 * no allocation per event.  Callbacks may add or remove watchers and
 * timers freely, including their own.
 */
#ifndef DRP_EVLOOP_H
#define DRP_EVLOOP_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

enum { DRP_EV_READ = 1, DRP_EV_WRITE = 2, DRP_EV_ERROR = 4 };

struct drp_loop;
typedef void (*drp_io_fn)(struct drp_loop *l, int fd, unsigned events, void *arg);
typedef void (*drp_timer_fn)(struct drp_loop *l, void *arg);

/* Monotonic milliseconds; the clock every deadline in drp is expressed in. */
uint64_t drp_now_ms(void);

struct drp_loop *drp_loop_new(void);
void drp_loop_free(struct drp_loop *l);

/* Watch fd for events (DRP_EV_READ|DRP_EV_WRITE); re-adding an fd replaces
 * its events, callback and argument.  ERROR/HUP are reported as
 * DRP_EV_ERROR together with READ so a reader sees the failure. */
int drp_loop_watch(struct drp_loop *l, int fd, unsigned events, drp_io_fn fn, void *arg);
/* Change only the interest set of a watched fd. */
int drp_loop_events(struct drp_loop *l, int fd, unsigned events);
void drp_loop_unwatch(struct drp_loop *l, int fd);

/* One-shot timer firing at absolute monotonic time at_ms; returns an id > 0
 * or -1.  Cancelling a fired or unknown id is harmless. */
long drp_loop_timer_at(struct drp_loop *l, uint64_t at_ms, drp_timer_fn fn, void *arg);
long drp_loop_timer(struct drp_loop *l, uint64_t delay_ms, drp_timer_fn fn, void *arg);
void drp_loop_cancel(struct drp_loop *l, long id);

/* Number of watched fds plus armed timers. */
int drp_loop_pending(const struct drp_loop *l);

/* Run until nothing is pending, drp_loop_stop() is called, or the absolute
 * deadline passes.  Returns 0 when it ran dry or was stopped, 1 when the
 * deadline passed with work still pending, -1 on a poll failure. */
int drp_loop_run(struct drp_loop *l, uint64_t deadline_ms);
void drp_loop_stop(struct drp_loop *l);

/* Non-blocking, close-on-exec sockets. */
int drp_udp_socket(int family);
/* Starts a non-blocking connect; returns the fd (connect may still be in
 * progress: wait for DRP_EV_WRITE then call drp_sock_error()). */
int drp_tcp_connect(const struct sockaddr *sa, socklen_t salen);
/* Pending socket error (SO_ERROR), 0 when connected. */
int drp_sock_error(int fd);

/*
 * A datagram socket a long-lived network context keeps for its next
 * request (socket() + close() cost more CPU than a whole exchange): used
 * for at most DRP_SOCK_REUSES requests, so its random source port changes
 * now and then, and only by the process that opened it -- a copy inherited
 * across fork() is closed, never shared.  Whether a request may give its
 * socket back (no answer still on its way) is the caller's decision.
 */
#define DRP_SOCK_REUSES 64
struct drp_kept_sock {
	int fd; /* -1: none kept */
	int uses;
	pid_t pid;
};
void drp_kept_init(struct drp_kept_sock *k);
/* The kept socket, now owned by the caller, or -1 (a stale one closed):
 * then the socket the caller opens instead counts as this use. */
int drp_kept_take(struct drp_kept_sock *k);
/* Keep fd, owned by the caller until now, for the next take. */
void drp_kept_put(struct drp_kept_sock *k, int fd);
void drp_kept_close(struct drp_kept_sock *k);

#endif
