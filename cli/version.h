/* version: the one version string drp, drp-register (and their man pages) print. */
#ifndef DRP_CLI_VERSION_H
#define DRP_CLI_VERSION_H

#ifndef DRP_VERSION
#define DRP_VERSION "0.1.0"
#endif

#endif
