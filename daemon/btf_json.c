// SPDX-License-Identifier: GPL-2.0-only
/* Render map keys and values as JSON by walking their BTF types. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>

#include "fwd.h"

static json_object *_fos_hex(const uint8_t *p, size_t n)
{
	char buf[2 * 256 + 3];
	size_t o = 0;

	if (n > 256)
		n = 256;
	o += snprintf(buf + o, sizeof(buf) - o, "0x");
	for (size_t i = 0; i < n; i++)
		o += snprintf(buf + o, sizeof(buf) - o, "%02x", p[i]);
	return json_object_new_string(buf);
}

static json_object *_fos_int(const struct btf_type *t, const uint8_t *p)
{
	uint32_t enc = btf_int_encoding(t);
	uint32_t bits = btf_int_bits(t);
	uint64_t u = 0;

	if (enc & BTF_INT_CHAR && t->size == 1)
		return json_object_new_int(*(const int8_t *)p);
	if (enc & BTF_INT_BOOL)
		return json_object_new_boolean(*p != 0);
	switch (t->size) {
	case 1:
		u = *p;
		break;
	case 2:
		u = *(const uint16_t *)p;
		break;
	case 4:
		u = *(const uint32_t *)p;
		break;
	case 8:
		u = *(const uint64_t *)p;
		break;
	default:
		return _fos_hex(p, t->size);
	}
	if (bits < 64)
		u &= (1ULL << bits) - 1;
	if (enc & BTF_INT_SIGNED) {
		int64_t s = (int64_t)(u << (64 - bits)) >> (64 - bits);

		return json_object_new_int64(s);
	}
	return json_object_new_uint64(u);
}

/* Members that hold addresses read as addresses: "addr", "saddr", "daddr"
 * of 4 bytes (IPv4) or 16 (IPv6, IPv4 as ::ffff:a.b.c.d shown as IPv4). */
static json_object *_fos_addr_member(const struct btf *btf, const char *name, uint32_t type_id,
				     const uint8_t *p, size_t avail)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const struct btf_type *t;
	char buf[INET6_ADDRSTRLEN];
	uint32_t n;

	if (!name ||
	    (strcmp(name, "addr") != 0 && strcmp(name, "saddr") != 0 && strcmp(name, "daddr") != 0))
		return NULL;
	t = btf__type_by_id(btf, type_id);
	if (!t || !btf_is_array(t))
		return NULL;
	n = btf_array(t)->nelems;
	if (btf__resolve_size(btf, btf_array(t)->type) != 1 || (n != 4 && n != 16) || n > avail)
		return NULL;
	if (n == 4)
		inet_ntop(AF_INET, p, buf, sizeof(buf));
	else if (memcmp(p, mapped, sizeof(mapped)) == 0)
		inet_ntop(AF_INET, p + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, p, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *_fos_walk(const struct btf *btf, uint32_t id, const uint8_t *p, size_t avail,
			      int depth)
{
	const struct btf_type *t;

	if (depth > 16)
		return NULL;
	id = btf__resolve_type(btf, id) < 0 ? id : (uint32_t)btf__resolve_type(btf, id);
	t = btf__type_by_id(btf, id);
	if (!t)
		return NULL;

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		if (t->size > avail)
			return NULL;
		return _fos_int(t, p);
	case BTF_KIND_ENUM: {
		const struct btf_enum *e = btf_enum(t);
		int32_t v;

		if (t->size != 4 || avail < 4)
			return _fos_hex(p, t->size < avail ? t->size : avail);
		v = *(const int32_t *)p;
		for (int i = 0; i < btf_vlen(t); i++)
			if (e[i].val == v)
				return json_object_new_string(
				    btf__name_by_offset(btf, e[i].name_off));
		return json_object_new_int(v);
	}
	case BTF_KIND_PTR:
		return json_object_new_uint64(*(const uint64_t *)p);
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		const struct btf_type *et = btf__type_by_id(btf, btf__resolve_type(btf, a->type));
		int64_t esz = btf__resolve_size(btf, a->type);
		json_object *arr;

		if (esz <= 0)
			return NULL;
		/* char arrays read best as strings, byte arrays as hex */
		if (et && btf_is_int(et) && esz == 1) {
			if (btf_int_encoding(et) & BTF_INT_CHAR) {
				size_t n = strnlen((const char *)p, a->nelems);

				return json_object_new_string_len((const char *)p, (int)n);
			}
			return _fos_hex(p, a->nelems);
		}
		arr = json_object_new_array();
		for (uint32_t i = 0; i < a->nelems && (size_t)(esz * (i + 1)) <= avail; i++)
			json_object_array_add(
			    arr, _fos_walk(btf, a->type, p + esz * i, avail - esz * i, depth + 1));
		return arr;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *mb = btf_members(t);
		json_object *obj = json_object_new_object();

		for (int i = 0; i < btf_vlen(t); i++) {
			const char *name = btf__name_by_offset(btf, mb[i].name_off);
			uint32_t off = btf_member_bit_offset(t, i);
			uint32_t bsz = btf_member_bitfield_size(t, i);

			if (name && strncmp(name, "_pad", 4) == 0)
				continue;
			if (bsz || off % 8 || off / 8 >= avail)
				continue;
			json_object_object_add(
			    obj, name && *name ? name : "_",
			    _fos_addr_member(btf, name, mb[i].type, p + off / 8, avail - off / 8)
				?: _fos_walk(btf, mb[i].type, p + off / 8, avail - off / 8,
					     depth + 1));
		}
		return obj;
	}
	default:
		return _fos_hex(p, t->size && t->size < avail ? t->size : avail);
	}
}

json_object *fos_btf_to_json(const struct btf *btf, uint32_t type_id, const void *data, size_t size)
{
	json_object *o = NULL;

	if (btf && type_id)
		o = _fos_walk(btf, type_id, data, size, 0);
	if (!o)
		o = _fos_hex(data, size);
	return o;
}
