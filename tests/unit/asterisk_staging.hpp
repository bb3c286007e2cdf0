// A throw-away Asterisk config directory for tests: real files, symlinks into the corpus
// (as FreePBX links rtp.conf & co. into its module tree), removed on destruction.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace pbxgate::test {

inline const std::string asterisk_corpus = std::string(PBXGATE_SOURCE_DIR) + "/tests/data/asterisk-configs";

class config_dir {
public:
    config_dir() {
        char tmpl[] = "/tmp/pbxgate-asterisk-XXXXXX";
        const char* made = mkdtemp(tmpl);
        path_ = made ? made : "/tmp/pbxgate-asterisk-failed";
    }
    ~config_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    config_dir(const config_dir&) = delete;
    config_dir& operator=(const config_dir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

    void write(const std::string& name, const std::string& text) const {
        std::filesystem::create_directories(std::filesystem::path(path_ + "/" + name).parent_path());
        std::ofstream(path_ + "/" + name, std::ios::binary | std::ios::trunc) << text;
    }
    // NAME -> corpus/FOLDER/FILE, as a symlink.
    void link(const std::string& name, const std::string& corpus_file) const {
        std::filesystem::create_symlink(asterisk_corpus + "/" + corpus_file, path_ + "/" + name);
    }

private:
    std::string path_;
};

}  // namespace pbxgate::test
