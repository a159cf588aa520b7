/*
 * Helpers shared by the policy unit tests: parse a policy from a string,
 * expect it refused or accepted, and check evidence against it.
 */

#ifndef CONFER_POLICY_TEST_H
#define CONFER_POLICY_TEST_H

#include "tap.h"
#include "attest.h"


static inline attest_err_t
parse(const char *json, attest_policy_t **pol, char *msg, size_t n)
{
    return attest_policy_parse((const uint8_t *) json, strlen(json), "/tmp",
                               pol, msg, n);
}


/* refused as a bad policy, with needle in the message */
static inline void
refused(const char *json, const char *needle)
{
    char              msg[256];
    attest_err_t      rc;
    attest_policy_t  *pol;

    msg[0] = '\0';
    rc = parse(json, &pol, msg, sizeof(msg));

    ok(rc == ATTEST_ERR_POLICY && pol == NULL
       && strstr(msg, needle) != NULL, "refused: %s -> %s", json, msg);
}


static inline attest_policy_t *
accepted(const char *json)
{
    char              msg[256];
    attest_policy_t  *pol;

    msg[0] = '\0';
    if (!ok(parse(json, &pol, msg, sizeof(msg)) == ATTEST_OK,
            "parses: %.60s", json))
    {
        diag("%s", msg);
    }

    return pol;
}


/*
 * The policy's verdict on ev, with its detail (256 bytes); json NULL is
 * no policy.  A policy that does not parse is ATTEST_ERR_POLICY.
 */
static inline attest_err_t
check(const char *json, const attest_evidence_t *ev, char *detail)
{
    char              msg[256];
    attest_err_t      rc;
    attest_policy_t  *pol;

    pol = NULL;
    detail[0] = '\0';

    if (json != NULL && parse(json, &pol, msg, sizeof(msg)) != ATTEST_OK) {
        diag("policy %s: %s", json, msg);
        return ATTEST_ERR_POLICY;
    }

    rc = attest_policy_check(pol, ev, detail, 256);
    attest_policy_free(pol);
    return rc;
}


static inline void
verdict(const char *json, const attest_evidence_t *ev, attest_err_t want,
    const char *what)
{
    char          detail[256];
    attest_err_t  rc;

    rc = check(json, ev, detail);
    if (!ok(rc == want, "%s: %s", what, attest_strerror(want))) {
        diag("got %s: %s (%s)", attest_strerror(rc), detail,
             json ? json : "no policy");
    }
}

#endif /* CONFER_POLICY_TEST_H */
