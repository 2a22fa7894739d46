/*
 * The C floor of the bus-feed contest of Beazley's course: libexpat driven entirely in C,
 * its handlers only counting events, reading a file in 64 KiB chunks as
 * the Go sources do. libexpat is opened with dlopen, so this library
 * builds without expat.h (Debian's libexpat1-dev).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <unistd.h>

typedef void *XML_Parser;

static struct {
	XML_Parser (*create)(const char *encoding);
	void (*free)(XML_Parser p);
	void (*set_user_data)(XML_Parser p, void *ud);
	void (*set_element)(XML_Parser p, void *start, void *end);
	void (*set_chardata)(XML_Parser p, void *text);
	void *(*get_buffer)(XML_Parser p, int len);
	int (*parse_buffer)(XML_Parser p, int len, int final);
} x;

static int load(void) {
	if (x.create)
		return 0;
	void *h = dlopen("libexpat.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	x.free = dlsym(h, "XML_ParserFree");
	x.set_user_data = dlsym(h, "XML_SetUserData");
	x.set_element = dlsym(h, "XML_SetElementHandler");
	x.set_chardata = dlsym(h, "XML_SetCharacterDataHandler");
	x.get_buffer = dlsym(h, "XML_GetBuffer");
	x.parse_buffer = dlsym(h, "XML_ParseBuffer");
	x.create = dlsym(h, "XML_ParserCreate");
	return x.create && x.free && x.set_user_data && x.set_element &&
	       x.set_chardata && x.get_buffer && x.parse_buffer ? 0 : -1;
}

static void start(void *ud, const char *name, const char **atts) { (void)name; (void)atts; ++*(long *)ud; }
static void end(void *ud, const char *name) { (void)name; ++*(long *)ud; }
static void text(void *ud, const char *s, int len) { (void)s; (void)len; ++*(long *)ud; }

/* cdemo_expat_count parses the XML read from fd and returns how many
 * start, end and text events libexpat delivered; -1 without libexpat,
 * -2 for a malformed document, -3 for a read error. */
long cdemo_expat_count(long fd) {
	if (load() != 0)
		return -1;
	long n = 0, r = 0;
	XML_Parser p = x.create(NULL);
	if (!p)
		return -1;
	x.set_user_data(p, &n);
	x.set_element(p, (void *)start, (void *)end);
	x.set_chardata(p, (void *)text);
	for (;;) {
		void *buf = x.get_buffer(p, 64 << 10);
		ssize_t got = buf ? read((int)fd, buf, 64 << 10) : -1;
		if (got < 0) { r = -3; break; }
		if (!x.parse_buffer(p, (int)got, got == 0)) { r = -2; break; }
		if (got == 0) break;
	}
	x.free(p);
	return r ? r : n;
}
