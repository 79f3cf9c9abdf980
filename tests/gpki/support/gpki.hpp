#pragma once

// The test copy of Taiwan's GPKI (tests/gpki/make-gpki-pki.sh, made once per build directory)
// and SoftHSM2 tokens laid out as Chunghwa Telecom's HiCOS module presents an IC card.

#include <string>

#include "card/bytes.hpp"

namespace tk::test {

// The PIN of every HiCOS-shaped token: 8 characters, letters and digits, as the issuers
// recommend.
inline constexpr const char* kHicosPin = "tk8Pin2x";
inline constexpr const char* kHicosLabel = "HiCOS PKI Smart Card";
inline constexpr const char* kHicosManufacturer = "Chunghwa TeleCom Co., Ltd.";
// Lowercase hex of the ASCII CKA_IDs the HiCOS module gives the four certificates.
inline constexpr const char* kSignId = "5349474e";                    // "SIGN"
inline constexpr const char* kKeyxId = "4b455958";                    // "KEYX"
inline constexpr const char* kCaCertId = "434143657274";              // "CACert"
inline constexpr const char* kRootCaCertId = "524f4f54434143657274";  // "ROOTCACert"

// The PKI's directory (made on first use; see make-gpki-pki.sh for the file names).
const std::string& gpkiDirectory();
// `<directory>/<name>`, e.g. "company-sign.der", "root.pem".
std::string gpkiFile(const std::string& name);
card::Bytes gpkiDer(const std::string& name);  // `name` without ".der"

// A SoftHSM2 token in its own temporary directory (SOFTHSM2_CONF and TK_HICOS_SHIM_LOG set
// for this process and the processes it starts) holding one card's objects as HiCOS shows
// them: certificates SIGN, KEYX, CACert (the issuing CA) and ROOTCACert, private RSA-2048
// keys SIGN (signs) and KEYX (decrypts), each labelled like its CKA_ID, no public key
// objects, PIN kHicosPin. Loaded through the shim (hicosShimModule()) it shows HiCOS's token
// info and PIN counter.
class HicosToken {
  public:
    // `profile`: company, organisation, agency or citizen; `ca`: moeaca, xca, gca or moica.
    HicosToken(const std::string& profile, const std::string& ca);
    ~HicosToken();
    HicosToken(const HicosToken&) = delete;
    HicosToken& operator=(const HicosToken&) = delete;
    HicosToken(HicosToken&&) = delete;
    HicosToken& operator=(HicosToken&&) = delete;

    const std::string& directory() const { return dir_; }
    // How many C_Login calls reached the shim so far (its log).
    int loginCalls() const;

  private:
    std::string dir_;
};

// The shim module's path.
const char* hicosShimModule();

}  // namespace tk::test
