// SPDX-License-Identifier: GPL-2.0
/*
 * The migration stream's receiving half and the URIs both sides use
 * (include/vmm/migrate.h). What arrives is untrusted: every frame's type,
 * length and guest range is checked against this machine's memory layout
 * before its payload is read, and nothing outside guest RAM is written.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/migrate.h"
#include "vmm/snapshot.h"

static int why_set(char *why, size_t len, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_set(char *why, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return r;
}

static int read_hdr(mig_read_fn rd, void *o, struct mig_hdr *h, char *why,
		    size_t wl)
{
	int r = rd(o, h, sizeof(*h));

	if (r)
		return why_set(why, wl, r, "migration stream: %s",
			       r == -EPIPE ? "cut short" : strerror(-r));
	return 0;
}

int mig_recv_manifest(mig_read_fn rd, void *o, char **text, size_t *len,
		      char *why, size_t wl)
{
	struct { char magic[8]; u32 version, zero; } head;
	struct mig_hdr h;
	int r;

	*text = NULL;
	r = rd(o, &head, sizeof(head));
	if (r)
		return why_set(why, wl, r, "migration stream: no header (%s)",
			       r == -EPIPE ? "cut short" : strerror(-r));
	if (memcmp(head.magic, MIG_MAGIC, 8))
		return why_set(why, wl, -EINVAL, "not a migration stream");
	if (head.version != MIG_VERSION || head.zero)
		return why_set(why, wl, -EINVAL,
			       "migration stream version %u, this smpvisor reads %u",
			       head.version, MIG_VERSION);
	r = read_hdr(rd, o, &h, why, wl);
	if (r)
		return r;
	if (h.type != MIG_MANIFEST || !h.len || h.len > SNAP_MANIFEST_MAX || h.gpa)
		return why_set(why, wl, -EINVAL, "migration stream: no manifest first");
	*text = malloc(h.len + 1);
	if (!*text)
		return why_set(why, wl, -ENOMEM, "out of memory");
	r = rd(o, *text, h.len);
	if (r) {
		free(*text);
		*text = NULL;
		return why_set(why, wl, r, "migration stream: the manifest cut short");
	}
	(*text)[h.len] = 0;
	*len = h.len;
	return 0;
}

/* Zero [hva, hva + len): given back to the kernel where that reads as 0. */
static void zero_range(const struct guest_region *g, u8 *hva, u64 len)
{
	if (!(g->flags & (GUEST_REGION_SHARED | GUEST_REGION_HUGETLB)) &&
	    !madvise(hva, len, MADV_DONTNEED))
		return;
	memset(hva, 0, len);
}

int mig_recv_memory(struct guest_mem *m, mig_read_fn rd, void *o,
		    u8 **state, size_t *len, char *why, size_t wl)
{
	struct mig_hdr h;
	u8 *st = NULL;
	size_t st_len = 0;
	int r;

	*state = NULL;
	for (;;) {
		const struct guest_region *g;
		u8 *hva;

		r = read_hdr(rd, o, &h, why, wl);
		if (r)
			break;
		if (h.type == MIG_END) {
			if (h.len || h.gpa || !st) {
				r = why_set(why, wl, -EINVAL, "migration stream: an end %s",
					    st ? "with a payload" : "before the state");
				break;
			}
			*state = st;
			*len = st_len;
			return 0;
		}
		if (h.type == MIG_STATE) {
			if (st || !h.len || h.len > MIG_MAX_STATE || h.gpa) {
				r = why_set(why, wl, -EINVAL, "migration stream: a bad state frame (%u bytes)",
					    h.len);
				break;
			}
			st = malloc(h.len);
			r = st ? rd(o, st, h.len) : -ENOMEM;
			if (r) {
				why_set(why, wl, r, "migration stream: the state cut short");
				break;
			}
			st_len = h.len;
			continue;
		}
		if ((h.type != MIG_PAGES && h.type != MIG_ZERO) || st) {
			r = why_set(why, wl, -EINVAL, "migration stream: frame type %#x unexpected",
				    h.type);
			break;
		}
		/* The whole range page-aligned, in one region of this guest. */
		hva = h.len && !(h.len % GUEST_PAGE_SIZE) && !(h.gpa % GUEST_PAGE_SIZE) &&
		      (h.type == MIG_ZERO || h.len <= MIG_MAX_RUN) ?
		      gpa_to_hva(m, h.gpa, h.len) : NULL;
		if (!hva) {
			r = why_set(why, wl, -EINVAL,
				    "migration stream: pages [%#llx, +%#x) are not this guest's RAM",
				    (unsigned long long)h.gpa, h.len);
			break;
		}
		if (h.type == MIG_ZERO) {
			g = guest_mem_find(m, h.gpa);
			zero_range(g, hva, h.len);
			continue;
		}
		r = rd(o, hva, h.len);
		if (r) {
			why_set(why, wl, r, "migration stream: pages cut short");
			break;
		}
	}
	free(st);
	return r;
}

/* "unix:PATH" or "tcp:HOST:PORT" to an address; -EINVAL with why. */
int mig_uri_socket(const char *uri, bool listen_on, char *why, size_t wl)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	char host[256];
	const char *port;
	int fd = -1, r;

	if (!strncmp(uri, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (!uri[5] || strlen(uri + 5) >= sizeof(sa.sun_path))
			return why_set(why, wl, -EINVAL, "%s: a bad socket path", uri);
		strcpy(sa.sun_path, uri + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return why_set(why, wl, -errno, "socket: %s", strerror(errno));
		if (listen_on)
			unlink(sa.sun_path);
		r = listen_on ? bind(fd, (void *)&sa, sizeof(sa)) || listen(fd, 1) :
				connect(fd, (void *)&sa, sizeof(sa));
		if (r) {
			r = -errno;
			close(fd);
			return why_set(why, wl, r, "%s: %s", uri, strerror(-r));
		}
		return fd;
	}
	port = strncmp(uri, "tcp:", 4) ? NULL : strrchr(uri + 4, ':');
	if (!port || (size_t)(port - uri - 4) >= sizeof(host))
		return why_set(why, wl, -EINVAL, "%s: not unix:PATH nor tcp:HOST:PORT", uri);
	memcpy(host, uri + 4, (size_t)(port - uri - 4));
	host[port - uri - 4] = 0;
	if (listen_on)
		hints.ai_flags = AI_PASSIVE;
	r = getaddrinfo(*host ? host : NULL, port + 1, &hints, &ai);
	if (r)
		return why_set(why, wl, -EINVAL, "%s: %s", uri, gai_strerror(r));
	for (a = ai; a; a = a->ai_next) {
		int one = 1;

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (listen_on ? !bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, 1) :
				!connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		r = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return why_set(why, wl, r ? r : -EINVAL, "%s: %s", uri,
			       strerror(r ? -r : EINVAL));
	return fd;
}
