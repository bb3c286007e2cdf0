// Runs a fuzz target's function over files, without libFuzzer: every corpus and regression
// input is replayed in each ctest run, with any compiler (and under ASan+UBSan when the
// build is sanitized). Arguments are files or directories (their regular files, sorted).
// Each input is copied into a buffer of its exact size so an overread is an ASan report.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool replay(const std::filesystem::path& file) {
    // Named first: when the target aborts, the last name printed is the culprit.
    std::printf("%s\n", file.c_str());
    std::fflush(stdout);
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", file.c_str());
        return false;
    }
    const std::vector<char> text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto exact = std::make_unique<std::uint8_t[]>(text.size());
    std::copy(text.begin(), text.end(), exact.get());
    LLVMFuzzerTestOneInput(exact.get(), text.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t inputs = 0;
    bool ok = true;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        std::vector<std::filesystem::path> files;
        if (std::filesystem::is_directory(arg)) {
            for (const auto& e : std::filesystem::directory_iterator(arg))
                if (e.is_regular_file() && e.path().filename().string().front() != '.') files.push_back(e.path());
            std::sort(files.begin(), files.end());
        } else if (std::filesystem::exists(arg)) {
            files.push_back(arg);
        } else {
            std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
            ok = false;
        }
        for (const auto& f : files) {
            ok = replay(f) && ok;
            ++inputs;
        }
    }
    std::printf("replayed %zu input(s)\n", inputs);
    if (inputs == 0) {
        std::fprintf(stderr, "no inputs: a replay that checks nothing is a failure\n");
        return 1;
    }
    return ok ? 0 : 1;
}
