/*
 * fcgi: the drp-fcgi program.  drp-fcgi.c parses flags, builds the
 * configuration, finds or opens the listening socket and either runs one
 * worker (spawned by spawn-fcgi / lighttpd) or preforks a pool of them;
 * worker.c serves FastCGI connections one request at a time through
 * core/svc; probe.c is the FastCGI client behind --probe (healthchecks).
 */
#ifndef DRP_FCGI_H
#define DRP_FCGI_H

#include <signal.h>
#include <stddef.h>

#include "config.h"
#include "svc.h"

/* What a worker needs from main. */
struct fcgi_opts {
	const char *config_path; /* NULL: DRP_CONFIG or /etc/drp/drp.conf (optional) */
	int config_required;
	char *const *flags; /* key=value pairs from --set and dedicated flags */
	int nflags;
	const char *metrics_path;
	int listen_fd;
	long request_timeout_ms;
	int ready_fd; /* > 0: write one byte once serving (pool master's pipe) */
};

/* Signals seen, set by the handlers in drp-fcgi.c (the only mutable globals
 * of the program: a signal handler can reach nothing else). */
extern volatile sig_atomic_t fcgi_stop;
extern volatile sig_atomic_t fcgi_reload;

/* Build the configuration: file, then flags (env is read on lookup). */
struct drp_config *fcgi_load_config(const struct fcgi_opts *o, char *err, size_t errlen);

/* Run one worker on listen_fd until fcgi_stop.  `reload_self`: on SIGHUP
 * rebuild the service in-process (spawned mode); otherwise the master
 * handles reloads by replacing workers.  Returns the exit code. */
int fcgi_worker_run(const struct fcgi_opts *o, int reload_self);

/* GET /health over FastCGI at addr ("unix:/path" or "tcp:host:port");
 * prints the answer; returns 0 when it was 200. */
int fcgi_probe(const char *addr, const char *uri, long timeout_ms);

/* Log one line to stderr with the program name and pid. */
void fcgi_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
