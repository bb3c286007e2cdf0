#include "pbxgate/policy.hpp"

namespace pbxgate {

std::string diagnostic::to_string() const {
    std::string out = where.file;
    if (where.line != 0) {
        out += ':' + std::to_string(where.line);
        if (where.column != 0) out += ':' + std::to_string(where.column);
    }
    out += ": error: ";
    out += message;
    return out;
}

}  // namespace pbxgate
