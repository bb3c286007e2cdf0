#include "crowdsec/curl_transport.hpp"

#include <curl/curl.h>

#include <mutex>
#include <stdexcept>

namespace pbxgate::crowdsec {
namespace {

struct sink {
    std::string* body;
    std::size_t max;
    bool too_large = false;
};

extern "C" std::size_t write_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<sink*>(user);
    const std::size_t bytes = size * n;
    if (s->body->size() + bytes > s->max) {
        s->too_large = true;
        return 0;  // curl stops with CURLE_WRITE_ERROR
    }
    s->body->append(data, bytes);
    return bytes;
}

// Called by libcurl about once a second and on every transfer step: a stop does not wait
// for a slow API's timeout.
extern "C" int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

curl_transport::curl_transport() {
    global_init();
    handle_ = curl_easy_init();
    if (handle_ == nullptr) throw std::runtime_error("libcurl: cannot create a handle");
}

curl_transport::~curl_transport() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

http_response curl_transport::send(const http_request& req, const http_limits& limits) {
    CURL* c = static_cast<CURL*>(handle_);
    curl_easy_reset(c);
    http_response r;
    if (aborted_) {
        r.error = "stopping";
        return r;
    }
    sink s{&r.body, limits.max_body};
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : req.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
    if (req.method == "POST") headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "pbxgate/" PBXGATE_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_timeout.count()));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &write_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_body));
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &aborted_);

    if (req.method == "POST") {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    const CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    if (s.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        r.error = "answer larger than " + std::to_string(limits.max_body) + " bytes";
        r.body.clear();
        return r;
    }
    if (rc != CURLE_OK) {
        r.error = curl_easy_strerror(rc);
        r.body.clear();
        return r;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    return r;
}

}  // namespace pbxgate::crowdsec
