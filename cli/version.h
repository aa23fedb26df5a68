/* version: the version drp and drp-register print (the service's own). */
#ifndef DRP_CLI_VERSION_H
#define DRP_CLI_VERSION_H

#include "svc.h"

#define DRP_VERSION DRP_VERSION_STRING

#endif
