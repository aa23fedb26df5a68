/*
 * dcc_ck: the checksum driver.  Reads the header block the way dccproc
 * does, computes the header and envelope checksums and feeds the body to
 * the body walker (dcc_ckbody.c); owns the type names.
 */
#include <stdio.h>
#include <string.h>

#include "dcc_ck.h"

static const char *const type_names[] = {
    [DRP_DCC_CK_IP] = "IP",
    [DRP_DCC_CK_ENV_FROM] = "env_From",
    [DRP_DCC_CK_FROM] = "From",
    [DRP_DCC_CK_SUB] = "substitute",
    [DRP_DCC_CK_MESSAGE_ID] = "Message-ID",
    [DRP_DCC_CK_RECEIVED] = "Received",
    [DRP_DCC_CK_BODY] = "Body",
    [DRP_DCC_CK_FUZ1] = "Fuz1",
    [DRP_DCC_CK_FUZ2] = "Fuz2",
    [DRP_DCC_CK_REP_TOTAL] = "rep-total",
    [DRP_DCC_CK_REP] = "rep",
    [DRP_DCC_CK_SRVR_ID] = "server-ID",
    [DRP_DCC_CK_ENV_TO] = "env_To",
};

const char *drp_dcc_type_name(int type)
{
	if (type <= 0 || (size_t)type >= sizeof(type_names) / sizeof(type_names[0]) ||
	    !type_names[type])
		return "?";
	return type_names[type];
}

const char *drp_dcc_ck_label(const struct drp_dcc_ck *ck, char *out, size_t outlen)
{
	if (ck->type == DRP_DCC_CK_SUB)
		snprintf(out, outlen, "substitute %s", ck->sub_name);
	else
		snprintf(out, outlen, "%s", drp_dcc_type_name(ck->type));
	return out;
}

int drp_dcc_checksums(const uint8_t *msg, size_t len, const struct drp_envelope *env,
                      const struct drp_dcc_ck_opts *opts, struct drp_dcc_cks *out, char *err,
                      size_t errlen)
{
	(void)msg;
	(void)len;
	(void)env;
	(void)opts;
	out->n = 0;
	snprintf(err, errlen, "dcc checksums: not implemented yet");
	return DRP_DCC_ERROR;
}
