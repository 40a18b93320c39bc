/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control protocol between fwd and its clients (fosctl, the sidecar).
 *
 * Transport: AF_UNIX SOCK_STREAM. Each message is one JSON object followed
 * by a NUL byte; a message larger than FOS_IPC_MAX_MESSAGE is an error and
 * the connection is closed.
 *
 * Request:  {"method": "fos.Show.Programs", "parameters": {...}}
 * Reply:    {"parameters": {...}}
 * Error:    {"error": "fos.NoSuchProgram", "parameters": {"message": "...", ...}}
 * Stream:   a long reply is split into several messages; every one but the
 *           last carries "continues": true. Each part's parameters hold an
 *           "entries" array; fos_ipc_call() joins them into one reply.
 *
 * Methods (parameters -> reply parameters):
 *   fos.GetInfo            {} -> {version, protocol, abi}
 *   fos.Show.Status        {} -> {version, pid, uptime, config, generation,
 *                                 pinDir, socket,
 *                                 lastReload: {time, ok, message, errors[]}}
 *   fos.Show.Programs      {} -> {programs: [{name, type, interface, priority,
 *                                 loaded, attached, mode, progId, linkId,
 *                                 rules, packets, dropped}]}
 *   fos.Show.Program       {name} -> {name, description, type, interface,
 *                                 priority, progId, linkId, mode,
 *                                 status: {loaded, attached, mapRefs[],
 *                                   metrics: {packetsProcessed, packetsDropped,
 *                                     packetsPassed, packetsRedirected, bytes},
 *                                   lastUpdated},
 *                                 counters: {blacklist, whitelist, default,
 *                                   malformed, nonIp, fragments,
 *                                   fragmentsWithoutFirst, redirectFailed}}
 *   fos.Show.Rules         {program?} -> {programs: [{name, default: {action,
 *                                 interface?, packets, bytes}, rules: [{index,
 *                                 match: {protocol, srcCIDR[], dstCIDR[],
 *                                 srcPorts[], dstPorts[]}, action, interface?,
 *                                 packets, bytes}]}]}
 *   fos.Show.Sets          {} -> {sets: [{name, entries, configEntries,
 *                                 dynamicEntries, file?, usedBy[]}]}
 *   fos.Show.Set           {name} -> streamed {name, entries: [{cidr, dynamic}]}
 *   fos.Show.Conntrack     {src?, dst?, proto?, port?, state?, zone?, limit?}
 *                          -> streamed {entries: [{proto, family, zone, src,
 *                                 dst, sport?, dport?, icmpId?, state, timeout,
 *                                 age, seenReply, interface, packets: {orig,
 *                                 reply}, bytes: {orig, reply}}], matched,
 *                                 scanned, complete}
 *                          src/dst are the original direction's (the end that
 *                          opened the flow); the filters: src and dst are
 *                          CIDRs the original source/destination must be in,
 *                          proto a name (tcp, udp, icmp, icmpv6) or number,
 *                          port either port (or the ICMP echo id), state an
 *                          entry state (new, syn_sent, syn_recv, established,
 *                          fin_wait, close_wait, time_wait, close), zone a
 *                          number; unknown parameters are refused. limit
 *                          stops the walk at that many entries: matched and
 *                          scanned then cover the part walked, and complete
 *                          is false. timeout and age are seconds (timeout 0:
 *                          expired, waiting for the collector).
 *   fos.Show.ConntrackSummary {} -> {maxConnections, capacity, entries, fill
 *                                 (percent), created, insertFailures,
 *                                 reopened, invalid (conntrack.invalid),
 *                                 timeouts: {tcp, tcpSyn, tcpFin, udp, icmp},
 *                                 gc: {runs, removed, cleared, released,
 *                                   lastRunAt, lastRunMs, maxStepMs,
 *                                   intervalMs},
 *                                 protocols: [{proto, entries, states:
 *                                   {<state>: count}}]}
 *   fos.Clear.Conntrack    {src?, dst?, proto?, port?, state?, zone?} ->
 *                          {removed}; no filter clears the whole table
 *   fos.Show.Maps          {} -> {maps: [{name, type, keySize, valueSize,
 *                                 maxEntries, entries, id, pinned}]}
 *   fos.Show.Map           {name} -> streamed {name, type, perCpu,
 *                                 entries: [{key, value}]}; key and value are
 *                                 JSON rendered from the map's BTF
 *   fos.Set.Add            {name, cidr} -> {name, cidr, added}
 *   fos.Set.Del            {name, cidr} -> {name, cidr, removed}
 *   fos.Reload             {} -> {generation, message}
 *   fos.Config.Check       {file} -> {file, ok: true, programs, sets}
 *
 * Errors (the "error" value):
 *   fos.MethodNotFound, fos.InvalidParameter, fos.PermissionDenied,
 *   fos.NoSuchProgram, fos.NoSuchSet, fos.NoSuchMap, fos.ConfigInvalid
 *   (parameters.errors[] holds every "file:line: ..." message),
 *   fos.Failed (parameters.message says why).
 */
#ifndef FOS_IPC_H
#define FOS_IPC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define FOS_IPC_PROTOCOL    1
#define FOS_IPC_MAX_MESSAGE (16U * 1024 * 1024)

/* Buffered reader for NUL-framed messages on a (possibly non-blocking) fd. */
struct fos_ipc_reader {
	char *buf;
	size_t len;
	size_t cap;
};

void fos_ipc_reader_free(struct fos_ipc_reader *r);

/*
 * Parse the next complete message already buffered, if any: returns 1 and
 * sets *ret, 0 if more bytes are needed, -EMSGSIZE if the message exceeds the
 * cap, -EBADMSG if it is not a JSON object.
 */
int fos_ipc_reader_next(struct fos_ipc_reader *r, json_object **ret);
/* Append bytes read from fd: returns bytes read, 0 on EOF, -EAGAIN, -errno. */
int fos_ipc_reader_fill(struct fos_ipc_reader *r, int fd);
/* Feed raw bytes (tests). */
int fos_ipc_reader_feed(struct fos_ipc_reader *r, const void *data, size_t len);

/* Encode a message: JSON text plus the NUL. Caller frees. */
int fos_ipc_encode(json_object *msg, char **ret, size_t *ret_len);
/* Write the whole message, blocking (retries on EINTR and partial writes). */
int fos_ipc_send(int fd, json_object *msg);

/* Build messages. All take ownership of params (may be NULL -> {}). */
json_object *fos_ipc_request(const char *method, json_object *params);
json_object *fos_ipc_reply(json_object *params, bool continues);
json_object *fos_ipc_error(const char *error, const char *message, json_object *params);

/* Connect to a socket path: returns fd or -errno. */
int fos_ipc_connect(const char *path);

/*
 * Blocking call: send the request, read the reply (joining streamed parts).
 * Returns 0 with *ret_reply = the reply object (with "parameters", or with
 * "error"); -errno on transport failure.
 */
int fos_ipc_call(int fd, const char *method, json_object *params, json_object **ret_reply);

#endif
