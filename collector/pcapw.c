/* SPDX-License-Identifier: MIT */
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "obs_err.h"
#include "pcapw.h"

#define PW_MAX_FRAME (65535 + 80)

struct pw {
	pcap_t *dead;
	pcap_dumper_t *dump;
	uint32_t seq; /* TCP sequence numbers: any value works for one segment per message */
	uint16_t ip_id;
	uint8_t frame[PW_MAX_FRAME];
};

int pw_open(const char *path, pw_t **out, char *err, size_t errlen)
{
	*out = NULL;
	pw_t *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return OBS_ENOMEM;
	w->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_MICRO);
	w->dump = w->dead ? pcap_dump_open(w->dead, path) : NULL;
	if (w->dump == NULL) {
		snprintf(err, errlen, "%s",
			 w->dead ? pcap_geterr(w->dead) : "pcap_open_dead failed");
		pw_close(w);
		return OBS_EINVAL;
	}
	*out = w;
	return OBS_EOK;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void pw_write(pw_t *w, obs_usec_t t, const obs_addr_t *src, const obs_addr_t *dst,
	      unsigned transport, const uint8_t *msg, size_t len)
{
	if (w == NULL || src->ss.ss_family != dst->ss.ss_family)
		return;
	bool v6 = src->ss.ss_family == AF_INET6;
	size_t iph = v6 ? 40 : 20, l4 = transport ? 20 : 8, pre = transport ? 2 : 0;
	size_t total = iph + l4 + pre + len;
	if (total > sizeof(w->frame) || (!v6 && total > 65535))
		return;
	uint8_t *f = w->frame;
	memset(f, 0, iph + l4);
	uint16_t sport, dport;
	if (v6) {
		const struct sockaddr_in6 *s = (const void *)&src->ss, *d = (const void *)&dst->ss;
		f[0] = 0x60;
		put16(f + 4, (uint16_t)(l4 + pre + len));
		f[6] = transport ? 6 : 17;
		f[7] = 64;
		memcpy(f + 8, &s->sin6_addr, 16);
		memcpy(f + 24, &d->sin6_addr, 16);
		sport = ntohs(s->sin6_port);
		dport = ntohs(d->sin6_port);
	} else {
		const struct sockaddr_in *s = (const void *)&src->ss, *d = (const void *)&dst->ss;
		f[0] = 0x45;
		put16(f + 2, (uint16_t)total);
		put16(f + 4, w->ip_id++);
		f[6] = 0x40; /* DF */
		f[8] = 64;
		f[9] = transport ? 6 : 17;
		memcpy(f + 12, &s->sin_addr, 4);
		memcpy(f + 16, &d->sin_addr, 4);
		put16(f + 10, ip_checksum(f, 20));
		sport = ntohs(s->sin_port);
		dport = ntohs(d->sin_port);
	}
	uint8_t *h = f + iph;
	put16(h, sport);
	put16(h + 2, dport);
	if (transport) {
		put32(h + 4, w->seq);
		w->seq += (uint32_t)(pre + len);
		h[12] = 5 << 4;
		h[13] = 0x18; /* PSH, ACK */
		put16(h + 14, 65535);
		put16(h + l4, (uint16_t)len);
	} else {
		put16(h + 4, (uint16_t)(8 + len)); /* checksum 0: none (IPv4), not verified here */
	}
	memcpy(f + iph + l4 + pre, msg, len);
	struct pcap_pkthdr ph = {.caplen = (bpf_u_int32)total, .len = (bpf_u_int32)total};
	ph.ts.tv_sec = (time_t)(t / OBS_USEC_PER_SEC);
	ph.ts.tv_usec = (suseconds_t)(t % OBS_USEC_PER_SEC);
	pcap_dump((u_char *)w->dump, &ph, f);
}

void pw_close(pw_t *w)
{
	if (w == NULL)
		return;
	if (w->dump) {
		pcap_dump_flush(w->dump);
		pcap_dump_close(w->dump);
	}
	if (w->dead)
		pcap_close(w->dead);
	free(w);
}
