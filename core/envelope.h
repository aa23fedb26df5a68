/*
 * envelope: what the MTA knew about a message that the message itself does
 * not say (SMTP client address, HELO, MAIL FROM, RCPT TO).  Only DCC uses it
 * (IP, env_From, env_To, HELO checksums); it is part of the cache key.
 * All strings are NUL-terminated copies owned by the caller, NULL if absent.
 */
#ifndef DRP_ENVELOPE_H
#define DRP_ENVELOPE_H

#define DRP_ENV_MAX_RCPT 64

struct drp_envelope {
	const char *client_ip; /* textual IPv4/IPv6 */
	const char *helo;
	const char *env_from;
	const char *env_rcpt[DRP_ENV_MAX_RCPT];
	int n_rcpt;
	int ip_from_received; /* dccproc -R: take IP from the first Received: */
};

#endif
