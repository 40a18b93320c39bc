/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench-gen's second sender: the frames fos_xdp_gen writes (same headers,
 * same sequence of sources, ports and identifiers, checksums computed per
 * frame), built in batches and handed to the interface with sendmmsg on an
 * AF_PACKET socket that bypasses the qdisc, so that they reach the veth
 * peer as a driver's transmit does. Slower than live frames (a system call
 * per batch, an skb per frame): not always enough to keep a router's CPU
 * busy, which is why bench-gen sends seeds this way when it can.
 *
 * As seeds (a mark given), the frames are left blank and go through the
 * interface's egress hook, where fos_tc_gen writes and multiplies them: one
 * system call per batch of seeds, a clone per frame.
 *
 * With a rate (o->pps) each batch leaves when its time has come: the frames
 * due by now, at most a batch; a run held up briefly catches up, one held
 * up for longer than 50 ms starts its schedule again, as fos_xdp_gen's cap.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "csum.h"
#include "gen.h"
#include "log.h"

#define GEN_BATCH	 64
#define GEN_FRAME_MAX	 1500
#define GEN_TCP_HLEN	 24 /* a TCP header with the MSS option */
#define GEN_ICMP_DATA	 16
#define GEN_CATCH_UP_S	 0.05
#define GEN_SNDBUF_BYTES (4 << 20)

struct gen_state {
	const struct gen_opts *o;
	uint64_t seq; /* frames built so far */
	uint64_t rnd; /* xorshift64 state */
	uint32_t n_sports, n_saddrs;
};

static uint32_t gen_random(struct gen_state *s)
{
	uint64_t x = s->rnd;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rnd = x;
	return (uint32_t)(x >> 16);
}

static uint32_t gen_saddr(struct gen_state *s)
{
	const struct gen_opts *o = s->o;

	if (o->src_plen < 32) {
		uint32_t mask = o->src_plen ? UINT32_MAX >> o->src_plen : UINT32_MAX;

		return htonl((ntohl(o->saddr.s_addr) & ~mask) | (gen_random(s) & mask));
	}
	return htonl(ntohl(o->saddr.s_addr) + (uint32_t)((s->seq / s->n_sports) % s->n_saddrs));
}

static void gen_ip(struct gen_state *s, uint8_t *f, uint8_t proto, uint16_t tot_len)
{
	const struct gen_opts *o = s->o;
	struct iphdr iph = {0}; /* built aligned, copied into the frame at 14 */

	memcpy(f, o->dst_mac, ETH_ALEN);
	memcpy(f + ETH_ALEN, o->src_mac, ETH_ALEN);
	f[12] = ETH_P_IP >> 8;
	f[13] = ETH_P_IP & 0xff;
	iph.version = 4;
	iph.ihl = sizeof(iph) / 4;
	iph.tot_len = htons(tot_len);
	iph.id = htons((uint16_t)s->seq);
	iph.frag_off = htons(0x4000); /* DF */
	iph.ttl = 64;
	iph.protocol = proto;
	iph.saddr = gen_saddr(s);
	iph.daddr = o->daddr.s_addr;
	iph.check = htons(bench_csum((const uint8_t *)&iph, sizeof(iph), 0));
	memcpy(f + ETH_HLEN, &iph, sizeof(iph));
}

/* frame number s->seq into f (o->frame_len bytes, zeroed beyond the headers) */
static void gen_frame(struct gen_state *s, uint8_t *f)
{
	const struct gen_opts *o = s->o;
	uint8_t *l4 = f + ETH_HLEN + sizeof(struct iphdr);
	size_t len = o->frame_len - ETH_HLEN; /* from the IPv4 header on */

	switch (o->mode) {
	case GEN_SYN: {
		uint16_t sport = (uint16_t)(1024 + gen_random(s) % (65536 - 1024));
		uint32_t seq = gen_random(s) << 16 ^ gen_random(s);
		uint32_t sum;

		gen_ip(s, f, IPPROTO_TCP, sizeof(struct iphdr) + GEN_TCP_HLEN);
		memset(l4, 0, GEN_TCP_HLEN);
		l4[0] = (uint8_t)(sport >> 8);
		l4[1] = (uint8_t)sport;
		l4[2] = (uint8_t)(o->dport >> 8);
		l4[3] = (uint8_t)o->dport;
		memcpy(l4 + 4, &seq, 4);
		l4[12] = (GEN_TCP_HLEN / 4) << 4;
		l4[13] = 0x02; /* SYN */
		l4[14] = 64240 >> 8;
		l4[15] = 64240 & 0xff;
		l4[20] = 2; /* MSS, length 4, 1460 */
		l4[21] = 4;
		l4[22] = 1460 >> 8;
		l4[23] = 1460 & 0xff;
		/* the pseudo header: the addresses, the protocol, the length */
		sum = (uint16_t)~bench_csum(f + ETH_HLEN + 12, 8, IPPROTO_TCP + GEN_TCP_HLEN);
		{
			uint16_t c = htons(bench_csum(l4, GEN_TCP_HLEN, sum));

			memcpy(l4 + 16, &c, 2);
		}
		break;
	}
	case GEN_ICMP: {
		uint16_t c, id = htons(o->sport), sq = htons((uint16_t)s->seq);

		gen_ip(s, f, IPPROTO_ICMP, sizeof(struct iphdr) + 8 + GEN_ICMP_DATA);
		memset(l4, 0, 8);
		l4[0] = 8; /* echo request */
		memcpy(l4 + 4, &id, 2);
		memcpy(l4 + 6, &sq, 2);
		for (int i = 0; i < GEN_ICMP_DATA; i++)
			l4[8 + i] = (uint8_t)i;
		c = htons(bench_csum(l4, 8 + GEN_ICMP_DATA, 0));
		memcpy(l4 + 2, &c, 2);
		break;
	}
	default: {
		uint16_t sport = (uint16_t)(o->sport + s->seq % s->n_sports);
		uint16_t ulen = htons((uint16_t)(len - sizeof(struct iphdr)));

		gen_ip(s, f, IPPROTO_UDP, (uint16_t)len);
		l4[0] = (uint8_t)(sport >> 8);
		l4[1] = (uint8_t)sport;
		l4[2] = (uint8_t)(o->dport >> 8);
		l4[3] = (uint8_t)o->dport;
		memcpy(l4 + 4, &ulen, 2);
		l4[6] = 0; /* no checksum: optional over IPv4 */
		l4[7] = 0;
		break;
	}
	}
	s->seq++;
}

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* frames due at t under the rate cap (all of a batch without one) */
static unsigned gen_due(const struct gen_opts *o, double *start, uint64_t sent, double t)
{
	double want;

	if (!o->pps)
		return GEN_BATCH;
	want = (t - *start) * (double)o->pps;
	if (want > (double)sent + GEN_CATCH_UP_S * (double)o->pps) {
		/* held up for long: the schedule starts again from now */
		*start = t - (double)sent / (double)o->pps;
		want = (double)sent;
	}
	if (want <= (double)sent)
		return 0;
	return want - (double)sent >= GEN_BATCH ? GEN_BATCH : (unsigned)(want - (double)sent) + 1;
}

int gen_packet_run(const struct gen_opts *o, uint32_t seed_mark, uint64_t *ret_frames,
		   double *ret_seconds)
{
	static uint8_t frames[GEN_BATCH][GEN_FRAME_MAX];
	struct iovec iov[GEN_BATCH];
	struct mmsghdr msg[GEN_BATCH];
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET,
	    .sll_protocol = htons(ETH_P_IP),
	    .sll_ifindex = (int)o->ifindex,
	};
	struct gen_state s = {
	    .o = o,
	    .rnd = 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32,
	    .n_sports = o->n_sports ? o->n_sports : 1,
	    .n_saddrs = o->n_saddrs ? o->n_saddrs : 1,
	};
	_cleanup_(closep) int fd = -1;
	int one = 1, sndbuf = GEN_SNDBUF_BYTES;
	uint64_t sent = 0;
	double t0, t, start;

	if (o->frame_len > GEN_FRAME_MAX)
		return -EINVAL;
	/* protocol 0: this socket sends only, it receives nothing */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(-errno, "cannot open an AF_PACKET socket");
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return log_error_errno(-errno, "cannot bind the AF_PACKET socket to ifindex %u",
				       o->ifindex);
	if (seed_mark) {
		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &seed_mark, sizeof(seed_mark)) < 0)
			return log_error_errno(-errno, "cannot mark the seeds (SO_MARK)");
	} else if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
		return log_error_errno(-errno, "cannot bypass the qdisc (PACKET_QDISC_BYPASS)");
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	memset(frames, 0, sizeof(frames));
	for (int i = 0; i < GEN_BATCH; i++) {
		iov[i] = (struct iovec){.iov_base = frames[i], .iov_len = o->frame_len};
		msg[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &sll,
						      .msg_namelen = sizeof(sll),
						      .msg_iov = &iov[i],
						      .msg_iovlen = 1}};
	}

	t0 = start = gen_now_s();
	for (t = t0; !gen_stop_signal && t - t0 < o->seconds; t = gen_now_s()) {
		unsigned n = gen_due(o, &start, sent, t);
		int r;

		if (!n)
			continue; /* spin until the next frame is due */
		for (unsigned i = 0; !seed_mark && i < n; i++)
			gen_frame(&s, frames[i]);
		r = sendmmsg(fd, msg, n, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
				if (!seed_mark)
					s.seq -= n; /* the same frames again */
				continue;
			}
			return log_error_errno(-errno, "sendmmsg on the AF_PACKET socket");
		}
		/* frames not taken are built again, in their order */
		if (!seed_mark)
			s.seq -= n - (unsigned)r;
		sent += (unsigned)r;
	}
	*ret_frames = sent;
	*ret_seconds = gen_now_s() - t0;
	return 0;
}
