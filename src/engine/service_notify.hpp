// Talking to systemd (Type=notify): READY, RELOADING, STOPPING, STATUS and watchdog pings.
// Every call is a cheap no-op when the process was not started by systemd (NOTIFY_SOCKET
// unset) or pbxgate was built without libsystemd.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pbxgate::service_notify {

bool under_systemd() noexcept;  // NOTIFY_SOCKET is set
void ready(const std::string& status) noexcept;
void reloading() noexcept;
void stopping() noexcept;
void status(const std::string& text) noexcept;
void watchdog() noexcept;
// The unit's WatchdogSec when the watchdog is on for this process.
std::optional<std::chrono::microseconds> watchdog_interval() noexcept;

}  // namespace pbxgate::service_notify
