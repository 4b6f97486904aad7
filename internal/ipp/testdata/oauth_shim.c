/*
 * A test's way to hand libcups an access token. libcups 2.4 sends
 * "Authorization: Bearer TOKEN" after a 401 with a Bearer challenge only
 * through its OAuth callback (cupsSetOAuthCB, public API since 2.4),
 * which ipptool does not set. Preloaded into ipptool, this sets it, in
 * the main thread (libcups keeps the callback per thread), to give the
 * token in PAIRGATE_TEST_TOKEN: the request, the challenge and the retry
 * are libcups's own.
 */
#include <stdlib.h>

typedef struct _http_s http_t;
typedef const char *(*cups_oauth_cb_t)(http_t *http, const char *realm, const char *scope, const char *resource, void *data);
extern void cupsSetOAuthCB(cups_oauth_cb_t cb, void *data);

static const char *token(http_t *http, const char *realm, const char *scope, const char *resource, void *data)
{
  const char *t = getenv("PAIRGATE_TEST_TOKEN");
  (void)http; (void)realm; (void)scope; (void)resource; (void)data;
  return t && *t ? t : NULL; /* none: libcups gives up, as without a callback */
}

__attribute__((constructor)) static void init(void)
{
  cupsSetOAuthCB(token, NULL);
}
