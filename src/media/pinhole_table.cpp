#include "media/pinhole_table.hpp"

#include <algorithm>
#include <cstring>

#include "util/hash_mix.hpp"

namespace pbxgate::media {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;
constexpr std::uint64_t busy = 2;  // a slot being filled: never a key (keys are odd)
// 16 slots: at the shipped load (40,000 pinholes in 131,072 slots, 20,000 dialogs in 32,768)
// a full window is practically impossible, and a hit stops at its slot.
constexpr std::size_t probe_window = 16;

struct packed_address {
    std::uint64_t hi = 0, lo = 0;
    std::uint8_t family = 4;
};

packed_address pack(const ip_address& addr) noexcept {
    const ip_address a = addr.unmapped();
    packed_address p;
    std::memcpy(&p.hi, a.bytes.data(), 8);
    std::memcpy(&p.lo, a.bytes.data() + 8, 8);
    p.family = static_cast<std::uint8_t>(a.family);
    return p;
}

ip_address unpack(std::uint64_t hi, std::uint64_t lo, std::uint8_t family) noexcept {
    ip_address a;
    a.family = family == 6 ? ip_family::v6 : ip_family::v4;
    std::memcpy(a.bytes.data(), &hi, 8);
    std::memcpy(a.bytes.data() + 8, &lo, 8);
    return a;
}

std::uint32_t port_word(std::uint16_t port, std::uint8_t family, origin o) noexcept {
    return port | (static_cast<std::uint32_t>(family) << 16) | (static_cast<std::uint32_t>(o) << 24);
}

std::uint64_t key_of(std::uint16_t port, const packed_address& p) noexcept {
    return mix64(p.hi ^ mix64(p.lo ^ (static_cast<std::uint64_t>(port) << 8) ^ p.family)) | 1;
}

bool same(const pinhole_slot& s, std::uint64_t key, std::uint16_t port, const packed_address& p) noexcept {
    return s.key.load(std::memory_order_acquire) == key && (s.port_family.load(relaxed) & 0xffffff) ==
           (port | (static_cast<std::uint32_t>(p.family) << 16)) && s.addr_hi.load(relaxed) == p.hi &&
           s.addr_lo.load(relaxed) == p.lo;
}

}  // namespace

std::string_view to_string(origin o) noexcept {
    switch (o) {
        case origin::sdp_address: return "sdp_address";
        case origin::signalling_peer: return "signalling_peer";
        case origin::tls_peer: return "tls_peer";
    }
    return "?";
}

std::uint64_t pinhole_key(std::uint16_t port, const ip_address& remote) noexcept { return key_of(port, pack(remote)); }

std::uint64_t dialog_key(std::string_view call_id) noexcept {
    return mix64(hash_bytes(1469598103934665603ull, call_id)) | 1;  // never 0, the empty key
}

pinhole_table::pinhole_table(std::size_t capacity)
    : slots_(new pinhole_slot[table_slots(capacity * 2)]),
      mask_(table_slots(capacity * 2) - 1),
      dialogs_(new dialog_slot[table_slots(capacity / 2)]),
      dialog_mask_(table_slots(capacity / 2) - 1),
      by_port_(new std::atomic<std::uint32_t>[65536]) {
    for (std::size_t i = 0; i < 65536; ++i) by_port_[i].store(0, relaxed);
}

// pinhole_slot::closed: 0 open, 1 closed, 2 open while its dialog's grace period runs. Only
// a pinhole marked 2 reads its dialog: the lookup of an ordinary call touches one slot.
constexpr std::uint8_t closed_now = 1;
constexpr std::uint8_t dialog_ending = 2;

bool pinhole_table::alive(const pinhole_slot& s, seconds_t now, const timeouts& t) const noexcept {
    const std::uint8_t closed = s.closed.load(relaxed);
    if (closed == closed_now) return false;
    const std::uint32_t d = s.dialog.load(relaxed);
    if (closed == dialog_ending && d != no_slot) {
        const dialog_slot& ds = dialogs_[d & dialog_mask_];
        if (ds.key.load(relaxed) == s.dialog_key.load(relaxed)) {
            const seconds_t close_at = ds.close_at.load(relaxed);
            if (close_at != 0 && now >= close_at) return false;
        }
    }
    if (s.offloaded.load(relaxed) != 0) return true;  // the kernel carries it: sweep() asks conntrack
    const seconds_t seen = s.last_seen.load(relaxed);
    return now < seen || now - seen <= t.idle;
}

std::uint32_t pinhole_table::find(std::uint16_t port, const ip_address& remote, seconds_t now,
                                  const timeouts& t) const noexcept {
    const packed_address p = pack(remote);
    const std::uint64_t key = key_of(port, p);
    const std::size_t h = static_cast<std::size_t>(key >> 1) & mask_;
    for (std::size_t i = 0; i < probe_window; ++i) {
        const std::size_t at = (h + i) & mask_;
        const pinhole_slot& s = slots_[at];
        if (same(s, key, port, p) && alive(s, now, t)) return static_cast<std::uint32_t>(at);
    }
    return no_slot;
}

bool pinhole_table::is_signalling_peer(const ip_address& remote, seconds_t now, const timeouts& t) const noexcept {
    if (peers_.load(relaxed) == 0) return false;
    const std::uint32_t at = find(0, remote, now, t);
    return at != no_slot && origin_of(at) == origin::tls_peer;
}

void pinhole_table::touch(std::uint32_t slot, seconds_t now) noexcept {
    pinhole_slot& s = slots_[slot & mask_];
    // Written only when the second changes: workers sharing a pinhole do not bounce its line.
    if (s.last_seen.load(relaxed) != now) s.last_seen.store(now, relaxed);
}

void pinhole_table::mark_offloaded(std::uint32_t slot) noexcept {
    pinhole_slot& s = slots_[slot & mask_];
    if (s.offloaded.load(relaxed) == 0) s.offloaded.store(1, relaxed);
}

origin pinhole_table::origin_of(std::uint32_t slot) const noexcept {
    return static_cast<origin>(slots_[slot & mask_].port_family.load(relaxed) >> 24);
}

void pinhole_table::open(std::uint16_t port, const ip_address& remote, origin o, std::uint32_t dialog,
                         std::uint64_t dkey, std::uint8_t stream, std::uint8_t kind, seconds_t now) noexcept {
    const packed_address p = pack(remote);
    const std::uint64_t key = key_of(port, p);
    const std::size_t h = static_cast<std::size_t>(key >> 1) & mask_;
    bool any_free = false;
    for (std::size_t i = 0; i < probe_window; ++i) {
        const std::size_t at = (h + i) & mask_;
        pinhole_slot& s = slots_[at];
        if (same(s, key, port, p)) {
            // Reopened (a re-INVITE, or the same pinhole from the other side's SDP): it now
            // belongs to this dialog and stream, open, and its idle clock restarts.
            s.dialog.store(dialog, relaxed);
            s.dialog_key.store(dkey, relaxed);
            s.stream.store(stream, relaxed);
            s.kind.store(kind, relaxed);
            s.last_seen.store(now, relaxed);
            s.closed.store(0, relaxed);
            return;
        }
        any_free = any_free || s.key.load(relaxed) == 0;
    }
    // Claim the first free slot seen; if another writer took it meanwhile, try the rest.
    for (std::size_t i = 0; any_free && i < probe_window; ++i) {
        const std::size_t at = (h + i) & mask_;
        pinhole_slot& s = slots_[at];
        std::uint64_t expected = 0;
        if (!s.key.compare_exchange_strong(expected, busy, std::memory_order_acquire)) continue;
        s.addr_hi.store(p.hi, relaxed);
        s.addr_lo.store(p.lo, relaxed);
        s.port_family.store(port_word(port, p.family, o), relaxed);
        s.dialog.store(dialog, relaxed);
        s.dialog_key.store(dkey, relaxed);
        s.created.store(now, relaxed);
        s.last_seen.store(now, relaxed);
        s.offloaded.store(0, relaxed);
        s.closed.store(0, relaxed);
        s.stream.store(stream, relaxed);
        s.kind.store(kind, relaxed);
        s.key.store(key, std::memory_order_release);
        by_port_[port].store(static_cast<std::uint32_t>(at) + 1, relaxed);
        if (o == origin::tls_peer && peers_.load(relaxed) == 0) peers_.store(1, relaxed);
        opened_.fetch_add(1, relaxed);
        return;
    }
    full_.fetch_add(1, relaxed);
}

void pinhole_table::close(std::uint16_t port, const ip_address& remote) noexcept {
    const packed_address p = pack(remote);
    const std::uint64_t key = key_of(port, p);
    const std::size_t h = static_cast<std::size_t>(key >> 1) & mask_;
    for (std::size_t i = 0; i < probe_window; ++i) {
        pinhole_slot& s = slots_[(h + i) & mask_];
        if (same(s, key, port, p)) s.closed.store(closed_now, relaxed);
    }
}

std::uint32_t pinhole_table::find_dialog(std::uint64_t key) const noexcept {
    const std::size_t h = static_cast<std::size_t>(key >> 1) & dialog_mask_;
    for (std::size_t i = 0; i < probe_window; ++i) {
        const std::size_t at = (h + i) & dialog_mask_;
        if (dialogs_[at].key.load(std::memory_order_acquire) == key) return static_cast<std::uint32_t>(at);
    }
    return no_slot;
}

std::uint32_t pinhole_table::find_or_add_dialog(std::uint64_t key, std::string_view call_id, const ip_address& peer,
                                                seconds_t now) noexcept {
    if (const std::uint32_t at = find_dialog(key); at != no_slot) return at;
    const std::size_t h = static_cast<std::size_t>(key >> 1) & dialog_mask_;
    for (std::size_t i = 0; i < probe_window; ++i) {
        const std::size_t at = (h + i) & dialog_mask_;
        dialog_slot& d = dialogs_[at];
        std::uint64_t expected = 0;
        if (!d.key.compare_exchange_strong(expected, busy, std::memory_order_acquire)) continue;
        d.last_sdp.store(now, relaxed);
        d.close_at.store(0, relaxed);
        const packed_address p = pack(peer);
        d.peer_hi.store(p.hi, relaxed);
        d.peer_lo.store(p.lo, relaxed);
        d.peer_family.store(p.family, relaxed);
        d.established.store(0, relaxed);
        for (std::size_t w = 0; w < d.call_id.size(); ++w) {
            std::uint64_t word = 0;
            const std::size_t from = w * 8;
            if (from < call_id.size())
                std::memcpy(&word, call_id.data() + from, std::min<std::size_t>(8, call_id.size() - from));
            d.call_id[w].store(word, relaxed);
        }
        for (stream_state& st : d.streams) {
            st.pbx_ports.store(0, relaxed);
            st.remote_family.store(0, relaxed);
            st.kind.store(0, relaxed);
        }
        d.key.store(key, std::memory_order_release);
        dialogs_live_.fetch_add(1, relaxed);
        return static_cast<std::uint32_t>(at);
    }
    full_.fetch_add(1, relaxed);
    return no_slot;
}

void pinhole_table::apply_stream(std::uint32_t dialog, std::uint64_t dkey, std::uint8_t stream,
                                 std::uint32_t pbx_ports, const ip_address* remote, const ip_address& peer,
                                 std::uint8_t kind, bool close_them, seconds_t now) noexcept {
    const auto rtp = static_cast<std::uint16_t>(pbx_ports & 0xffff);
    const auto rtcp = static_cast<std::uint16_t>(pbx_ports >> 16);
    if (rtp == 0) return;
    const auto each = [&](const ip_address& a, origin o) {
        for (const std::uint16_t port : {rtp, rtcp}) {
            if (port == 0) continue;
            if (close_them) close(port, a);
            else open(port, a, o, dialog, dkey, stream, kind, now);
        }
    };
    if (remote != nullptr) each(*remote, origin::sdp_address);
    if (remote == nullptr || !(remote->unmapped() == peer.unmapped())) each(peer, origin::signalling_peer);
}

void pinhole_table::on_sdp(const sdp_seen& s) noexcept {
    if (s.sdp == nullptr || s.call_id.empty()) return;
    const std::uint64_t key = dialog_key(s.call_id);
    const std::uint32_t at = find_or_add_dialog(key, s.call_id, s.peer, s.now);
    if (at == no_slot) return;
    dialog_slot& d = dialogs_[at];
    d.last_sdp.store(s.now, relaxed);
    d.close_at.store(0, relaxed);  // a new offer or answer after a BYE reopens nothing stale: fresh state
    const ip_address peer = unpack(d.peer_hi.load(relaxed), d.peer_lo.load(relaxed), d.peer_family.load(relaxed));
    const std::size_t n = std::min<std::size_t>(s.sdp->stream_count, max_streams);
    for (std::size_t i = 0; i < n; ++i) {
        const sip::sdp_stream& m = s.sdp->streams[i];
        stream_state& st = d.streams[i];
        const auto idx = static_cast<std::uint8_t>(i);
        const auto kind = static_cast<std::uint8_t>(m.kind);
        // A bundled m= line with port 0 carries its media on the bundle's port: not a close.
        if (m.port == 0 && m.bundle_only) continue;
        const std::uint32_t old_ports = st.pbx_ports.load(relaxed);
        const std::uint8_t old_family = st.remote_family.load(relaxed);
        const ip_address old_remote = unpack(st.remote_hi.load(relaxed), st.remote_lo.load(relaxed), old_family);
        const ip_address* old_remote_ptr = old_family != 0 ? &old_remote : nullptr;
        st.kind.store(kind, relaxed);
        if (s.from_pbx) {
            const std::uint32_t ports =
                m.active() ? (m.port | (static_cast<std::uint32_t>(m.effective_rtcp_port()) << 16)) : 0;
            if (old_ports != 0 && old_ports != ports)  // moved or stopped: the old port closes
                apply_stream(at, key, idx, old_ports, old_remote_ptr, peer, kind, true, s.now);
            st.pbx_ports.store(ports, relaxed);
            if (ports != 0) apply_stream(at, key, idx, ports, old_remote_ptr, peer, kind, false, s.now);
            continue;
        }
        // The remote party's SDP: its c= address (when usable) for this stream.
        const bool usable = m.active() && m.has_address && !m.address_unspecified;
        if (!m.active()) {
            if (old_ports != 0) apply_stream(at, key, idx, old_ports, old_remote_ptr, peer, kind, true, s.now);
            st.remote_family.store(0, relaxed);
            continue;
        }
        if (old_remote_ptr != nullptr && (!usable || !(old_remote == m.address.unmapped())) && old_ports != 0)
            apply_stream(at, key, idx, old_ports, old_remote_ptr, peer, kind, true, s.now);
        if (usable) {
            const packed_address p = pack(m.address);
            st.remote_hi.store(p.hi, relaxed);
            st.remote_lo.store(p.lo, relaxed);
            st.remote_family.store(p.family, relaxed);
        } else {
            st.remote_family.store(0, relaxed);
        }
        const ip_address remote = m.address.unmapped();
        if (old_ports != 0) apply_stream(at, key, idx, old_ports, usable ? &remote : nullptr, peer, kind, false, s.now);
    }
}

void pinhole_table::on_established(std::string_view call_id) noexcept {
    if (call_id.empty()) return;
    const std::uint32_t at = find_dialog(dialog_key(call_id));
    if (at != no_slot && dialogs_[at].established.load(relaxed) == 0) dialogs_[at].established.store(1, relaxed);
}

void pinhole_table::on_dialog_end(std::string_view call_id, seconds_t now, const timeouts& t,
                                  bool unless_established) noexcept {
    if (call_id.empty()) return;
    const std::uint32_t at = find_dialog(dialog_key(call_id));
    if (at == no_slot) return;
    dialog_slot& d = dialogs_[at];
    if (unless_established && d.established.load(relaxed) != 0) return;
    // The first end counts (a retransmitted BYE does not push the close back); 0 means open.
    if (d.close_at.load(relaxed) == 0) d.close_at.store(std::max<seconds_t>(now + t.grace, 1), relaxed);
    // Flag the dialog's pinholes (found from what each side announced) so their lookups
    // start reading the dialog's close time.
    const ip_address peer = unpack(d.peer_hi.load(relaxed), d.peer_lo.load(relaxed), d.peer_family.load(relaxed));
    const auto flag = [&](std::uint16_t port, const ip_address& remote) {
        if (port == 0) return;
        const packed_address p = pack(remote);
        const std::uint64_t key = key_of(port, p);
        const std::size_t h = static_cast<std::size_t>(key >> 1) & mask_;
        for (std::size_t i = 0; i < probe_window; ++i) {
            pinhole_slot& s = slots_[(h + i) & mask_];
            if (!same(s, key, port, p)) continue;
            std::uint8_t open_now = 0;
            s.closed.compare_exchange_strong(open_now, dialog_ending, relaxed);
        }
    };
    for (const stream_state& st : d.streams) {
        const std::uint32_t ports = st.pbx_ports.load(relaxed);
        const std::uint8_t family = st.remote_family.load(relaxed);
        for (const auto port : {static_cast<std::uint16_t>(ports & 0xffff), static_cast<std::uint16_t>(ports >> 16)}) {
            flag(port, peer);
            if (family != 0) flag(port, unpack(st.remote_hi.load(relaxed), st.remote_lo.load(relaxed), family));
        }
    }
}

void pinhole_table::on_signalling_peer(const ip_address& peer, seconds_t now) noexcept {
    const std::uint32_t at = find(0, peer, now, timeouts{0, 0xffffffffu});
    if (at != no_slot) {
        touch(at, now);
        return;
    }
    open(0, peer, origin::tls_peer, no_slot, 0, 0, 0, now);
}

std::size_t pinhole_table::sweep(seconds_t now, const timeouts& t, const alive_check& flow_alive,
                                 std::vector<closed_pinhole>& revoke) {
    std::size_t reclaimed = 0;
    // Each counter goes up after its slot is published: a slot stored during this check is
    // swept next time.
    const bool any_pinhole = opened_.load(relaxed) != closed_.load(relaxed);
    for (std::size_t i = 0; any_pinhole && i <= mask_; ++i) {
        pinhole_slot& s = slots_[i];
        const std::uint64_t key = s.key.load(std::memory_order_acquire);
        if (key == 0 || key == busy) continue;
        const bool offloaded = s.offloaded.load(relaxed) != 0;
        bool open_now = alive(s, now, t);
        const std::uint32_t pf = s.port_family.load(relaxed);
        const auto port = static_cast<std::uint16_t>(pf & 0xffff);
        const ip_address remote = unpack(s.addr_hi.load(relaxed), s.addr_lo.load(relaxed),
                                         static_cast<std::uint8_t>((pf >> 16) & 0xff));
        if (open_now && offloaded) {
            const seconds_t seen = s.last_seen.load(relaxed);
            if (now >= seen && now - seen > t.idle) {
                if (flow_alive && flow_alive(port, remote)) s.last_seen.store(now, relaxed);
                else open_now = false;
            }
        }
        if (open_now) continue;
        if (offloaded) revoke.push_back(closed_pinhole{port, remote});
        if (by_port_[port].load(relaxed) == i + 1) by_port_[port].store(0, relaxed);
        std::uint64_t expected = key;
        if (s.key.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
            ++reclaimed;
            closed_.fetch_add(1, relaxed);
        }
    }
    const bool any_dialog = dialogs_live_.load(relaxed) != 0;
    for (std::size_t i = 0; any_dialog && i <= dialog_mask_; ++i) {
        dialog_slot& d = dialogs_[i];
        const std::uint64_t key = d.key.load(std::memory_order_acquire);
        if (key == 0 || key == busy) continue;
        const seconds_t close_at = d.close_at.load(relaxed);
        const seconds_t last = d.last_sdp.load(relaxed);
        // An ended dialog goes once its grace is over; one that never ended (a lost BYE) is
        // forgotten after a day without SDP: its pinholes live on their own idle clock.
        const bool ended = close_at != 0 && now >= close_at;
        const bool stale = now > last && now - last > 86400;
        if (!ended && !stale) continue;
        std::uint64_t expected = key;
        if (d.key.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) dialogs_live_.fetch_sub(1, relaxed);
    }
    return reclaimed;
}

pinhole_info pinhole_table::info_of(const pinhole_slot& s) const {
    pinhole_info p;
    const std::uint32_t pf = s.port_family.load(relaxed);
    p.port = static_cast<std::uint16_t>(pf & 0xffff);
    p.remote = unpack(s.addr_hi.load(relaxed), s.addr_lo.load(relaxed), static_cast<std::uint8_t>((pf >> 16) & 0xff));
    p.from = static_cast<origin>(pf >> 24);
    p.kind = static_cast<sip::media_kind>(s.kind.load(relaxed));
    p.created = s.created.load(relaxed);
    p.last_seen = s.last_seen.load(relaxed);
    p.offloaded = s.offloaded.load(relaxed) != 0;
    const std::uint32_t d = s.dialog.load(relaxed);
    if (d != no_slot) {
        const dialog_slot& ds = dialogs_[d & dialog_mask_];
        if (ds.key.load(std::memory_order_acquire) == s.dialog_key.load(relaxed)) {
            char text[call_id_chars + 1]{};
            for (std::size_t w = 0; w < ds.call_id.size(); ++w) {
                const std::uint64_t word = ds.call_id[w].load(relaxed);
                std::memcpy(text + w * 8, &word, 8);
            }
            p.call_id = text;
            p.close_at = ds.close_at.load(relaxed);
        }
    }
    return p;
}

std::vector<pinhole_info> pinhole_table::list(seconds_t now, const timeouts& t) const {
    std::vector<pinhole_info> out;
    for (std::size_t i = 0; i <= mask_; ++i) {
        const pinhole_slot& s = slots_[i];
        const std::uint64_t key = s.key.load(std::memory_order_acquire);
        if (key == 0 || key == busy || !alive(s, now, t)) continue;
        out.push_back(info_of(s));
    }
    return out;
}

std::optional<pinhole_info> pinhole_table::nearest(std::uint16_t port, seconds_t now, const timeouts& t) const {
    const std::uint32_t at = by_port_[port].load(relaxed);
    if (at == 0) return std::nullopt;
    const pinhole_slot& s = slots_[(at - 1) & mask_];
    const std::uint64_t key = s.key.load(std::memory_order_acquire);
    if (key == 0 || key == busy || (s.port_family.load(relaxed) & 0xffff) != port || !alive(s, now, t))
        return std::nullopt;
    return info_of(s);
}

table_counts pinhole_table::counts(seconds_t now, const timeouts& t) const {
    table_counts c;
    for (std::size_t i = 0; i <= mask_; ++i) {
        const pinhole_slot& s = slots_[i];
        const std::uint64_t key = s.key.load(std::memory_order_acquire);
        if (key != 0 && key != busy && alive(s, now, t)) ++c.pinholes;
    }
    for (std::size_t i = 0; i <= dialog_mask_; ++i) {
        const std::uint64_t key = dialogs_[i].key.load(relaxed);
        if (key != 0 && key != busy) ++c.dialogs;
    }
    c.opened = opened_.load(relaxed);
    c.closed = closed_.load(relaxed);
    c.full = full_.load(relaxed);
    return c;
}

}  // namespace pbxgate::media
