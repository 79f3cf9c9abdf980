// The configuration (daemon/service/config.cpp) from hostile TOML: ConfigError naming the file
// and line, or a configuration that passes validateConfig again; the --allow-origin argument
// and origin parsing (daemon/service/origin) on the same bytes.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "service/config.hpp"
#include "service/origin.hpp"

namespace {

// A broken expectation: says which one, then aborts (libFuzzer keeps the input as a crash).
void check(bool ok, int line = __builtin_LINE()) {
    if (!ok) {
        std::fprintf(stderr, "%s:%d: expectation failed\n", __FILE__, line);
        std::abort();
    }
}

// loadConfigFile reads a path: the input goes into an anonymous in-memory file, read back
// through /proc/self/fd.
struct MemoryFile {
    int fd = memfd_create("tenderkeyd.toml", 0);
    std::string path = "/proc/self/fd/" + std::to_string(fd);

    void replace(const std::uint8_t* data, std::size_t size) {
        check(fd >= 0 && ftruncate(fd, 0) == 0);
        std::size_t written = 0;
        while (written < size) {
            const ssize_t n = pwrite(fd, data + written, size - written, off_t(written));
            check(n > 0);
            written += std::size_t(n);
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static MemoryFile file;
    file.replace(data, size);
    try {
        const tk::service::Config config = tk::service::loadConfigFile(file.path);
        check(!config.listeners.empty());
        tk::service::validateConfig(config);  // what passed once passes again
    } catch (const tk::service::ConfigError& e) {
        check(std::string_view(e.what()).starts_with(file.path));
    }

    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const tk::service::OriginEntry entry = tk::service::parseOriginArgument(text);
        (void)entry;
    } catch (const tk::service::ConfigError&) {
    }
    if (const auto origin = tk::service::parseOrigin(text)) {
        // A parsed origin serialises to text that parses to the same serialisation.
        const std::string serialised = tk::service::serialiseOrigin(*origin);
        const auto again = tk::service::parseOrigin(serialised);
        check(again.has_value() && tk::service::serialiseOrigin(*again) == serialised);
    }
    const auto pattern = tk::service::parseOriginPattern(text);
    if (const auto* parsed = std::get_if<tk::service::OriginPattern>(&pattern)) {
        // The canonical text of an accepted entry is accepted again, unchanged.
        const auto again = tk::service::parseOriginPattern(parsed->text);
        const auto* reparsed = std::get_if<tk::service::OriginPattern>(&again);
        check(reparsed != nullptr && reparsed->text == parsed->text &&
              reparsed->wildcard == parsed->wildcard);
    }
    return 0;
}
