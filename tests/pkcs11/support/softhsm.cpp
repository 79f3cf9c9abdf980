#include "support/softhsm.hpp"

#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <tuple>

namespace tk::test {
namespace {

card::Bytes readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    return card::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::string runShell(const std::string& command) {
    const std::string full = command + " 2>&1";
    FILE* pipe = ::popen(full.c_str(), "r");
    if (pipe == nullptr) {
        throw std::runtime_error("popen failed for " + command);
    }
    std::string out;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        out.append(buffer.data(), n);
    }
    const int status = ::pclose(pipe);
    if (status != 0) {
        throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command +
                                 "\n" + out);
    }
    return out;
}

SoftHsmToken::SoftHsmToken() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tk-softhsm.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    dir_ = pattern;
    std::filesystem::create_directory(dir_ + "/tokens");
    config_ = dir_ + "/softhsm2.conf";
    {
        std::ofstream conf(config_);
        conf << "directories.tokendir = " << dir_ << "/tokens\n"
             << "objectstore.backend = file\n"
             << "log.level = ERROR\n";
    }
    ::setenv("SOFTHSM2_CONF", config_.c_str(), 1);
    const std::string d = dir_;
    const std::string tool = std::string("pkcs11-tool --module ") + kSoftHsmModule +
                             " --login --pin " + kSoftHsmPin + " ";
    runShell(std::string("softhsm2-util --init-token --free --label ") + kSoftHsmLabel + " --pin " +
             kSoftHsmPin + " --so-pin " + kSoftHsmSoPin);
    // RSA-2048: signing and key transport; P-256: signing and key agreement.
    runShell("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/rsa.pem -out " + d +
             "/rsa.crt -subj /CN=TenderKey-RSA-Test -days 30 -addext "
             "keyUsage=critical,digitalSignature,keyEncipherment");
    runShell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
             "/ec.pem -out " + d +
             "/ec.crt -subj /CN=TenderKey-EC-Test -days 30 -addext "
             "keyUsage=critical,digitalSignature,keyAgreement");
    for (const auto& [name, id, usage] : {std::tuple{"rsa", "01", " --usage-sign --usage-decrypt"},
                                          std::tuple{"ec", "02", " --usage-sign --usage-derive"}}) {
        const std::string base = d + "/" + name;
        runShell("openssl pkey -in " + base + ".pem -outform DER -out " + base + "-key.der");
        runShell("openssl pkey -in " + base + ".pem -pubout -outform DER -out " + base +
                 "-pub.der");
        runShell("openssl x509 -in " + base + ".crt -outform DER -out " + base + "-cert.der");
        for (const auto& [file, type] :
             {std::pair{"-key.der", "privkey"}, std::pair{"-pub.der", "pubkey"},
              std::pair{"-cert.der", "cert"}}) {
            runShell(tool + "--write-object " + base + file + " --type " + type + " --id " + id +
                     " --label " + name + (std::string(type) == "privkey" ? usage : ""));
        }
    }
    rsaCert_ = readFile(d + "/rsa-cert.der");
    ecCert_ = readFile(d + "/ec-cert.der");
}

card::Bytes SoftHsmToken::addCaCertificate() {
    const std::string d = dir_;
    runShell("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/ca.pem -out " + d +
             "/ca.crt -subj /CN=TenderKey-Test-CA -days 30 -addext "
             "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    runShell("openssl x509 -in " + d + "/ca.crt -outform DER -out " + d + "/ca-cert.der");
    runShell(std::string("pkcs11-tool --module ") + kSoftHsmModule + " --login --pin " +
             kSoftHsmPin + " --write-object " + d + "/ca-cert.der --type cert --id 0a --label ca");
    return readFile(d + "/ca-cert.der");
}

SoftHsmToken::~SoftHsmToken() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

CK_SLOT_ID SoftHsmToken::slotIn(const card::pkcs11::Module& module) const {
    for (const auto& slot : module.slots(true)) {
        if (module.token(slot.id).label == kSoftHsmLabel) {
            return slot.id;
        }
    }
    throw std::runtime_error("no SoftHSM token labelled tk-test");
}

}  // namespace tk::test
