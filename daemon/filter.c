// SPDX-License-Identifier: GPL-2.0-only
/* The XDP filter's rulesets: built from config, written to a slot, flipped. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "cls_maps.h"
#include "filter.h"

static uint8_t _fos_act(enum fos_cfg_action a)
{
	switch (a) {
	case FOS_CFG_DROP:
		return FOS_ACT_DROP;
	case FOS_CFG_REDIRECT:
		return FOS_ACT_REDIRECT;
	default:
		return FOS_ACT_PASS;
	}
}

static void _fos_ports(struct fos_port_range *dst, uint8_t *ret_n, const struct fos_port_span *v,
		       size_t n)
{
	for (size_t j = 0; j < n; j++)
		dst[j] = (struct fos_port_range){v[j].lo, v[j].hi};
	*ret_n = (uint8_t)n;
}

void fos_filter_rs_free(struct fos_filter_rs *rs)
{
	if (!rs)
		return;
	free(rs->rules);
	rs->rules = NULL;
	fos_classify_free(&rs->cls);
}

int fos_filter_build(const struct fos_program *c, const struct fos_filter_ids *ids,
		     struct fos_filter_rs *ret, struct fos_errors *errs)
{
	struct fos_filter_rs rs = {};
	_cleanup_free_ struct fos_cls_cidrs *cidrs = NULL;
	char err[256] = "";
	int r;

	rs.slot.n_rules = c->n_rules;
	rs.slot.default_action = _fos_act(c->default_action);
	if (c->default_action == FOS_CFG_REDIRECT) {
		rs.slot.default_ifindex = if_nametoindex(c->default_interface);
		if (!rs.slot.default_ifindex) {
			fos_errors_add(errs, c->src.file, c->src.line,
				       "programs \"%s\": defaultInterface \"%s\" does not exist",
				       c->name, c->default_interface);
			return -EINVAL;
		}
	}
	if (c->blacklist.enabled) {
		rs.slot.flags |= FOS_SLOT_F_BLACKLIST;
		rs.slot.blacklist_set = ids->blacklist;
	}
	if (c->whitelist.enabled) {
		rs.slot.flags |= FOS_SLOT_F_WHITELIST;
		rs.slot.whitelist_set = ids->whitelist;
	}

	rs.rules = calloc(c->n_rules ? c->n_rules : 1, sizeof(*rs.rules));
	cidrs = calloc(c->n_rules ? c->n_rules : 1, sizeof(*cidrs));
	if (!rs.rules || !cidrs) {
		free(rs.rules);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct fos_rule_cfg *rc = &c->rules[i];
		const struct fos_match *mt = &rc->match;
		struct fos_rule *ru = &rs.rules[i];

		ru->proto = mt->protocol;
		ru->action = _fos_act(rc->action);
		if (rc->action == FOS_CFG_REDIRECT) {
			ru->ifindex = if_nametoindex(rc->interface);
			if (!ru->ifindex) {
				fos_errors_add(errs, rc->src.file, rc->src.line,
					       "programs \"%s\" rules[%zu]: interface \"%s\" does "
					       "not exist",
					       c->name, i, rc->interface);
				free(rs.rules);
				return -EINVAL;
			}
		}
		if (mt->n_src) {
			ru->flags |= FOS_RULE_F_SRC;
			ru->src_set = ids->rule_src ? ids->rule_src[i] : FOS_SET_ID_NONE;
		}
		if (mt->n_dst) {
			ru->flags |= FOS_RULE_F_DST;
			ru->dst_set = ids->rule_dst ? ids->rule_dst[i] : FOS_SET_ID_NONE;
		}
		if (mt->n_sport) {
			ru->flags |= FOS_RULE_F_SPORT;
			_fos_ports(ru->sport, &ru->n_sport, mt->sport, mt->n_sport);
		}
		if (mt->n_dport) {
			ru->flags |= FOS_RULE_F_DPORT;
			_fos_ports(ru->dport, &ru->n_dport, mt->dport, mt->n_dport);
		}
		if (mt->state) {
			ru->flags |= FOS_RULE_F_STATE;
			ru->state = mt->state;
		}
		cidrs[i] = (struct fos_cls_cidrs){mt->src, mt->n_src, mt->dst, mt->n_dst};
	}

	r = fos_classify_compile(rs.rules, c->n_rules, cidrs, err, sizeof(err), &rs.cls);
	if (r < 0) {
		fos_errors_add(errs, c->src.file, c->src.line, "programs \"%s\" %s", c->name,
			       err[0] ? err : strerror(-r));
		free(rs.rules);
		return r;
	}
	fos_classify_slot(rs.cls, &rs.slot);
	*ret = rs;
	return 0;
}

/* Does slot hold rs's rules? Its header is read into *ret_cur. */
static bool _fos_slot_rules_are(const struct fos_filter_maps *fm, uint32_t slot,
				const struct fos_filter_rs *rs, struct fos_slot *ret_cur)
{
	int rules_fd = fm->rules;
	uint32_t k = slot;

	if (bpf_map_lookup_elem(fm->slots, &k, ret_cur) < 0 || ret_cur->n_rules != rs->slot.n_rules)
		return false;
	for (uint32_t i = 0; i < rs->slot.n_rules; i++) {
		struct fos_rule ru;

		k = slot * FOS_MAX_RULES + i;
		if (bpf_map_lookup_elem(rules_fd, &k, &ru) < 0 ||
		    memcmp(&ru, &rs->rules[i], sizeof(ru)) != 0)
			return false;
	}
	return true;
}

bool fos_filter_slot_holds(const struct fos_filter_maps *fm, uint32_t slot,
			   const struct fos_filter_rs *rs)
{
	struct fos_slot cur;

	if (!_fos_slot_rules_are(fm, slot, rs, &cur))
		return false;
	/* the classifier tables are covered by the hash in the header */
	cur.generation = rs->slot.generation;
	return memcmp(&cur, &rs->slot, sizeof(cur)) == 0;
}

/* Does slot hold rs's rules and classifier (whatever the rest of its header
 * says)? */
static bool _fos_same_rules(const struct fos_filter_maps *fm, uint32_t slot,
			    const struct fos_filter_rs *rs)
{
	struct fos_slot cur;

	return _fos_slot_rules_are(fm, slot, rs, &cur) && cur.cls_hash == rs->slot.cls_hash;
}

static int _fos_copy_counter(int fd, uint32_t from, uint32_t to, int ncpu)
{
	_cleanup_free_ struct fos_rule_counter *v = calloc(ncpu, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &from, v) < 0 || bpf_map_update_elem(fd, &to, v, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int fos_filter_write_slot(const struct fos_filter_maps *fm, uint32_t slot,
			  const struct fos_filter_rs *rs)
{
	int rules_fd = fm->rules;
	int rstat_fd = fm->rule_stats;
	int dstat_fd = fm->default_st;
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ struct fos_rule_counter *zero = NULL;
	uint32_t k;
	bool carry;
	int r;

	if (ncpu <= 0 || slot >= FOS_SLOTS)
		return -EINVAL;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	/* the same rules as the live slot (only a list's set or the default
	 * changed): their counters carry over; new rules start at zero */
	carry = _fos_same_rules(fm, slot ^ 1, rs);
	for (uint32_t i = 0; i < rs->slot.n_rules; i++) {
		k = slot * FOS_MAX_RULES + i;
		if (bpf_map_update_elem(rules_fd, &k, &rs->rules[i], BPF_ANY) < 0)
			return -errno;
		r = carry ? _fos_copy_counter(rstat_fd, (slot ^ 1) * FOS_MAX_RULES + i, k, ncpu)
			  : -ENOENT;
		if (r < 0 && bpf_map_update_elem(rstat_fd, &k, zero, BPF_ANY) < 0)
			return -errno;
	}
	r = carry ? _fos_copy_counter(dstat_fd, slot ^ 1, slot, ncpu) : -ENOENT;
	if (r < 0 && bpf_map_update_elem(dstat_fd, &slot, zero, BPF_ANY) < 0)
		return -errno;
	r = fos_cls_maps_write(&fm->cls, slot, rs->cls);
	if (r < 0)
		return r;
	if (bpf_map_update_elem(fm->slots, &slot, &rs->slot, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int fos_filter_flip(const struct fos_filter_maps *fm, uint32_t slot)
{
	struct fos_ctl ctl = {.active = slot};
	uint32_t k = 0;

	if (slot >= FOS_SLOTS)
		return -EINVAL;
	if (bpf_map_update_elem(fm->ctl, &k, &ctl, BPF_ANY) < 0)
		return -errno;
	return 0;
}
