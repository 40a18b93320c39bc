/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bounded packet parsing for the BPF programs: Ethernet, up to two VLAN tags,
 * IPv4 (with options) or IPv6 (with up to FOS_IPV6_EXT_MAX extension headers),
 * then the L4 header of TCP, UDP, ICMP and ICMPv6.
 *
 * fos_parse_packet() fills a struct fos_pkt and returns:
 *   FOS_PARSE_OK         an IPv4/IPv6 packet whose headers are all present
 *   FOS_PARSE_NOT_IP     not IP (ARP, LLDP, ...): fields unset
 *   FOS_PARSE_MALFORMED  an IP packet that is truncated or inconsistent, or a frame with
 *                        more VLAN tags than are looked through
 *
 * Lengths are checked against both the frame and the IP header's own length
 * (IPv4 total length, IPv6 payload length), so Ethernet padding is never
 * mistaken for header bytes. fos_parse_packet_len() takes the frame's length
 * apart from the bytes at hand: a TC program sees the skb's linear part
 * [data, data_end) of a frame of skb->len bytes, and only the headers it
 * reads must lie in that part (else the result is FOS_PARSE_MALFORMED and the
 * caller may pull more of the skb in and parse again). An unfragmented packet or a first fragment
 * must carry its whole L4 header: 20 bytes and the data offset's worth of options for TCP, 8 for
 * UDP, 4 for ICMP/ICMPv6; anything shorter is malformed (this also rejects "tiny fragment" attacks
 * that split the TCP header). A non-first fragment carries no L4 header: proto is the IP protocol
 * (IPv4) or the fragment header's next header (IPv6), and no ports are set.
 *
 * Addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d, like the IP set keys in
 * fos/abi.h.
 */
#ifndef FOS_PARSE_BPF_H
#define FOS_PARSE_BPF_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define FOS_VLAN_MAX	 2 /* 802.1Q / 802.1ad tags looked through */
#define FOS_IPV6_EXT_MAX 6 /* IPv6 extension headers walked before giving up */

/* the same values as the C library's AF_INET / AF_INET6 */
#define FOS_AF_INET  2
#define FOS_AF_INET6 10

#define FOS_IP_MF      0x2000 /* IPv4 more fragments */
#define FOS_IP_OFFSET  0x1fff /* IPv4 fragment offset, 8-byte units */
#define FOS_IP6_MF     0x0001 /* IPv6 fragment header: more fragments */
#define FOS_IP6_OFFSET 0xfff8 /* IPv6 fragment header: offset << 3 */

enum fos_parse_result {
	FOS_PARSE_OK = 0,
	FOS_PARSE_NOT_IP,
	FOS_PARSE_MALFORMED,
};

enum fos_pkt_flags {
	FOS_PKT_F_FRAGMENT = 1U << 0,	/* part of a fragmented datagram */
	FOS_PKT_F_FIRST_FRAG = 1U << 1, /* ... and the one at offset 0 */
	FOS_PKT_F_MORE_FRAGS = 1U << 2, /* more-fragments bit set */
	FOS_PKT_F_PORTS = 1U << 3,	/* sport/dport are valid (TCP, UDP) */
	FOS_PKT_F_ICMP = 1U << 4,	/* icmp_type/icmp_code are valid */
	FOS_PKT_F_L4_UNKNOWN = 1U << 5, /* IPv6 non-first fragment whose next header is
					 * an extension header: the L4 protocol is unknown */
};

struct fos_pkt {
	__u8 saddr[16] __attribute__((aligned(8))); /* IPv4 as ::ffff:a.b.c.d */
	__u8 daddr[16] __attribute__((aligned(8)));
	__u32 frag_id; /* host order: IPv4 16-bit id, IPv6 32-bit identification */
	__u16 sport;   /* host order, with FOS_PKT_F_PORTS */
	__u16 dport;
	__u16 l3_off;		     /* offset of the IP header in the frame */
	__u16 l4_off;		     /* offset of the L4 header (or fragment data) in the frame */
	__u16 l4_len;		     /* bytes from l4_off to the end of the IP datagram */
	__u16 vlan_id[FOS_VLAN_MAX]; /* outer first, VID only */
	__u8 n_vlan;
	__u8 family;	 /* FOS_AF_INET or FOS_AF_INET6 */
	__u8 proto;	 /* L4 protocol (see FOS_PKT_F_L4_UNKNOWN) */
	__u8 frag_proto; /* protocol naming the datagram: IPv4 protocol, IPv6
			  * fragment header's next header */
	__u8 flags;	 /* enum fos_pkt_flags */
	__u8 tcp_flags;	 /* byte 13 of the TCP header (FIN..CWR) */
	__u8 icmp_type;	 /* with FOS_PKT_F_ICMP */
	__u8 icmp_code;
	__u8 ttl; /* IPv4 TTL, IPv6 hop limit */
};

struct _fos_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct _fos_ip6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 identification;
};

static __always_inline bool _fos_ipv6_v4mapped(const struct in6_addr *a)
{
	return a->in6_u.u6_addr32[0] == 0 && a->in6_u.u6_addr32[1] == 0 &&
	       a->in6_u.u6_addr32[2] == bpf_htonl(0x0000ffff);
}

static __always_inline void _fos_addr_set_v4(__u8 *a, __be32 v4)
{
	__u32 *w = (__u32 *)a;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = v4;
}

static __always_inline void _fos_addr_set_v6(__u8 *a, const struct in6_addr *v6)
{
	__u32 *w = (__u32 *)a;

	w[0] = v6->in6_u.u6_addr32[0];
	w[1] = v6->in6_u.u6_addr32[1];
	w[2] = v6->in6_u.u6_addr32[2];
	w[3] = v6->in6_u.u6_addr32[3];
}

/* The L4 header at l4 of a datagram with room bytes left in it. */
static __always_inline int _fos_parse_l4(void *l4, void *data_end, __u32 room, struct fos_pkt *pkt)
{
	switch (pkt->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;
		__u32 hlen;

		if ((void *)(th + 1) > data_end)
			return FOS_PARSE_MALFORMED;
		/* also covers a datagram too short for the fixed header */
		hlen = th->doff * 4;
		if (hlen < sizeof(*th) || hlen > room)
			return FOS_PARSE_MALFORMED;
		pkt->sport = bpf_ntohs(th->source);
		pkt->dport = bpf_ntohs(th->dest);
		pkt->tcp_flags = ((__u8 *)th)[13];
		pkt->flags |= FOS_PKT_F_PORTS;
		return FOS_PARSE_OK;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || room < sizeof(*uh))
			return FOS_PARSE_MALFORMED;
		pkt->sport = bpf_ntohs(uh->source);
		pkt->dport = bpf_ntohs(uh->dest);
		pkt->flags |= FOS_PKT_F_PORTS;
		return FOS_PARSE_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		/* type, code, checksum: the part common to ICMP and ICMPv6 */
		struct icmp6hdr *ih = l4;

		if ((void *)ih + 4 > data_end || room < 4)
			return FOS_PARSE_MALFORMED;
		pkt->icmp_type = ih->icmp6_type;
		pkt->icmp_code = ih->icmp6_code;
		pkt->flags |= FOS_PKT_F_ICMP;
		return FOS_PARSE_OK;
	}
	default:
		return FOS_PARSE_OK;
	}
}

static __always_inline int _fos_parse_ipv4(void *data, void *data_end, __u32 frame_len,
					   __u32 l3_off, struct fos_pkt *pkt)
{
	struct iphdr *iph = data + l3_off;
	__u32 hlen, tot_len;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return FOS_PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return FOS_PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < hlen || l3_off + tot_len > frame_len)
		return FOS_PARSE_MALFORMED;

	pkt->family = FOS_AF_INET;
	pkt->ttl = iph->ttl;
	pkt->proto = iph->protocol;
	pkt->frag_proto = iph->protocol;
	_fos_addr_set_v4(pkt->saddr, iph->saddr);
	_fos_addr_set_v4(pkt->daddr, iph->daddr);
	pkt->l3_off = l3_off;
	pkt->l4_off = l3_off + hlen;
	pkt->l4_len = tot_len - hlen;

	frag = bpf_ntohs(iph->frag_off);
	if (frag & (FOS_IP_MF | FOS_IP_OFFSET)) {
		pkt->flags |= FOS_PKT_F_FRAGMENT;
		pkt->frag_id = bpf_ntohs(iph->id);
		if (frag & FOS_IP_MF)
			pkt->flags |= FOS_PKT_F_MORE_FRAGS;
		if (frag & FOS_IP_OFFSET)
			return FOS_PARSE_OK;
		pkt->flags |= FOS_PKT_F_FIRST_FRAG;
	}
	return _fos_parse_l4((void *)iph + hlen, data_end, tot_len - hlen, pkt);
}

static __always_inline bool _fos_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH;
}

static __always_inline int _fos_parse_ipv6(void *data, void *data_end, __u32 frame_len,
					   __u32 l3_off, struct fos_pkt *pkt)
{
	struct ipv6hdr *ip6h = data + l3_off;
	__u32 room, off, len;
	__u8 nh;
	int i;

	if ((void *)(ip6h + 1) > data_end)
		return FOS_PARSE_MALFORMED;
	if (ip6h->version != 6)
		return FOS_PARSE_MALFORMED;
	/* payload length 0 announces a jumbogram, which no Ethernet frame holds */
	room = bpf_ntohs(ip6h->payload_len);
	if (room == 0 || l3_off + sizeof(*ip6h) + room > frame_len)
		return FOS_PARSE_MALFORMED;

	/* IPv4-mapped addresses never appear on the wire (RFC 4291 2.5.5.2); an
	 * IPv6 packet carrying one would pose as IPv4 to the filter */
	if (_fos_ipv6_v4mapped(&ip6h->saddr) || _fos_ipv6_v4mapped(&ip6h->daddr))
		return FOS_PARSE_MALFORMED;
	pkt->family = FOS_AF_INET6;
	pkt->ttl = ip6h->hop_limit;
	_fos_addr_set_v6(pkt->saddr, &ip6h->saddr);
	_fos_addr_set_v6(pkt->daddr, &ip6h->daddr);
	pkt->l3_off = l3_off;
	nh = ip6h->nexthdr;
	off = l3_off + sizeof(*ip6h);

	for (i = 0; i < FOS_IPV6_EXT_MAX; i++) {
		void *h = data + off;

		if (!_fos_ipv6_is_ext(nh))
			break;
		if (h + 8 > data_end || room < 8)
			return FOS_PARSE_MALFORMED;
		if (nh == IPPROTO_FRAGMENT) {
			struct _fos_ip6_frag_hdr *fh = h;
			__u16 fo = bpf_ntohs(fh->frag_off);

			len = sizeof(*fh);
			nh = fh->nexthdr;
			/* offset 0 without M is an atomic fragment: a whole datagram */
			if (fo & (FOS_IP6_OFFSET | FOS_IP6_MF)) {
				pkt->flags |= FOS_PKT_F_FRAGMENT;
				pkt->frag_id = bpf_ntohl(fh->identification);
				pkt->frag_proto = nh;
				if (fo & FOS_IP6_MF)
					pkt->flags |= FOS_PKT_F_MORE_FRAGS;
				if (fo & FOS_IP6_OFFSET) {
					pkt->proto = nh;
					if (_fos_ipv6_is_ext(nh) || nh == IPPROTO_ESP)
						pkt->flags |= FOS_PKT_F_L4_UNKNOWN;
					pkt->l4_off = off + len;
					pkt->l4_len = room - len;
					return FOS_PARSE_OK;
				}
				pkt->flags |= FOS_PKT_F_FIRST_FRAG;
			}
		} else if (nh == IPPROTO_AH) {
			struct ip_auth_hdr *ah = h;

			len = (ah->hdrlen + 2) * 4;
			nh = ah->nexthdr;
		} else {
			struct ipv6_opt_hdr *oh = h;

			len = (oh->hdrlen + 1) * 8;
			nh = oh->nexthdr;
		}
		if (len > room)
			return FOS_PARSE_MALFORMED;
		room -= len;
		off += len;
	}
	if (_fos_ipv6_is_ext(nh))
		return FOS_PARSE_MALFORMED; /* more extension headers than we walk */
	pkt->proto = nh;
	if (!(pkt->flags & FOS_PKT_F_FRAGMENT))
		pkt->frag_proto = nh;
	pkt->l4_off = off;
	pkt->l4_len = room;
	return _fos_parse_l4(data + off, data_end, room, pkt);
}

/* Parse a frame of frame_len bytes whose first bytes are [data, data_end)
 * into *pkt, which the caller zeroes. */
static __always_inline int fos_parse_packet_len(void *data, void *data_end, __u32 frame_len,
						struct fos_pkt *pkt)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return FOS_PARSE_MALFORMED;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < FOS_VLAN_MAX; i++) {
		struct _fos_vlan_hdr *vh = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return FOS_PARSE_MALFORMED;
		pkt->vlan_id[i] = bpf_ntohs(vh->tci) & 0x0fff;
		pkt->n_vlan++;
		proto = vh->encap_proto;
		off += sizeof(*vh);
	}

	/* more tags than are looked through hide what they carry, perhaps IP: a
	 * filter cannot let that pass unseen */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return FOS_PARSE_MALFORMED;
	if (proto == bpf_htons(ETH_P_IP))
		return _fos_parse_ipv4(data, data_end, frame_len, off, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return _fos_parse_ipv6(data, data_end, frame_len, off, pkt);
	return FOS_PARSE_NOT_IP;
}

/* Parse the frame [data, data_end) into *pkt, which the caller zeroes. */
static __always_inline int fos_parse_packet(void *data, void *data_end, struct fos_pkt *pkt)
{
	return fos_parse_packet_len(data, data_end, data_end - data, pkt);
}

#endif /* FOS_PARSE_BPF_H */
