#pragma once

// A SoftHSM2 token made for one test: its own token directory under a temporary directory
// (SOFTHSM2_CONF points there), initialised with PIN 123456 and SO PIN 12345678, holding an
// RSA-2048 key (CKA_ID 01) and an EC P-256 key (CKA_ID 02), each as private key, public key and
// self-signed X.509 certificate made by the openssl command and imported with pkcs11-tool.

#include <memory>
#include <string>

#include "card/bytes.hpp"
#include "card/pkcs11/module.hpp"

namespace tk::test {

inline constexpr const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr const char* kSoftHsmPin = "123456";
inline constexpr const char* kSoftHsmSoPin = "12345678";
inline constexpr const char* kSoftHsmLabel = "tk-test";

class SoftHsmToken {
  public:
    // Creates the directory, the token and the objects; sets SOFTHSM2_CONF for this process
    // (before any module is loaded). Throws std::runtime_error with the failing command.
    SoftHsmToken();
    // Removes the directory.
    ~SoftHsmToken();
    SoftHsmToken(const SoftHsmToken&) = delete;
    SoftHsmToken& operator=(const SoftHsmToken&) = delete;
    SoftHsmToken(SoftHsmToken&&) = delete;
    SoftHsmToken& operator=(SoftHsmToken&&) = delete;

    const std::string& directory() const { return dir_; }
    const std::string& configFile() const { return config_; }
    card::Bytes rsaCertificate() const { return rsaCert_; }
    card::Bytes ecCertificate() const { return ecCert_; }

    // Adds a CA certificate (basicConstraints cA, no key of its own) with CKA_ID 0a and label
    // "ca", as card issuers put the chain on tokens. Returns its DER.
    card::Bytes addCaCertificate();

    // The slot of the token (looked up by its label in a loaded module).
    CK_SLOT_ID slotIn(const card::pkcs11::Module& module) const;

  private:
    std::string dir_;
    std::string config_;
    card::Bytes rsaCert_;
    card::Bytes ecCert_;
};

// Runs a shell command; throws with its output when it fails.
std::string runShell(const std::string& command);

}  // namespace tk::test
