// An in-memory kernelset::set_backend: sets by name, every call logged, failures injectable.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kernelset/kernel_set.hpp"

namespace pbxgate::test {

class fake_set_backend final : public kernelset::set_backend {
public:
    struct fake_set {
        kernelset::set_spec spec;
        std::vector<kernelset::entry> entries;
    };
    std::map<std::string, fake_set, std::less<>> sets;
    std::vector<std::string> calls;  // "create NAME", "add NAME PREFIX TIMEOUT", ...
    std::string fail_on;             // a call that starts with this fails

    kernelset::outcome create(const kernelset::set_spec& spec) override {
        if (auto o = check("create " + spec.name); !o.ok()) return o;
        sets.try_emplace(spec.name, fake_set{spec, {}});
        return {};
    }
    kernelset::outcome destroy(std::string_view name) override {
        if (auto o = check("destroy " + std::string(name)); !o.ok()) return o;
        const auto it = sets.find(name);
        if (it == sets.end()) return {kernelset::status::absent, "no set"};
        sets.erase(it);
        return {};
    }
    kernelset::outcome swap(std::string_view a, std::string_view b) override {
        if (auto o = check("swap " + std::string(a) + " " + std::string(b)); !o.ok()) return o;
        const auto ia = sets.find(a), ib = sets.find(b);
        if (ia == sets.end() || ib == sets.end()) return {kernelset::status::absent, "no set"};
        std::swap(ia->second.entries, ib->second.entries);
        return {};
    }
    kernelset::outcome add(std::string_view set, const ip_prefix& p, std::uint32_t timeout_s) override {
        if (auto o = check("add " + std::string(set) + " " + to_string(p) + " " + std::to_string(timeout_s)); !o.ok())
            return o;
        const auto it = sets.find(set);
        if (it == sets.end()) return {kernelset::status::absent, "no set"};
        auto& es = it->second.entries;
        const auto e = std::find_if(es.begin(), es.end(), [&](const auto& x) { return x.prefix == p; });
        if (e != es.end()) e->timeout_s = timeout_s;
        else es.push_back({p, timeout_s, 0, 0});
        return {};
    }
    kernelset::outcome remove(std::string_view set, const ip_prefix& p) override {
        if (auto o = check("del " + std::string(set) + " " + to_string(p)); !o.ok()) return o;
        const auto it = sets.find(set);
        if (it == sets.end()) return {kernelset::status::absent, "no set"};
        std::erase_if(it->second.entries, [&](const auto& x) { return x.prefix == p; });
        return {};
    }
    kernelset::outcome list(std::string_view set, std::vector<kernelset::entry>& out) override {
        out.clear();
        const auto it = sets.find(set);
        if (it == sets.end()) return {kernelset::status::absent, "no set"};
        out = it->second.entries;
        return {};
    }

private:
    kernelset::outcome check(std::string call) {
        const bool fail = !fail_on.empty() && call.rfind(fail_on, 0) == 0;
        calls.push_back(std::move(call));
        if (fail) return {kernelset::status::failed, "injected failure"};
        return {};
    }
};

}  // namespace pbxgate::test
