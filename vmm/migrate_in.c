// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration, the receiving side ("run --incoming unix:PATH |
 * tcp:HOST:PORT"): init steps of machine.c beside the restore's, which
 * then load the state exactly as a restore does (vmm/machine_restore.c):
 *
 *   incoming-accept  after "host": listen, take one connection, read the
 *                    manifest and refuse a machine this config is not
 *                    (vCPUs, disks' paths) before any memory is made
 *   incoming-memory  after "memory" (RAM bound to its host nodes): the
 *                    pages as they come, round after round, until the
 *                    state stream and the end
 *   restore-state    (machine_restore.c) loads vCPUs, clock and devices
 *   incoming-ack     tells the source it may end; the guest runs here
 *
 * Disks are shared: the source writes them until it stops, so their
 * modification time is not compared, only their paths.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/machine.h"
#include "vmm/migrate.h"

static int read_sock(void *opaque, void *buf, size_t len)
{
	int fd = *(int *)opaque;
	u8 *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int check_disks(struct machine *m)
{
	const struct config *c = m->cfg;
	const struct snap_manifest *mf = &m->snap.mf;
	unsigned i, k = 0;

	for (i = 0; i < c->nr_disks; i++) {
		if (!c->disks[i].path)
			continue;
		if (k >= mf->nr_disks || strcmp(mf->disks[k].path, c->disks[i].path)) {
			pr_err("incoming: disk %s is not the source's disk %u (%s)",
			       c->disks[i].path, k,
			       k < mf->nr_disks ? mf->disks[k].path : "none");
			return -EINVAL;
		}
		k++;
	}
	if (k != mf->nr_disks) {
		pr_err("incoming: the source has %u disks, this config %u",
		       mf->nr_disks, k);
		return -EINVAL;
	}
	return 0;
}

int machine_incoming_accept(struct machine *m)
{
	const char *uri = m->cfg->incoming;
	char why[256], *text = NULL;
	size_t len = 0;
	int lfd, r;

	m->incoming_fd = -1;
	if (!uri)
		return 0;
	lfd = mig_uri_socket(uri, true, why, sizeof(why));
	if (lfd < 0) {
		pr_err("incoming: %s", why);
		return lfd;
	}
	pr_info("incoming: waiting for a migration on %s", uri);
	m->incoming_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	r = m->incoming_fd < 0 ? -errno : 0;
	close(lfd);
	if (!strncmp(uri, "unix:", 5))
		unlink(uri + 5);
	if (r) {
		pr_err("incoming: accept: %s", strerror(-r));
		return r;
	}
	r = mig_recv_manifest(read_sock, &m->incoming_fd, &text, &len, why, sizeof(why));
	if (!r)
		r = snap_manifest_parse(text, len, &m->snap.mf, why, sizeof(why));
	free(text);
	if (r) {
		pr_err("incoming: %s", why);
		return r;
	}
	m->snap.active = true;
	if (m->cfg->nr_cpus != m->snap.mf.nr_cpus) {
		pr_err("incoming: the source has %u vCPUs, this config %u",
		       m->snap.mf.nr_cpus, m->cfg->nr_cpus);
		return -EINVAL;
	}
	return check_disks(m);
}

void machine_incoming_exit(struct machine *m)
{
	if (m->incoming_fd >= 0)
		close(m->incoming_fd);
	m->incoming_fd = -1;
}

int machine_incoming_memory(struct machine *m)
{
	char why[256];
	u64 t0 = now_ns();
	int r;

	if (m->incoming_fd < 0)
		return 0;
	r = machine_snap_compare_memory(m, &m->snap.mf, why, sizeof(why));
	if (!r)
		r = mig_recv_memory(&m->mem, read_sock, &m->incoming_fd,
				    &m->snap.state, &m->snap.state_len, why,
				    sizeof(why));
	if (r) {
		pr_err("incoming: %s", why);
		return r;
	}
	pr_info("incoming: memory and state received in %.2f s",
		(double)(now_ns() - t0) / 1e9);
	return 0;
}

int machine_incoming_ack(struct machine *m)
{
	char c = MIG_ACK;

	if (m->incoming_fd < 0)
		return 0;
	if (send(m->incoming_fd, &c, 1, MSG_NOSIGNAL) != 1) {
		pr_err("incoming: the source is gone before the switch: %s",
		       strerror(errno));
		return -EPIPE;
	}
	close(m->incoming_fd);
	m->incoming_fd = -1;
	pr_info("incoming: the VM runs here now");
	return 0;
}
