#include "engine/service_notify.hpp"

#include <time.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#ifdef PBXGATE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace pbxgate::service_notify {
namespace {

void send(const std::string& state) noexcept {
#ifdef PBXGATE_HAVE_SYSTEMD
    if (under_systemd()) sd_notify(0, state.c_str());
#else
    (void)state;
#endif
}

}  // namespace

bool under_systemd() noexcept { return std::getenv("NOTIFY_SOCKET") != nullptr; }

void ready(const std::string& text) noexcept { send("READY=1\nSTATUS=" + text); }

void reloading() noexcept {
    // MONOTONIC_USEC lets systemd 253+ (Type=notify-reload) match the READY that follows;
    // older systemd ignores it.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() noexcept { send("STOPPING=1"); }
void status(const std::string& text) noexcept { send("STATUS=" + text); }
void watchdog() noexcept { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() noexcept {
#ifdef PBXGATE_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
#endif
    return std::nullopt;
}

}  // namespace pbxgate::service_notify
