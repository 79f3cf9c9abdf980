#include "service/hipki/package.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "card/bytes.hpp"

namespace tk::service::hipki {
namespace {

struct FunctionName {
    std::string_view name;
    Function function;
};

constexpr std::array<FunctionName, 4> kFunctions{{
    {"MakeSignature", Function::MakeSignature},
    {"DecryptData", Function::DecryptData},
    {"GetUserCert", Function::GetUserCert},
    {"CheckEnvir", Function::CheckEnvir},
}};

// The DER DigestInfo prefixes of RFC 8017 §9.2 note 1 (SEQUENCE { SEQUENCE { OID, NULL },
// OCTET STRING of the digest's length }).
struct DigestInfoPrefix {
    card::HashAlgorithm hash;
    std::vector<std::uint8_t> prefix;
};

const std::array<DigestInfoPrefix, 4> kPrefixes{{
    {card::HashAlgorithm::Sha256,
     {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
      0x05, 0x00, 0x04, 0x20}},
    {card::HashAlgorithm::Sha384,
     {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
      0x05, 0x00, 0x04, 0x30}},
    {card::HashAlgorithm::Sha512,
     {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
      0x05, 0x00, 0x04, 0x40}},
    {card::HashAlgorithm::Sha1,
     {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}},
}};

}  // namespace

std::string_view Package::get(std::string_view name) const {
    const auto it = values.find(name);
    return it == values.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<Package> parsePackage(const nlohmann::json& package, PackageError& error) {
    if (!package.is_object() || !package.contains("func") || !package["func"].is_string()) {
        error = {PackageError::Kind::BadJson, "the package is not an object with a func"};
        return std::nullopt;
    }
    const std::string& func = package["func"].get_ref<const std::string&>();
    const auto known = std::find_if(kFunctions.begin(), kFunctions.end(),
                                    [&](const FunctionName& f) { return f.name == func; });
    if (known == kFunctions.end()) {
        error = {PackageError::Kind::UnsupportedFunction, "unsupported func"};
        return std::nullopt;
    }
    Package result;
    result.function = known->function;
    for (const auto& [name, value] : package.items()) {
        if (!value.is_string()) {
            error = {PackageError::Kind::BadParameter, "every package value is a string"};
            return std::nullopt;
        }
        result.values.emplace(name, value.get<std::string>());
    }
    return result;
}

std::string_view responseFunc(Function function) {
    switch (function) {
        case Function::MakeSignature:
            return "sign";
        case Function::DecryptData:
            return "decrypt";
        case Function::GetUserCert:
        case Function::CheckEnvir:
            break;
    }
    return "pkcs11info";
}

std::string percentDecodeOnce(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::string(text);
        }
        const int high = card::hexDigitValue(text[i + 1]);
        const int low = card::hexDigitValue(text[i + 2]);
        if (high < 0 || low < 0) {
            return std::string(text);
        }
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

std::optional<card::HashAlgorithm> parseHashAlgorithm(std::string_view name) {
    if (name.empty() || name == "SHA256") {
        return card::HashAlgorithm::Sha256;
    }
    if (name == "SHA384") {
        return card::HashAlgorithm::Sha384;
    }
    if (name == "SHA512") {
        return card::HashAlgorithm::Sha512;
    }
    if (name == "SHA1") {
        return card::HashAlgorithm::Sha1;
    }
    return std::nullopt;
}

std::optional<DigestInfo> parseDigestInfo(card::ByteView der) {
    for (const DigestInfoPrefix& known : kPrefixes) {
        const std::size_t size = known.prefix.size() + card::digestSize(known.hash);
        if (der.size() == size &&
            std::equal(known.prefix.begin(), known.prefix.end(), der.begin())) {
            return DigestInfo{known.hash,
                              card::Bytes(der.begin() + known.prefix.size(), der.end())};
        }
    }
    return std::nullopt;
}

}  // namespace tk::service::hipki
