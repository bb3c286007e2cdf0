// The engine's side of media pinholes, on the main thread (never the packet path): owns
// the table the workers share, reclaims closed pinholes once a second, revokes the offload
// of flows whose pinhole closed (a targeted conntrack update), keeps offloaded pinholes
// open while the kernel still carries their flow, answers the control socket's
// media.pinholes and adds the "expected ..." note to no_pinhole drop lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "control/control_commands.hpp"
#include "datapath/drop_log.hpp"
#include "media/pinhole_table.hpp"
#include "pbxgate/compiled_policy.hpp"

namespace pbxgate {

class media_keeper {
public:
    explicit media_keeper(std::size_t capacity) : table_(capacity) {}

    media::pinhole_table& table() noexcept { return table_; }
    // media.pinholes: the open pinholes (JSON), for `pbxgate explain --media`.
    void register_commands(control::command_registry& registry, std::function<const compiled_policy*()> current);
    // Main loop; cheap when nothing is due.
    void tick(const compiled_policy& policy);
    // " from X, expected Y for the call Call-ID Z" for a no_pinhole drop record; "" otherwise.
    std::string drop_note(const drop_record& rec, const compiled_policy& policy) const;
    std::uint64_t offloads_revoked() const noexcept { return revoked_; }

private:
    using flow_key = std::pair<std::uint16_t, std::string>;  // PBX port, remote address bytes
    static flow_key key_of(std::uint16_t port, const ip_address& remote);

    media::pinhole_table table_;
    std::chrono::steady_clock::time_point next_sweep_{};
    std::chrono::steady_clock::time_point next_dump_{};
    std::vector<media::closed_pinhole> to_revoke_;
    std::set<flow_key> offloaded_alive_;  // from the last conntrack dump: flows the kernel carries
    std::uint64_t revoked_ = 0;
};

}  // namespace pbxgate
