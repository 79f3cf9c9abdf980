#include "support/gpki.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>

#include "support/softhsm.hpp"

namespace tk::test {

const std::string& gpkiDirectory() {
    static std::once_flag once;
    static const std::string dir = TK_GPKI_DIR;
    std::call_once(once, [] { runShell(std::string(TK_GPKI_SCRIPT) + " " + dir); });
    return dir;
}

std::string gpkiFile(const std::string& name) {
    return gpkiDirectory() + "/" + name;
}

card::Bytes gpkiDer(const std::string& name) {
    const std::string path = gpkiFile(name + ".der");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    return card::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const char* hicosShimModule() {
    return TK_HICOS_SHIM;
}

HicosToken::HicosToken(const std::string& profile, const std::string& ca) {
    std::string pattern = (std::filesystem::temp_directory_path() / "tk-hicos.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    dir_ = pattern;
    std::filesystem::create_directory(dir_ + "/tokens");
    const std::string config = dir_ + "/softhsm2.conf";
    {
        std::ofstream conf(config);
        conf << "directories.tokendir = " << dir_ << "/tokens\n"
             << "objectstore.backend = file\n"
             << "log.level = ERROR\n";
    }
    ::setenv("SOFTHSM2_CONF", config.c_str(), 1);
    ::setenv("TK_HICOS_SHIM_LOG", (dir_ + "/shim.log").c_str(), 1);
    ::setenv("TK_HICOS_SHIM_MODULE", kSoftHsmModule, 1);
    runShell(std::string(TK_HICOS_TOKEN_SCRIPT) + " " + gpkiDirectory() + " " + profile + " " + ca +
             " " + kHicosPin);
}

HicosToken::~HicosToken() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

int HicosToken::loginCalls() const {
    std::ifstream log(dir_ + "/shim.log");
    int lines = 0;
    for (std::string line; std::getline(log, line);) {
        ++lines;
    }
    return lines;
}

}  // namespace tk::test
