/*
 * A coroutine body that parses an XML document with libexpat, yielding
 * one event (the element's name) from each start handler. When a yield
 * returns CK_ECANCELED (Go closed the coroutine) the handler stops the
 * parser, and the body frees it and returns: the cancel protocol of
 * ctx.Close. Counters let the test check that every parser was freed.
 */
#include <expat.h>
#include <stdint.h>
#include <string.h>
#include "corokernel.h"

static long created, freed, cancelled;

long expat_created(void) { return created; }
long expat_freed(void) { return freed; }
long expat_cancelled(void) { return cancelled; }

struct state { ck_coroutine *co; XML_Parser p; };

static void XMLCALL start(void *ud, const XML_Char *name, const XML_Char **atts) {
	struct state *s = ud;
	(void)atts;
	if (s->co->api->yield(s->co, (uintptr_t)name, NULL) == CK_ECANCELED) {
		cancelled++;
		XML_StopParser(s->p, XML_FALSE);
	}
}

uintptr_t expat_body(ck_coroutine *co, uintptr_t doc) {
	struct state s = { co, XML_ParserCreate(NULL) };
	created++;
	XML_SetUserData(s.p, &s);
	XML_SetStartElementHandler(s.p, start);
	XML_Parse(s.p, (const char *)doc, (int)strlen((const char *)doc), XML_TRUE);
	XML_ParserFree(s.p);
	freed++;
	return 0;
}
