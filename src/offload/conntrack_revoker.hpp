// conntrack_revoker: after a reload, clears pbxgate's mark bits on offloaded connections
// through ctnetlink (libmnl), so each one is judged again by the new policy. Why clear
// instead of re-classify: see offload_marks.hpp. Runs in the reload thread, never on the
// packet path; it allocates freely.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "offload/offload_marks.hpp"
#include "pbxgate/address.hpp"

namespace pbxgate {

// One connection of a ctnetlink dump, as far as revocation needs it.
struct ct_entry {
    std::uint8_t family = 0;                 // nfgen_family (AF_INET, AF_INET6)
    std::vector<std::uint8_t> tuple_orig;    // the CTA_TUPLE_ORIG attribute, header included
    std::optional<std::uint16_t> zone;       // CTA_ZONE, host order, when present
    std::uint32_t mark = 0;                  // CTA_MARK, host order (0 when absent)
};

// The original direction's addresses and ports of a connection (CTA_TUPLE_ORIG).
struct ct_tuple {
    ip_address src;
    ip_address dst;
    std::uint16_t sport = 0;  // host order
    std::uint16_t dport = 0;
    std::uint8_t protocol = 0;
};
// Reads ct_entry::tuple_orig (bounds-checked); nullopt when it lacks addresses or protocol.
std::optional<ct_tuple> parse_ct_tuple(const std::vector<std::uint8_t>& tuple_orig);

// Parses one IPCTNL_MSG_CT_NEW message of a dump (bounds-checked); nullopt when it is not
// one or lacks the original tuple.
std::optional<ct_entry> parse_ct_entry(std::span<const std::uint8_t> message);

// The request for a dump of every connection (both families). `buf` is resized.
void build_ct_dump_request(std::vector<std::uint8_t>& buf, std::uint32_t seq);

// The update that clears `mask` in the connection's mark and nothing else: CTA_MARK 0
// with CTA_MARK_MASK = mask, which the kernel applies as mark = (mark & ~mask) ^ 0.
void build_ct_mark_clear(std::vector<std::uint8_t>& buf, const ct_entry& e, std::uint32_t mask, std::uint32_t seq);

struct revoke_result {
    std::uint64_t seen = 0;      // connections dumped
    std::uint64_t revoked = 0;   // connections whose offload mark was cleared
    std::uint64_t failed = 0;    // updates the kernel refused (e.g. the connection ended)
    std::string error;           // set when the dump itself failed
};

// Dumps the conntrack table and clears our bits on every connection carrying one of our
// values. Needs CAP_NET_ADMIN.
revoke_result revoke_offloads(const offload_marks& marks);

// The same for the connections `pick` chooses among those carrying one of our values
// (media pinholes that closed). `pick` sees every dumped connection, ours or not, so it
// may also note which flows the kernel still carries.
revoke_result revoke_offloads_matching(const offload_marks& marks, const std::function<bool(const ct_entry&)>& pick);

}  // namespace pbxgate

namespace pbxgate {

// The reload thread's call (after a successful reload's publish and grace period): revokes
// with the new policy's mask, logs the outcome, returns how many offloads it revoked.
std::uint64_t revoke_offloads_after_reload(std::uint32_t mark_mask);

}  // namespace pbxgate
