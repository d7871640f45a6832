// SPDX-License-Identifier: GPL-2.0
/*
 * net.c - agent.net: the virtio-net interface, ping and a TCP exchange.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

/* ---- network: agent.net=IP/PREFIX,PEER[,PORT] ------------------------- */

#define NET_TX_BYTES	(1 << 20)

/* Byte i of what the guest sends; the test host checks it. */
static uint8_t net_tx_byte(uint64_t i)
{
	return (uint8_t)(i * 31 + (i >> 11));
}

/* Run a shell command, its output into buf; returns its exit status. */
static int sh_run(const char *cmd, char *buf, size_t size)
{
	int p[2], st = -1;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	buf[0] = 0;
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && (r = read(p[0], buf + n, size - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first interface that is not lo, waiting up to 10 s for it. */
static bool net_ifname(char *name, size_t size)
{
	char **ents;
	int i, n, tries;

	for (tries = 0; tries < 100; tries++) {
		n = list_dir("/sys/class/net", &ents);
		for (i = 0; i < n && !strcmp(ents[i], "lo"); i++)
			;
		if (i < n)
			scopy(name, size, ents[i]);
		free_list(ents, n);
		if (i < n)
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * TCP to PEER:PORT: send NET_TX_BYTES of net_tx_byte(), shut down the
 * sending side, then count and hash (FNV-1a 64) what comes back.
 */
static void net_tcp(struct jb *j, const char *peer, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint64_t sent = 0, got = 0, h = 0xcbf29ce484222325ULL;
	static uint8_t buf[65536];
	const char *err = NULL;
	int fd = -1, i;
	ssize_t r;

	inet_pton(AF_INET, peer, &sa.sin_addr);
	for (i = 0; i < 50; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		usleep(200000);
	}
	if (fd < 0) {
		err = "connect failed";
		goto out;
	}
	while (sent < NET_TX_BYTES) {
		size_t k, n = sizeof(buf);

		if (n > NET_TX_BYTES - sent)
			n = NET_TX_BYTES - sent;
		for (k = 0; k < n; k++)
			buf[k] = net_tx_byte(sent + k);
		r = write(fd, buf, n);
		if (r <= 0) {
			err = "send failed";
			goto out;
		}
		sent += r;
	}
	shutdown(fd, SHUT_WR);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < r; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
		got += r;
	}
	if (r < 0)
		err = "receive failed";
out:
	if (fd >= 0)
		close(fd);
	jb_kint(j, "tcp_sent", (long long)sent);
	jb_kint(j, "tcp_received", (long long)got);
	snprintf((char *)buf, sizeof(buf), "%016llx", (unsigned long long)h);
	jb_kstr(j, "tcp_fnv64", (char *)buf);
	jb_kstr(j, "tcp_error", err);
}

void net_test(const char *v)
{
	char addr[64] = "", peer[64] = "", ifname[64] = "", mac[64] = "";
	char cmd[512], outb[4096];
	struct jb j = { 0 };
	int port = 0, rc, tx = -1, rx = -1;
	const char *c1 = strchr(v, ','), *c2;

	if (!c1 || c1 - v >= (long)sizeof(addr)) {
		agent_err("bad agent.net=%s (want IP/PREFIX,PEER[,PORT])", v);
		return;
	}
	memcpy(addr, v, c1 - v);
	c2 = strchr(c1 + 1, ',');
	scopy(peer, c2 && c2 - c1 <= (long)sizeof(peer) ? (size_t)(c2 - c1) :
	      sizeof(peer), c1 + 1);
	if (c2)
		port = atoi(c2 + 1);
	jb_open(&j, '{');
	if (!net_ifname(ifname, sizeof(ifname))) {
		jb_kstr(&j, "error", "no network interface");
		goto out;
	}
	read_strf(mac, sizeof(mac), "/sys/class/net/%s/address", ifname);
	jb_kstr(&j, "ifname", ifname);
	jb_kstr(&j, "mac", mac);
	jb_kstr(&j, "addr", addr);
	jb_kstr(&j, "peer", peer);
	snprintf(cmd, sizeof(cmd), "ip link set %s up && ip addr add %s dev %s",
		 ifname, addr, ifname);
	rc = sh_run(cmd, outb, sizeof(outb));
	jb_kint(&j, "setup_rc", rc);
	snprintf(cmd, sizeof(cmd), "ping -c 3 -W 5 %s", peer);
	rc = sh_run(cmd, outb, sizeof(outb));
	{
		const char *p = strstr(outb, "packets transmitted");

		while (p && p > outb && p[-1] != '\n')
			p--;
		if (p)
			sscanf(p, "%d packets transmitted, %d packets received",
			       &tx, &rx);
	}
	jb_kint(&j, "ping_rc", rc);
	jb_kint(&j, "ping_sent", tx);
	jb_kint(&j, "ping_received", rx);
	if (port > 0)
		net_tcp(&j, peer, port);
out:
	jb_close(&j, '}');
	jb_emit(&j, "AGENT-NET");
}
