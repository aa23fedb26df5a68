/* evloop: see evloop.h.  poll(2) based: a fan-out has a handful of sockets,
 * so a flat array beats epoll's per-fd syscalls and fd-lifetime hazards. */

#include "evloop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct watcher {
	int fd;
	unsigned events;
	drp_io_fn fn;
	void *arg;
	int dead;
};

struct timer {
	long id;
	uint64_t at;
	drp_timer_fn fn;
	void *arg;
};

struct drp_loop {
	struct watcher *w;
	int nw, capw;
	struct timer *t;
	int nt, capt;
	long next_id;
	int stop;
	int dispatching;
	struct pollfd *pfd;
	int cappfd;
};

uint64_t drp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct drp_loop *drp_loop_new(void)
{
	struct drp_loop *l = calloc(1, sizeof(*l));

	if (l != NULL)
		l->next_id = 1;
	return l;
}

void drp_loop_free(struct drp_loop *l)
{
	if (l == NULL)
		return;
	free(l->w);
	free(l->t);
	free(l->pfd);
	free(l);
}

static struct watcher *find_watcher(struct drp_loop *l, int fd)
{
	int i;

	for (i = 0; i < l->nw; i++)
		if (!l->w[i].dead && l->w[i].fd == fd)
			return &l->w[i];
	return NULL;
}

int drp_loop_watch(struct drp_loop *l, int fd, unsigned events, drp_io_fn fn, void *arg)
{
	struct watcher *w;

	if (fd < 0 || fn == NULL)
		return -1;
	w = find_watcher(l, fd);
	if (w == NULL) {
		if (l->nw == l->capw) {
			int nc = l->capw ? l->capw * 2 : 16;
			struct watcher *nw = realloc(l->w, (size_t)nc * sizeof(*nw));

			if (nw == NULL)
				return -1;
			l->w = nw;
			l->capw = nc;
		}
		w = &l->w[l->nw++];
		w->fd = fd;
	}
	w->events = events;
	w->fn = fn;
	w->arg = arg;
	w->dead = 0;
	return 0;
}

int drp_loop_events(struct drp_loop *l, int fd, unsigned events)
{
	struct watcher *w = find_watcher(l, fd);

	if (w == NULL)
		return -1;
	w->events = events;
	return 0;
}

static void compact_watchers(struct drp_loop *l)
{
	int i, j = 0;

	for (i = 0; i < l->nw; i++)
		if (!l->w[i].dead)
			l->w[j++] = l->w[i];
	l->nw = j;
}

void drp_loop_unwatch(struct drp_loop *l, int fd)
{
	struct watcher *w = find_watcher(l, fd);

	if (w == NULL)
		return;
	w->dead = 1;
	if (!l->dispatching)
		compact_watchers(l);
}

long drp_loop_timer_at(struct drp_loop *l, uint64_t at_ms, drp_timer_fn fn, void *arg)
{
	struct timer *t;

	if (fn == NULL)
		return -1;
	if (l->nt == l->capt) {
		int nc = l->capt ? l->capt * 2 : 16;
		struct timer *nt = realloc(l->t, (size_t)nc * sizeof(*nt));

		if (nt == NULL)
			return -1;
		l->t = nt;
		l->capt = nc;
	}
	t = &l->t[l->nt++];
	t->id = l->next_id++;
	t->at = at_ms;
	t->fn = fn;
	t->arg = arg;
	return t->id;
}

long drp_loop_timer(struct drp_loop *l, uint64_t delay_ms, drp_timer_fn fn, void *arg)
{
	return drp_loop_timer_at(l, drp_now_ms() + delay_ms, fn, arg);
}

void drp_loop_cancel(struct drp_loop *l, long id)
{
	int i;

	for (i = 0; i < l->nt; i++) {
		if (l->t[i].id == id) {
			l->t[i] = l->t[--l->nt];
			return;
		}
	}
}

int drp_loop_pending(const struct drp_loop *l)
{
	int i, n = 0;

	for (i = 0; i < l->nw; i++)
		if (!l->w[i].dead)
			n++;
	return n + l->nt;
}

void drp_loop_stop(struct drp_loop *l)
{
	l->stop = 1;
}

/* Fire every timer due at `now`; a callback may arm new timers, which are
 * only considered on the next pass so a zero-delay re-arm cannot spin. */
static void fire_timers(struct drp_loop *l, uint64_t now)
{
	long limit = l->next_id;
	int i;

	for (i = 0; i < l->nt;) {
		struct timer t = l->t[i];

		if (t.id < limit && t.at <= now) {
			l->t[i] = l->t[--l->nt];
			t.fn(l, t.arg);
			if (l->stop)
				return;
			i = 0;
			continue;
		}
		i++;
	}
}

int drp_loop_run(struct drp_loop *l, uint64_t deadline_ms)
{
	l->stop = 0;
	for (;;) {
		uint64_t now = drp_now_ms(), wake = deadline_ms;
		int i, n, nfd = 0, timeout;

		fire_timers(l, now);
		if (l->stop || drp_loop_pending(l) == 0)
			return 0;
		if (now >= deadline_ms)
			return 1;
		for (i = 0; i < l->nt; i++)
			if (l->t[i].at < wake)
				wake = l->t[i].at;
		if (l->cappfd < l->nw) {
			struct pollfd *np = realloc(l->pfd, (size_t)l->nw * sizeof(*np));

			if (np == NULL)
				return -1;
			l->pfd = np;
			l->cappfd = l->nw;
		}
		for (i = 0; i < l->nw; i++) {
			l->pfd[nfd].fd = l->w[i].fd;
			l->pfd[nfd].events =
			    (short)(((l->w[i].events & DRP_EV_READ) ? POLLIN : 0) |
			            ((l->w[i].events & DRP_EV_WRITE) ? POLLOUT : 0));
			l->pfd[nfd].revents = 0;
			nfd++;
		}
		/* a far deadline must not wrap into poll's "forever" */
		timeout = wake > now ? (wake - now > INT_MAX ? INT_MAX : (int)(wake - now)) : 0;
		n = poll(l->pfd, (nfds_t)nfd, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			continue;
		l->dispatching = 1;
		for (i = 0; i < nfd && !l->stop; i++) {
			short re = l->pfd[i].revents;
			unsigned ev = 0;
			struct watcher *w;

			if (re == 0)
				continue;
			/* pfd[i] was built from w[i], and nothing moves while
			 * dispatching; a watcher removed by an earlier callback
			 * is skipped even when a new socket got its fd number
			 * (that one is appended and has not been polled yet) */
			w = &l->w[i];
			if (w->dead || w->fd != l->pfd[i].fd)
				continue;
			if (re & POLLIN)
				ev |= DRP_EV_READ;
			if (re & POLLOUT)
				ev |= DRP_EV_WRITE;
			if (re & (POLLERR | POLLHUP | POLLNVAL))
				ev |= DRP_EV_ERROR | (w->events & DRP_EV_READ) |
				      (w->events & DRP_EV_WRITE);
			ev &= w->events | DRP_EV_ERROR;
			if (ev == 0)
				continue;
			w->fn(l, w->fd, ev, w->arg);
		}
		l->dispatching = 0;
		compact_watchers(l);
		if (l->stop)
			return 0;
	}
}

void drp_kept_init(struct drp_kept_sock *k)
{
	k->fd = -1;
	k->uses = 0;
	k->pid = 0;
}

int drp_kept_take(struct drp_kept_sock *k)
{
	pid_t me = getpid();
	int fd = k->fd;

	k->fd = -1;
	if (fd >= 0 && k->pid == me && k->uses < DRP_SOCK_REUSES) {
		k->uses++;
		return fd;
	}
	if (fd >= 0)
		close(fd); /* in a forked child: only this process's copy */
	k->uses = 1;
	k->pid = me;
	return -1;
}

void drp_kept_put(struct drp_kept_sock *k, int fd)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = fd;
}

void drp_kept_close(struct drp_kept_sock *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

int drp_udp_socket(int family)
{
	return socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int drp_tcp_connect(const struct sockaddr *sa, socklen_t salen)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int drp_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}
