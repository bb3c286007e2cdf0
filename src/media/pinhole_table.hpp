// Media pinholes: which remote addresses may send RTP/RTCP/UDPTL to which PBX media port,
// learnt from the SDP offers and answers that cross the engine. Shared by every worker
// without a lock (the SIP of a call and its RTP may arrive on different queues).
//
// Two fixed-capacity open-addressing tables of cache-line slots whose fields are atomics,
// both allocated once at construction (a flood of INVITEs cannot grow them):
//  - pinholes, keyed by (PBX media port, remote address): one probe window of 16 slots per
//    lookup, so the first packet of a flow costs the same whatever the load;
//  - dialogs, keyed by a hash of the Call-ID: the media each side announced per m= line,
//    so an answer pairs with its offer, a re-INVITE moves the pinhole, and BYE closes all.
// A slot is claimed with a compare-and-swap on its key, filled, then published (release);
// readers check the whole key after the acquire load. Two workers updating one dialog at
// once may leave a stale pinhole behind: it closes with the idle timeout, never opens wider.
//
// Closing: a=inactive / port 0 closes a stream at once; BYE, CANCEL or a final error
// response closes the dialog after `grace` seconds (late RTP of the call's end still
// passes); a pinhole that saw no packet for `idle` seconds closes. Closed pinholes are
// invisible to lookups at once and reclaimed by sweep() off the packet path.
//
// Flow offload: once the engine offloads a pinhole's flow the kernel carries its packets
// and the engine no longer sees them, so "no packet for `idle` seconds" means nothing. An
// offloaded pinhole is therefore not closed by the idle timer alone: sweep() asks the
// caller (the engine: conntrack) whether the flow still exists, and closes the pinhole
// only when the kernel's own connection for it has timed out. Its closing hands the
// pinhole back to the caller for revocation of the offload mark.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pbxgate/address.hpp"
#include "sip/sdp.hpp"

namespace pbxgate::media {

using seconds_t = std::uint32_t;  // engine seconds: monotonic on the engine, capture time on replay

// How a pinhole's remote address was learnt.
enum class origin : std::uint8_t {
    sdp_address = 0,   // the remote party's c= address
    signalling_peer,   // the address the SIP came from (symmetric RTP behind NAT)
    tls_peer,          // a peer with a TLS/WSS signalling connection (its SDP is encrypted)
};
std::string_view to_string(origin o) noexcept;

struct timeouts {
    seconds_t grace = 5;   // after BYE / CANCEL / a final error
    seconds_t idle = 180;  // no packet (or, offloaded, no kernel connection) for that long
};

inline constexpr std::size_t max_streams = 4;  // m= lines tracked per dialog
inline constexpr std::size_t call_id_chars = 48;  // kept for the logs and the listing
inline constexpr std::uint32_t no_slot = 0xffffffffu;

struct alignas(64) pinhole_slot {
    std::atomic<std::uint64_t> key{0};      // 0 free, 2 being written, else hash | 1
    std::atomic<std::uint64_t> addr_hi{0};  // remote address bytes 0..7 and 8..15
    std::atomic<std::uint64_t> addr_lo{0};
    std::atomic<std::uint32_t> port_family{0};  // PBX port | family << 16 | origin << 24
    std::atomic<std::uint32_t> dialog{no_slot};  // dialog slot index (no_slot: none)
    std::atomic<std::uint64_t> dialog_key{0};    // that dialog's key when this pinhole was made
    std::atomic<seconds_t> created{0};
    std::atomic<seconds_t> last_seen{0};
    std::atomic<std::uint8_t> offloaded{0};      // a flow of it was handed to the kernel
    std::atomic<std::uint8_t> closed{0};         // closed now (a=inactive, port 0, re-INVITE)
    std::atomic<std::uint8_t> stream{0};         // m= line index
    std::atomic<std::uint8_t> kind{0};           // sip::media_kind
};

struct stream_state {
    std::atomic<std::uint32_t> pbx_ports{0};     // RTP port | RTCP port << 16 (0: not known)
    std::atomic<std::uint64_t> remote_hi{0};
    std::atomic<std::uint64_t> remote_lo{0};
    std::atomic<std::uint8_t> remote_family{0};  // 0: no remote c= known, else 4 or 6
    std::atomic<std::uint8_t> kind{0};
};

struct alignas(64) dialog_slot {
    std::atomic<std::uint64_t> key{0};       // 0 free, 2 being written, else Call-ID hash | 1
    std::atomic<seconds_t> last_sdp{0};
    std::atomic<seconds_t> close_at{0};      // 0: open
    std::atomic<std::uint64_t> peer_hi{0}, peer_lo{0};
    std::atomic<std::uint8_t> peer_family{0};
    std::atomic<std::uint8_t> established{0};  // a 2xx answered its INVITE
    std::array<std::atomic<std::uint64_t>, call_id_chars / 8> call_id{};  // NUL-padded
    std::array<stream_state, max_streams> streams{};
};

// One SDP body seen in a SIP message, with who wrote it.
struct sdp_seen {
    std::string_view call_id;
    bool from_pbx = false;      // the SIP message leaves the PBX: its SDP gives the PBX's ports
    ip_address peer;            // the signalling peer (the SIP packet's far end)
    const sip::sdp_view* sdp = nullptr;
    seconds_t now = 0;
};

// A pinhole as the listing and the logs show it (copied out of the table).
struct pinhole_info {
    std::uint16_t port = 0;
    ip_address remote;
    origin from = origin::sdp_address;
    sip::media_kind kind = sip::media_kind::other;
    std::string call_id;
    seconds_t created = 0;
    seconds_t last_seen = 0;
    bool offloaded = false;
    seconds_t close_at = 0;     // 0: open
};

// A closed pinhole whose flow was offloaded: the caller revokes the kernel's offload mark
// for flows between `remote` and the PBX's `port`.
struct closed_pinhole {
    std::uint16_t port = 0;
    ip_address remote;
};

struct table_counts {
    std::uint64_t pinholes = 0;     // open now
    std::uint64_t dialogs = 0;
    std::uint64_t opened = 0;       // since start
    std::uint64_t closed = 0;
    std::uint64_t full = 0;         // a pinhole or dialog not stored: its probe window was full
};

class pinhole_table {
public:
    // `capacity`: pinholes (one PBX port x one remote address; a call typically holds 2 to 4:
    // RTP and RTCP, from the c= address and from the signalling peer). Dialogs: capacity / 2.
    explicit pinhole_table(std::size_t capacity);

    // ---- packet path: no lock, no allocation, no throw ----
    // The open pinhole for a packet from `remote` to the PBX's `port`; no_slot when none.
    std::uint32_t find(std::uint16_t port, const ip_address& remote, seconds_t now, const timeouts& t) const noexcept;
    // A TLS/WSS signalling peer that may send media (`idle` after its last segment).
    bool is_signalling_peer(const ip_address& remote, seconds_t now, const timeouts& t) const noexcept;
    void touch(std::uint32_t slot, seconds_t now) noexcept;
    void mark_offloaded(std::uint32_t slot) noexcept;
    origin origin_of(std::uint32_t slot) const noexcept;

    // SIP stage (packet path too).
    void on_sdp(const sdp_seen& s) noexcept;
    // BYE, CANCEL, or a final error response to an INVITE: the dialog closes after `grace`.
    // `unless_established`: a final error to an INVITE ends only a dialog no 2xx answered
    // (a refused re-INVITE leaves the call up).
    void on_dialog_end(std::string_view call_id, seconds_t now, const timeouts& t,
                       bool unless_established = false) noexcept;
    void on_established(std::string_view call_id) noexcept;
    // A segment of an established TLS/WSS signalling connection from `peer`.
    void on_signalling_peer(const ip_address& peer, seconds_t now) noexcept;

    // ---- off the packet path ----
    // Reclaims closed and idle pinholes and ended dialogs. An offloaded pinhole idle past
    // `idle` is kept when `flow_alive(port, remote)` says the kernel still carries its flow
    // (its last_seen is then refreshed). Offloaded pinholes that closed are appended to
    // `revoke`. Returns how many pinholes it reclaimed.
    using alive_check = std::function<bool(std::uint16_t port, const ip_address& remote)>;
    std::size_t sweep(seconds_t now, const timeouts& t, const alive_check& flow_alive,
                      std::vector<closed_pinhole>& revoke);
    // The open pinholes, for the control socket and explain.
    std::vector<pinhole_info> list(seconds_t now, const timeouts& t) const;
    // The pinhole most recently opened on `port` (any remote), for a no_pinhole log line.
    std::optional<pinhole_info> nearest(std::uint16_t port, seconds_t now, const timeouts& t) const;
    table_counts counts(seconds_t now, const timeouts& t) const;

    std::size_t slot_count() const noexcept { return mask_ + 1; }
    std::size_t dialog_slot_count() const noexcept { return dialog_mask_ + 1; }

private:
    std::uint32_t find_dialog(std::uint64_t key) const noexcept;
    std::uint32_t find_or_add_dialog(std::uint64_t key, std::string_view call_id, const ip_address& peer,
                                     seconds_t now) noexcept;
    void open(std::uint16_t port, const ip_address& remote, origin o, std::uint32_t dialog, std::uint64_t dialog_key,
              std::uint8_t stream, std::uint8_t kind, seconds_t now) noexcept;
    void close(std::uint16_t port, const ip_address& remote) noexcept;
    // Opens (or, with `close_them`, closes) the RTP and RTCP pinholes of one stream for the
    // remote's c= address and for the signalling peer.
    void apply_stream(std::uint32_t dialog, std::uint64_t dialog_key, std::uint8_t stream, std::uint32_t pbx_ports,
                      const ip_address* remote, const ip_address& peer, std::uint8_t kind, bool close_them,
                      seconds_t now) noexcept;
    bool alive(const pinhole_slot& s, seconds_t now, const timeouts& t) const noexcept;
    pinhole_info info_of(const pinhole_slot& s) const;

    std::unique_ptr<pinhole_slot[]> slots_;
    std::size_t mask_ = 0;
    std::unique_ptr<dialog_slot[]> dialogs_;
    std::size_t dialog_mask_ = 0;
    // Per PBX port, the slot last opened there (+1; 0 none): the "nearest pinhole" of a drop.
    std::unique_ptr<std::atomic<std::uint32_t>[]> by_port_;
    std::atomic<std::uint32_t> peers_{0};  // TLS/WSS peers ever seen: skip their lookup when none
    std::atomic<std::uint64_t> opened_{0}, closed_{0}, full_{0};
    // Dialogs stored and not yet reclaimed. With it and opened_ == closed_, sweep() skips the
    // scans of an empty table (megabytes of slots each second otherwise).
    std::atomic<std::uint64_t> dialogs_live_{0};
};

// The key helpers, exposed for tests and the benchmark.
std::uint64_t pinhole_key(std::uint16_t port, const ip_address& remote) noexcept;
std::uint64_t dialog_key(std::string_view call_id) noexcept;

}  // namespace pbxgate::media
