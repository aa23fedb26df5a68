/*
 * status: how one network's part of a request ended.  Every network result
 * carries one; the verdict JSON prints it as "status" so a failed backend is
 * never mistaken for a clean answer.
 */
#ifndef DRP_STATUS_H
#define DRP_STATUS_H

enum drp_status {
	DRP_ST_DISABLED = 0, /* network not configured / switched off */
	DRP_ST_PENDING,      /* still running (never in a finished verdict) */
	DRP_ST_OK,
	DRP_ST_ERROR,   /* bad answer, refused, local failure */
	DRP_ST_TIMEOUT, /* budget ran out before every needed answer came */
};

static inline const char *drp_status_name(enum drp_status s)
{
	switch (s) {
	case DRP_ST_DISABLED:
		return "disabled";
	case DRP_ST_PENDING:
		return "pending";
	case DRP_ST_OK:
		return "ok";
	case DRP_ST_ERROR:
		return "error";
	case DRP_ST_TIMEOUT:
		return "timeout";
	}
	return "error";
}

/* What a request asks of the networks. */
enum drp_op {
	DRP_OP_CHECK = 0,
	DRP_OP_REPORT,
	DRP_OP_REVOKE,
};

#endif
