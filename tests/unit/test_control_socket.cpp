// The control socket itself: a real unix socket in a temporary runtime directory, served
// by a thread that runs the same poll()/service() round as the engine's main loop, and
// the client `pbxgate bans` uses. Modes, stale and live sockets, timeouts, size limits,
// several clients.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "control/control_client.hpp"
#include "control/control_server.hpp"
#include "temp_dir.hpp"

using namespace pbxgate;
using namespace pbxgate::control;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using pbxgate::testing::temp_dir;

command_registry echo_registry() {
    command_registry reg;
    reg.add("echo", "", [](const request& r) {
        const json_value* t = r.args.find("text");
        return reply::success("\"" + (t ? t->as_string() : std::string()) + "\"");
    });
    return reg;
}

// Runs the server's poll round on a thread until destroyed (the engine does this on its
// main thread).
class serving {
public:
    serving(const std::string& dir, const command_registry& reg, server_limits limits = {})
        : server_(dir, reg, limits), thread_([this] { loop(); }) {}
    ~serving() {
        stop_ = true;
        thread_.join();
    }
    control_server& server() { return server_; }
    std::size_t clients() const { return clients_.load(); }

private:
    void loop() {
        std::vector<pollfd> fds;
        while (!stop_) {
            fds.clear();
            server_.add_poll_fds(fds);
            poll(fds.data(), fds.size(), 10);
            server_.service(fds, control_server::clock::now());
            clients_ = server_.clients();
        }
    }
    control_server server_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> clients_{0};
    std::thread thread_;
};

int raw_connect(const std::string& dir) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string p = socket_path(dir);
    std::memcpy(a.sun_path, p.c_str(), p.size() + 1);
    REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

// Everything the server sends until it closes (or 3 s pass).
std::string read_all(int fd) {
    timeval tv{3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
}

}  // namespace

TEST_CASE("control socket: a request line gets its answer line, the file is 0600", "[control][socket]") {
    temp_dir dir;
    const fs::path runtime = dir.path / "run";  // created by the server, 0700
    const command_registry reg = echo_registry();
    {
        serving s(runtime.string(), reg);
        struct stat st {};
        REQUIRE(stat(runtime.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0700);
        REQUIRE(stat(socket_path(runtime.string()).c_str(), &st) == 0);
        CHECK(S_ISSOCK(st.st_mode));
        CHECK((st.st_mode & 07777) == 0600);

        const call_result r = call(runtime.string(), R"({"command":"echo","text":"hi"})");
        REQUIRE(r.status == call_status::answered);
        CHECK(r.answer == R"({"ok":true,"result":"hi"})");
        const call_result bad = call(runtime.string(), "not json");
        REQUIRE(bad.status == call_status::answered);
        CHECK(bad.answer.find("malformed request") != std::string::npos);

        // Several requests on one connection, the last without its newline (then EOF).
        const int fd = raw_connect(runtime.string());
        const std::string two = "{\"command\":\"echo\",\"text\":\"a\"}\r\n\n{\"command\":\"echo\",\"text\":\"b\"}";
        REQUIRE(send(fd, two.data(), two.size(), 0) == static_cast<ssize_t>(two.size()));
        shutdown(fd, SHUT_WR);
        CHECK(read_all(fd) == "{\"ok\":true,\"result\":\"a\"}\n{\"ok\":true,\"result\":\"b\"}\n");
        close(fd);
    }
    // The server removed its socket on the way out: the client now finds no engine.
    CHECK_FALSE(fs::exists(socket_path(runtime.string())));
    const call_result gone = call(runtime.string(), R"({"command":"echo"})");
    CHECK(gone.status == call_status::no_engine);
    CHECK(gone.error.find("no engine running") != std::string::npos);
}

TEST_CASE("control socket: an oversized request is answered once and the connection closed", "[control][socket]") {
    temp_dir dir;
    const command_registry reg = echo_registry();
    serving s(dir.path.string(), reg);
    const int fd = raw_connect(dir.path.string());
    const std::string huge(max_request_bytes + 4096, 'x');  // no newline: an endless line
    std::size_t sent = 0;
    while (sent < huge.size()) {
        const ssize_t n = send(fd, huge.data() + sent, huge.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may hang up before it has all of it
        sent += static_cast<std::size_t>(n);
    }
    const std::string answer = read_all(fd);
    CHECK(answer.find("request too long") != std::string::npos);
    CHECK(std::count(answer.begin(), answer.end(), '\n') == 1);
    close(fd);
    // The server still serves others.
    CHECK(call(dir.path.string(), R"({"command":"echo","text":"x"})").answer == R"({"ok":true,"result":"x"})");
}

TEST_CASE("control socket: a silent client is dropped at its deadline, extra clients are told busy",
          "[control][socket]") {
    temp_dir dir;
    const command_registry reg = echo_registry();
    server_limits limits;
    limits.max_clients = 2;
    limits.client_timeout = 200ms;
    serving s(dir.path.string(), reg, limits);
    const int a = raw_connect(dir.path.string());
    const int b = raw_connect(dir.path.string());
    for (int i = 0; i < 100 && s.clients() < 2; ++i) std::this_thread::sleep_for(5ms);
    REQUIRE(s.clients() == 2);
    const int c = raw_connect(dir.path.string());
    CHECK(read_all(c).find("busy") != std::string::npos);
    close(c);
    // The two silent ones are closed by the server after 200 ms (read_all returns on EOF).
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(read_all(a).empty());
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    CHECK(read_all(b).empty());
    close(a);
    close(b);
    CHECK(call(dir.path.string(), R"({"command":"echo","text":"y"})").answer == R"({"ok":true,"result":"y"})");
}

TEST_CASE("control socket: a stale socket is replaced, a live one and a non-socket are not", "[control][socket]") {
    temp_dir dir;
    const command_registry reg = echo_registry();
    const std::string path = socket_path(dir.path.string());
    {
        // A socket file nobody listens on (an engine that was killed).
        const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
        REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
        close(fd);
    }
    {
        serving first(dir.path.string(), reg);
        CHECK(call(dir.path.string(), R"({"command":"echo","text":"1"})").status == call_status::answered);
        try {
            control_server second(dir.path.string(), reg);
            FAIL("a second server took over a live socket");
        } catch (const std::runtime_error& ex) {
            CHECK(std::string(ex.what()).find("another engine answers on") != std::string::npos);
        }
        // The refused second server did not remove the first one's socket.
        CHECK(call(dir.path.string(), R"({"command":"echo","text":"2"})").status == call_status::answered);
    }
    fs::create_directory(path);  // something else under that name
    CHECK_THROWS_WITH(control_server(dir.path.string(), reg), Catch::Contains("is not a socket"));
}

TEST_CASE("control client: a server that never answers times out", "[control][socket]") {
    temp_dir dir;
    // A listener that accepts into its backlog and never reads.
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string path = socket_path(dir.path.string());
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 4) == 0);
    const auto t0 = std::chrono::steady_clock::now();
    const call_result r = call(dir.path.string(), R"({"command":"echo"})", 150ms);
    CHECK(r.status == call_status::failed);
    CHECK(r.error.find("timed out") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    close(fd);
}
