/*
 * drp-fcgi: the FastCGI responder pool.
 *
 *   spawned:     spawn-fcgi / lighttpd hand us a listening socket on fd 0;
 *                each process is one worker (-F N / max-procs make N).
 *   standalone:  --listen unix:/path | tcp:host:port, --workers N: we open
 *                the socket, prefork N workers, restart any that dies,
 *                drain on SIGTERM, reload on SIGHUP (new workers).
 *   --workers N with a socket on fd 0 preforks over that socket.
 *   --check-config prints the effective configuration and validates it.
 *   --probe asks GET /health of a running pool over FastCGI (healthchecks).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "evloop.h"
#include "fcgi.h"
#include "netaddr.h"
#include "shm.h"

volatile sig_atomic_t fcgi_stop;
volatile sig_atomic_t fcgi_reload;

#define MAX_FLAGS 64

/* Where log lines go: stderr, or syslog when stderr is /dev/null (spawn-fcgi
 * and lighttpd discard it).  Set once at start. */
static int log_syslog;

void fcgi_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(LOG_NOTICE, "%s", line);
	else
		fprintf(stderr, "drp-fcgi[%ld]: %s\n", (long)getpid(), line);
}

static void setup_log(const struct drp_config *cfg)
{
	const char *f = drp_config_get(cfg, "log_file");
	struct stat st, dn;

	if (f != NULL && *f) {
		int fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
			return;
		}
	}
	if (fstat(2, &st) < 0 ||
	    (stat("/dev/null", &dn) == 0 && st.st_rdev == dn.st_rdev && S_ISCHR(st.st_mode))) {
		openlog("drp-fcgi", LOG_PID, LOG_DAEMON);
		log_syslog = 1;
	}
}

static void on_stop(int sig)
{
	(void)sig;
	fcgi_stop = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	fcgi_reload = 1;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: drp-fcgi [options]\n"
	    "  --listen unix:/run/drp/drp.sock | tcp:127.0.0.1:9077\n"
	    "                      open the socket ourselves (else fd 0 from spawn-fcgi/lighttpd)\n"
	    "  --workers N         prefork N workers (restarted when they die)\n"
	    "  --config FILE       configuration file (default /etc/drp/drp.conf, DRP_CONFIG)\n"
	    "  --set key=value     any configuration key (highest precedence)\n"
	    "  --token-file FILE   same as --set token_file=FILE\n"
	    "  --backend-timeout S, --max-body SIZE, --cache URL, --socket-mode MODE\n"
	    "  --check-config      print the effective configuration (secrets masked), validate\n"
	    "  --probe [URI]       GET /health (or URI) from the pool at --listen; exit 0 on 200\n"
	    "  --version\n");
}

struct drp_config *fcgi_load_config(const struct fcgi_opts *o, char *err, size_t errlen)
{
	struct drp_config *cfg = drp_config_new();
	const char *path = o->config_path;
	int i, required = o->config_required;

	if (cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path == NULL && (path = getenv("DRP_CONFIG")) != NULL && *path)
		required = 1;
	if (path == NULL || *path == 0)
		path = "/etc/drp/drp.conf";
	if (drp_config_load_file(cfg, path, !required, err, errlen) < 0) {
		drp_config_free(cfg);
		return NULL;
	}
	for (i = 0; i < o->nflags; i++) {
		const char *kv = o->flags[i], *eq = strchr(kv, '=');
		char key[128];

		if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
			snprintf(err, errlen, "--set %s: expected key=value", kv);
			drp_config_free(cfg);
			return NULL;
		}
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = 0;
		drp_config_set_flag(cfg, key, eq + 1);
	}
	return cfg;
}

static int is_listening_socket(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

static int open_listen(const char *spec, long mode, char *err, size_t errlen)
{
	int fd, one = 1;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		const char *path = spec + 5;
		mode_t old;

		if (strlen(path) >= sizeof(sun.sun_path) || *path != '/') {
			snprintf(err, errlen, "listen: bad unix socket path '%s'", path);
			return -1;
		}
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto syserr;
		/* a stale socket from a previous run; refuse to remove anything else */
		{
			struct stat st;

			if (lstat(path, &st) == 0) {
				if (!S_ISSOCK(st.st_mode)) {
					snprintf(err, errlen,
					         "listen: %s exists and is not a socket", path);
					close(fd);
					return -1;
				}
				unlink(path);
			}
		}
		old = umask(0777 & ~(mode_t)mode);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			umask(old);
			close(fd);
			goto syserr;
		}
		umask(old);
		chmod(path, (mode_t)mode);
	} else if (strncmp(spec, "tcp:", 4) == 0) {
		struct drp_hostport hp;
		struct drp_addr a;
		char e2[256];

		if (drp_hostport_parse(spec + 4, strlen(spec + 4), 9077, &hp) < 0 ||
		    drp_resolve(&hp, SOCK_STREAM, &a, 1, e2, sizeof(e2)) != 1) {
			snprintf(err, errlen, "listen: bad address '%s'", spec + 4);
			return -1;
		}
		fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto syserr;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
			close(fd);
			goto syserr;
		}
	} else {
		snprintf(err, errlen, "listen: expected unix:/path or tcp:host:port, got '%s'",
		         spec);
		return -1;
	}
	if (listen(fd, 1024) < 0) {
		close(fd);
		goto syserr;
	}
	return fd;
syserr:
	snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
	return -1;
}

/* The pool's metrics region: named after the listening socket, so every
 * process spawned on the same socket (spawn-fcgi -F, lighttpd max-procs,
 * our own forks) meets in the same region. */
static void metrics_path(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	unsigned char d[32];
	unsigned int dl = 0;
	char dir[512], hex[65];
	struct stat st;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		l = 0;
	if (l > 0 && ss.ss_family == AF_UNIX) {
		/* lighttpd's max-procs gives each process "<socket>-<n>": one pool */
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		size_t n = strnlen(sun->sun_path, sizeof(sun->sun_path)), k = n;

		while (k > 0 && sun->sun_path[k - 1] >= '0' && sun->sun_path[k - 1] <= '9')
			k--;
		if (k > 1 && k < n && sun->sun_path[k - 1] == '-')
			memset(sun->sun_path + k - 1, 0, n - k + 1);
		l = sizeof(ss);
	}
	if (l == 0 && fstat(fd, &st) == 0) {
		/* unnamed: the socket inode is still common to all */
		memcpy(&ss, &st.st_ino, sizeof(st.st_ino));
		l = sizeof(st.st_ino);
	}
	EVP_Digest(&ss, l, d, &dl, EVP_sha256(), NULL);
	drp_hex(d, 8, hex);
	drp_shm_default_dir(dir, sizeof(dir));
	snprintf(out, outlen, "%s/drp-metrics-%s", dir, hex);
}

/* A worker of the pool.  `ready_fd` is the read end of a pipe the worker
 * writes one byte to once its service is built (config, networks, cache):
 * a reload retires an old worker only when a new one is ready, so the pool
 * never has fewer ready workers than `workers`. */
struct slot {
	pid_t pid;
	int ready_fd;
	int ready;
	int termed;
	unsigned gen;
	uint64_t started;
};

#define MAX_SLOTS (2 * DRP_METRICS_WORKERS)

static void spawn(const struct fcgi_opts *o, struct slot *s, unsigned gen)
{
	int pfd[2];
	pid_t p;

	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		pfd[0] = pfd[1] = -1;
	p = fork();
	if (p == 0) {
		struct fcgi_opts co = *o;
		sigset_t none;
		struct sigaction sa = {.sa_handler = on_stop};

		if (pfd[0] >= 0)
			close(pfd[0]);
		co.ready_fd = pfd[1];
		sigemptyset(&none);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGQUIT, &sa, NULL);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGHUP, &sa, NULL); /* the master replaces us instead */
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(fcgi_worker_run(&co, 0));
	}
	if (pfd[1] >= 0)
		close(pfd[1]);
	memset(s, 0, sizeof(*s));
	s->ready_fd = pfd[0];
	s->gen = gen;
	s->started = drp_now_ms();
	s->pid = p > 0 ? p : 0;
	if (p < 0) {
		fcgi_log("fork: %s", strerror(errno));
		if (pfd[0] >= 0)
			close(pfd[0]);
		s->ready_fd = -1;
	}
}

static int validate(const struct fcgi_opts *o, char *err, size_t errlen)
{
	struct drp_config *cfg = fcgi_load_config(o, err, errlen);
	struct drp_svc svc;
	struct drp_svc_opts so = {.no_cache = 1};

	if (cfg == NULL)
		return -1;
	if (drp_svc_init(&svc, cfg, &so, err, errlen) < 0) {
		drp_config_free(cfg);
		return -1;
	}
	drp_svc_free(&svc);
	return 0;
}

static int master(const struct fcgi_opts *o, int n, const char *unlink_path)
{
	static struct slot sl[MAX_SLOTS];
	struct drp_metrics *m = NULL;
	sigset_t set;
	int i, stopping = 0, started_all = 0;
	unsigned gen = 1;
	uint64_t stop_at = 0, hold_until = 0;
	char err[512];
	long drain_ms = o->request_timeout_ms + 1000;

	if (drp_metrics_open(&m, o->metrics_path, err, sizeof(err)) < 0) {
		fcgi_log("metrics: %s (continuing without pool restarts counter)", err);
		m = NULL;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fcgi_log("starting a pool of %d workers", n);
	for (;;) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &ts), st, alive = 0;
		int cur = 0, cur_ready = 0, starting = 0, old = 0;
		uint64_t now;
		pid_t dead;

		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
			if (!stopping) {
				fcgi_log("draining");
				for (i = 0; i < MAX_SLOTS; i++)
					if (sl[i].pid > 0)
						kill(sl[i].pid, SIGTERM);
				stop_at = drp_now_ms() + (uint64_t)drain_ms;
			}
			stopping = 1;
		} else if (sig == SIGHUP && !stopping) {
			if (validate(o, err, sizeof(err)) < 0) {
				fcgi_log("reload refused: %s", err);
			} else {
				/* new workers read the new file; each old one is
				 * retired as soon as a new one is ready */
				gen++;
				fcgi_log("reloading: replacing workers");
			}
		}
		now = drp_now_ms();
		while ((dead = waitpid(-1, &st, WNOHANG)) > 0) {
			for (i = 0; i < MAX_SLOTS; i++) {
				if (sl[i].pid != dead)
					continue;
				if (!stopping && !sl[i].termed) {
					fcgi_log("worker %ld died (%s %d), restarting", (long)dead,
					         WIFSIGNALED(st) ? "signal" : "exit",
					         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
					/* dying at start (bad file, missing secret):
					 * retry at most once a second */
					if (!sl[i].ready)
						hold_until = now + 1000;
				}
				if (sl[i].ready_fd >= 0)
					close(sl[i].ready_fd);
				sl[i].ready_fd = -1;
				sl[i].pid = 0;
			}
		}
		for (i = 0; i < MAX_SLOTS; i++) {
			struct slot *s = &sl[i];
			char c;

			if (s->pid <= 0)
				continue;
			alive++;
			if (!s->ready && s->ready_fd >= 0 && read(s->ready_fd, &c, 1) == 1) {
				s->ready = 1;
				close(s->ready_fd);
				s->ready_fd = -1;
			}
			if (s->gen == gen) {
				cur++;
				cur_ready += s->ready;
				starting += !s->ready;
			} else if (!s->termed) {
				old++;
			}
		}
		if (!stopping) {
			/* retire old workers while the ready ones suffice */
			for (i = 0; i < MAX_SLOTS && old > 0 && cur_ready + old - 1 >= n; i++) {
				if (sl[i].pid > 0 && sl[i].gen != gen && !sl[i].termed) {
					kill(sl[i].pid, SIGTERM);
					sl[i].termed = 1;
					old--;
				}
			}
			/* start new ones: all at once normally, one at a time
			 * while old ones still serve */
			for (i = 0; i < MAX_SLOTS && now >= hold_until && cur < n &&
			            (old == 0 || starting == 0);
			     i++) {
				if (sl[i].pid > 0)
					continue;
				spawn(o, &sl[i], gen);
				if (sl[i].pid == 0)
					break;
				cur++;
				starting++;
				alive++;
				if (started_all && m != NULL)
					drp_metrics_worker_restart(m);
			}
			started_all = 1;
		}
		if (stopping && alive == 0)
			break;
		if (stopping && drp_now_ms() > stop_at) {
			fcgi_log("drain timeout, killing the rest");
			for (i = 0; i < MAX_SLOTS; i++)
				if (sl[i].pid > 0)
					kill(sl[i].pid, SIGKILL);
			stop_at = drp_now_ms() + 5000;
		}
	}
	if (unlink_path != NULL)
		unlink(unlink_path);
	drp_metrics_close(m);
	fcgi_log("stopped");
	return 0;
}

static int check_config(const struct fcgi_opts *o)
{
	char err[512];
	struct drp_config *cfg = fcgi_load_config(o, err, sizeof(err));
	struct drp_buf out;
	struct drp_svc svc;
	struct drp_svc_opts so = {.no_cache = 1};
	int rc = 0;

	if (cfg == NULL) {
		fprintf(stderr, "drp-fcgi: config: %s\n", err);
		return 1;
	}
	drp_buf_init(&out);
	drp_svc_dump_config(cfg, &out);
	fwrite(out.p, 1, out.len, stdout);
	drp_buf_free(&out);
	if (drp_svc_init(&svc, cfg, &so, err, sizeof(err)) < 0) {
		fprintf(stderr, "drp-fcgi: config error: %s\n", err);
		drp_config_free(cfg);
		return 1;
	}
	if (svc.auth.n == 0) {
		fprintf(stderr, "drp-fcgi: config error: token: no API token configured "
		                "(set token, token_file, DRP_TOKEN or DRP_TOKEN_FILE)\n");
		rc = 1;
	}
	{
		size_t i;

		for (i = 0; i < drp_config_count(svc.cfg); i++)
			if (!drp_svc_known_key(drp_config_key_at(svc.cfg, i)))
				fprintf(stderr, "drp-fcgi: warning: unknown key '%s' (a typo?)\n",
				        drp_config_key_at(svc.cfg, i));
	}
	if (rc == 0)
		printf("# configuration ok: %d token(s), %d network(s) enabled\n", svc.auth.n,
		       drp_fanout_enabled(&svc.fo));
	drp_svc_free(&svc);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"workers", required_argument, NULL, 'w'},
	    {"config", required_argument, NULL, 'c'},
	    {"set", required_argument, NULL, 's'},
	    {"token-file", required_argument, NULL, 'T'},
	    {"backend-timeout", required_argument, NULL, 'b'},
	    {"max-body", required_argument, NULL, 'm'},
	    {"cache", required_argument, NULL, 'C'},
	    {"socket-mode", required_argument, NULL, 'M'},
	    {"check-config", no_argument, NULL, 'k'},
	    {"probe", no_argument, NULL, 'p'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static char flagbuf[MAX_FLAGS][1024];
	char *flags[MAX_FLAGS];
	struct fcgi_opts o = {.ready_fd = -1};
	struct drp_config *cfg;
	const char *listen_spec = NULL, *unlink_path = NULL;
	char err[512], mpath[600], sockpath[256];
	long workers = 0, mode = 0660;
	int c, do_check = 0, do_probe = 0, nflags = 0;
	struct sigaction sa = {.sa_handler = on_stop};

	while ((c = getopt_long(argc, argv, "hV", lo, NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'l':
			key = "listen";
			break;
		case 'w':
			key = "workers";
			break;
		case 'c':
			o.config_path = optarg;
			o.config_required = 1;
			continue;
		case 's':
			if (nflags == MAX_FLAGS || strlen(optarg) >= sizeof(flagbuf[0])) {
				fprintf(stderr, "drp-fcgi: too many or too long --set\n");
				return 2;
			}
			snprintf(flagbuf[nflags], sizeof(flagbuf[0]), "%s", optarg);
			flags[nflags] = flagbuf[nflags];
			nflags++;
			continue;
		case 'T':
			key = "token_file";
			break;
		case 'b':
			key = "backend_timeout";
			break;
		case 'm':
			key = "max_body";
			break;
		case 'C':
			key = "cache";
			break;
		case 'M':
			key = "socket_mode";
			break;
		case 'k':
			do_check = 1;
			continue;
		case 'p':
			do_probe = 1;
			continue;
		case 'V':
			printf("drp-fcgi %s\n", DRP_VERSION_STRING);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (nflags == MAX_FLAGS || snprintf(flagbuf[nflags], sizeof(flagbuf[0]), "%s=%s",
		                                    key, optarg) >= (int)sizeof(flagbuf[0])) {
			fprintf(stderr, "drp-fcgi: too many or too long options\n");
			return 2;
		}
		flags[nflags] = flagbuf[nflags];
		nflags++;
	}
	o.flags = flags;
	o.nflags = nflags;
	if (do_check)
		return check_config(&o);
	cfg = fcgi_load_config(&o, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "drp-fcgi: %s\n", err);
		return 2;
	}
	setup_log(cfg);
	listen_spec = drp_config_get(cfg, "listen");
	if (listen_spec != NULL && *listen_spec == 0)
		listen_spec = NULL;
	if (do_probe) {
		int rc;

		if (listen_spec == NULL) {
			fprintf(stderr,
			        "drp-fcgi: --probe needs --listen or listen in the config\n");
			drp_config_free(cfg);
			return 2;
		}
		rc = fcgi_probe(listen_spec, optind < argc ? argv[optind] : "/health", 3000);
		drp_config_free(cfg);
		return rc;
	}
	if (drp_svc_check_config(cfg, err, sizeof(err)) < 0 ||
	    drp_config_long(cfg, "workers", 0, &workers, err, sizeof(err)) < 0 ||
	    drp_config_ms(cfg, "request_timeout", 30000, &o.request_timeout_ms, err, sizeof(err)) <
	        0) {
		fprintf(stderr, "drp-fcgi: config error: %s\n", err);
		drp_config_free(cfg);
		return 2;
	}
	if (drp_config_get(cfg, "socket_mode") && *drp_config_get(cfg, "socket_mode"))
		mode = strtol(drp_config_get(cfg, "socket_mode"), NULL, 8);
	if (listen_spec != NULL) {
		o.listen_fd = open_listen(listen_spec, mode, err, sizeof(err));
		if (o.listen_fd < 0) {
			fprintf(stderr, "drp-fcgi: %s\n", err);
			drp_config_free(cfg);
			return 2;
		}
		if (strncmp(listen_spec, "unix:", 5) == 0) {
			/* cfg is freed before the pool runs: keep our own copy */
			snprintf(sockpath, sizeof(sockpath), "%s", listen_spec + 5);
			unlink_path = sockpath;
		}
		if (workers == 0) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);

			workers = n > 0 ? n : 2;
		}
	} else if (is_listening_socket(0)) {
		o.listen_fd = 0;
	} else {
		fprintf(stderr, "drp-fcgi: no listening socket: use --listen, or start me under "
		                "spawn-fcgi or lighttpd (socket on fd 0)\n");
		drp_config_free(cfg);
		return 2;
	}
	{
		const char *mp = drp_config_get(cfg, "metrics_path");

		if (mp != NULL && *mp)
			snprintf(mpath, sizeof(mpath), "%s", mp);
		else
			metrics_path(o.listen_fd, mpath, sizeof(mpath));
		o.metrics_path = mpath;
	}
	drp_config_free(cfg);
	/* every worker shares one non-blocking listening socket and polls it */
	fcntl(o.listen_fd, F_SETFL, fcntl(o.listen_fd, F_GETFL) | O_NONBLOCK);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (workers > 0) {
		if (validate(&o, err, sizeof(err)) < 0) {
			fprintf(stderr, "drp-fcgi: config error: %s\n", err);
			return 2;
		}
		return master(&o, (int)workers, unlink_path);
	}
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL); /* lighttpd's graceful stop */
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	return fcgi_worker_run(&o, 1);
}
