#include "service/hipki/adapter.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <utility>

#include "service/base64.hpp"
#include "service/client_text.hpp"
#include "service/hipki/error_codes.hpp"
#include "service/hipki/package.hpp"
#include "service/reasons.hpp"

namespace tk::service::hipki {
namespace {

// The usage strings the vendor's pages look for.
constexpr std::string_view kSigningUsage = "digitalSignature";
constexpr std::string_view kEncryptionUsage = "keyEncipherment|dataEncipherment";

// Overwrites a string that held a PIN, then empties it.
void wipe(std::string& text) {
    if (!text.empty()) {
        OPENSSL_cleanse(text.data(), text.size());
    }
    text.clear();
}

bool usableFor(const nlohmann::json& certificate, std::string_view use) {
    const auto it = certificate.find("usableFor");
    if (it == certificate.end() || !it->is_array()) {
        return false;
    }
    for (const nlohmann::json& each : *it) {
        if (each.is_string() && each.get_ref<const std::string&>() == use) {
            return true;
        }
    }
    return false;
}

std::string stringOf(const nlohmann::json& object, std::string_view name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "2026-01-02T03:04:05Z" (as certificates.list gives it) -> Unix seconds; 0 when unreadable.
std::int64_t unixSeconds(const std::string& rfc3339) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (std::sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s) != 6) {
        return 0;
    }
    using namespace std::chrono;
    const sys_days date =
        year{y} / month{static_cast<unsigned>(mo)} / day{static_cast<unsigned>(d)};
    const sys_seconds at = date + hours{h} + minutes{mi} + seconds{s};
    return static_cast<std::int64_t>(at.time_since_epoch().count());
}

// One call in progress: what the package asked and where the answer goes.
struct Call {
    Api& api;
    CallContext context;
    AdapterOptions options;
    Function function;
    Package package;
    std::string pin;  // percent-decoded; wiped when the call ends
    ResponseHandler done;

    Call(Api& a, CallContext c, AdapterOptions o, Package p, std::string decodedPin,
         ResponseHandler d)
        : api(a),
          context(std::move(c)),
          options(std::move(o)),
          function(p.function),
          package(std::move(p)),
          pin(std::move(decodedPin)),
          done(std::move(d)) {}
    ~Call() { wipe(pin); }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    Call(Call&&) = delete;
    Call& operator=(Call&&) = delete;

    nlohmann::json response(std::int64_t retCode, std::int64_t lastError,
                            std::string message) const {
        return {{"func", responseFunc(function)},
                {"ret_code", retCode},
                {"last_error", lastError},
                {"message", std::move(message)},
                {"serverVersion", options.serverVersion}};
    }

    void fail(std::int64_t retCode, std::string message, std::int64_t lastError = 0) {
        wipe(pin);
        done(response(retCode, lastError, std::move(message)));
    }

    void fail(const ApiError& error) {
        const HipkiCode code = codeOf(error);
        fail(code.retCode, error.message, code.lastError);
    }

    // A context for the key look-up of MakeSignature and DecryptData (see the class comment).
    CallContext lookupContext() const {
        CallContext lookup = context;
        lookup.capabilities.add(Capability::Read);
        return lookup;
    }
};

using CallPtr = std::shared_ptr<Call>;

// The readers the package means: the one named by slotDescription, or all.
std::optional<nlohmann::json> selectReaders(Call& call, const nlohmann::json& readers) {
    const std::string_view wanted = call.package.get("slotDescription");
    if (wanted.empty()) {
        return readers;
    }
    for (const nlohmann::json& reader : readers) {
        if (stringOf(reader, "name") == wanted) {
            return nlohmann::json::array({reader});
        }
    }
    call.fail(code::kNoReader, "no reader with this slotDescription");
    return std::nullopt;
}

bool anyCard(const nlohmann::json& readers) {
    for (const nlohmann::json& reader : readers) {
        if (reader.value("cardPresent", false)) {
            return true;
        }
    }
    return false;
}

// The certificate for `use` ("sign" or "decrypt") on the first card of `readers` that has
// one; for signing the PIV signature key (slot 9c) comes before any other signing key.
std::optional<nlohmann::json> chooseCertificate(const nlohmann::json& readers,
                                                const nlohmann::json& certificates,
                                                std::string_view use) {
    for (const nlohmann::json& reader : readers) {
        const std::string name = stringOf(reader, "name");
        std::optional<nlohmann::json> found;
        for (const nlohmann::json& certificate : certificates) {
            if (stringOf(certificate, "reader") != name || !usableFor(certificate, use)) {
                continue;
            }
            if (!found || (use == "sign" && stringOf(certificate, "slot") == "9c")) {
                found = certificate;
            }
        }
        if (found) {
            return found;
        }
    }
    return std::nullopt;
}

// readers.list, then (withList) certificates.list, then `next(readers, certificates)`;
// failures answer the call.
void withCertificates(
    const CallPtr& call, const CallContext& context,
    std::function<void(const nlohmann::json& readers, const nlohmann::json& certificates)> next,
    bool withList = true) {
    nlohmann::json none = nlohmann::json::object();
    call->api.call(
        context, "readers.list", none,
        [call, context, withList, next = std::move(next)](std::optional<nlohmann::json> result,
                                                          std::optional<ApiError> error) {
            if (error) {
                call->fail(*error);
                return;
            }
            std::optional<nlohmann::json> readers = selectReaders(*call, (*result)["readers"]);
            if (!readers) {
                return;
            }
            if (!withList) {
                next(*readers, nlohmann::json::array());
                return;
            }
            nlohmann::json params = nlohmann::json::object();
            call->api.call(
                context, "certificates.list", params,
                [call, readers = std::move(*readers), next](std::optional<nlohmann::json> list,
                                                            std::optional<ApiError> failure) {
                    if (failure) {
                        call->fail(*failure);
                        return;
                    }
                    next(readers, (*list)["certificates"]);
                });
        });
}

nlohmann::json certificateEntry(const nlohmann::json& certificate) {
    const bool signing = usableFor(certificate, "sign");
    return {{"certb64", stringOf(certificate, "der")},
            {"label", stringOf(certificate, "label")},
            {"usage", signing ? kSigningUsage : kEncryptionUsage},
            {"subjectDN", stringOf(certificate, "subject")},
            {"issuerDN", stringOf(certificate, "issuer")},
            {"sn", stringOf(certificate, "serialNumber")},
            {"notBeforeT", unixSeconds(stringOf(certificate, "notBefore"))},
            {"notAfterT", unixSeconds(stringOf(certificate, "notAfter"))}};
}

void pkcs11Info(const CallPtr& call, bool withCertificates_) {
    withCertificates(
        call, call->context,
        [call, withCertificates_](const nlohmann::json& readers,
                                  const nlohmann::json& certificates) {
            nlohmann::json slots = nlohmann::json::array();
            for (const nlohmann::json& reader : readers) {
                const std::string name = stringOf(reader, "name");
                nlohmann::json token = nullptr;
                const auto card = reader.find("card");
                if (reader.value("cardPresent", false) && card != reader.end() &&
                    card->is_object()) {
                    token = {{"serialNumber", stringOf(*card, "id")}};
                    if (withCertificates_) {
                        nlohmann::json certs = nlohmann::json::array();
                        for (const nlohmann::json& each : certificates) {
                            if (stringOf(each, "reader") == name &&
                                (usableFor(each, "sign") || usableFor(each, "decrypt"))) {
                                certs.push_back(certificateEntry(each));
                            }
                        }
                        token["certs"] = std::move(certs);
                    }
                }
                slots.push_back({{"slotDescription", name}, {"token", token}});
            }
            nlohmann::json answer = call->response(code::kOk, 0, "");
            answer["slots"] = std::move(slots);
            call->done(std::move(answer));
        },
        withCertificates_);
}

// The key of `use`, or the call answered with the reason there is none.
std::optional<nlohmann::json> requireKey(Call& call, const nlohmann::json& readers,
                                         const nlohmann::json& certificates, std::string_view use) {
    if (readers.empty()) {
        call.fail(code::kNoReader, "no reader is connected");
        return std::nullopt;
    }
    if (!anyCard(readers)) {
        call.fail(code::kNoCard, "no card");
        return std::nullopt;
    }
    std::optional<nlohmann::json> certificate = chooseCertificate(readers, certificates, use);
    if (!certificate) {
        call.fail(code::kCertificateNotFound,
                  use == "sign" ? "no signing certificate" : "no encryption certificate");
    }
    return certificate;
}

// The API's `sign` or `decrypt` with the chosen key; `answer` turns its result into the
// members of the response.
void runKeyOperation(const CallPtr& call, std::string_view method, nlohmann::json params,
                     std::function<void(nlohmann::json&, const nlohmann::json&)> answer,
                     bool oneDecryptCode) {
    if (!call->pin.empty()) {
        params["pin"] = call->pin;
        wipe(call->pin);
    }
    call->api.call(call->context, method, params,
                   [call, answer = std::move(answer), oneDecryptCode](
                       std::optional<nlohmann::json> result, std::optional<ApiError> error) {
                       if (error) {
                           if (oneDecryptCode && (error->reason == "DECRYPT_FAILED" ||
                                                  error->reason == "INVALID_PARAMS" ||
                                                  error->reason == "UNSUPPORTED_ALGORITHM")) {
                               call->fail(code::kDecryptFailed, "decryption failed");
                           } else {
                               call->fail(*error);
                           }
                           return;
                       }
                       nlohmann::json response = call->response(code::kOk, 0, "");
                       answer(response, *result);
                       call->done(std::move(response));
                   });
    // The JSON copy handed to the API had its PIN taken out and wiped by the API.
    if (params.contains("pin") && params["pin"].is_string()) {
        auto& text = params["pin"].get_ref<std::string&>();
        wipe(text);
    }
}

void makeSignature(const CallPtr& call) {
    const Package& package = call->package;
    const std::string_view type =
        package.get("signatureType").empty() ? "PKCS7" : package.get("signatureType");
    if (type != "PKCS7" && type != "PKCS1" && type != "RAW") {
        call->fail(code::kBadParameter, "signatureType must be PKCS7, PKCS1 or RAW");
        return;
    }
    const std::optional<card::HashAlgorithm> hash =
        parseHashAlgorithm(package.get("hashAlgorithm"));
    if (!hash && type != "RAW") {
        call->fail(code::kBadParameter, "hashAlgorithm must be SHA256, SHA384 or SHA512");
        return;
    }
    if (hash == card::HashAlgorithm::Sha1 && type != "RAW" && !call->options.allowSha1) {
        call->fail(code::kBadParameter, "SHA1 is refused ([hipki] allow_sha1 is off)");
        return;
    }
    const std::string_view encoding = package.get("tbsEncoding");
    if (!encoding.empty() && encoding != "NONE" && encoding != "base64") {
        call->fail(code::kBadParameter, "tbsEncoding must be NONE or base64");
        return;
    }
    if (package.get("tbs").empty()) {
        call->fail(code::kNoDataToSign, "no data to sign");
        return;
    }
    nlohmann::json params = nlohmann::json::object();
    bool sha1 = false;
    if (type == "RAW") {
        // tbs is the base64 of a DER DigestInfo; it is signed as it is (no hashing), which
        // for RSASSA-PKCS1-v1_5 is the API's signature of its digest under its hash.
        const std::optional<card::Bytes> der = decodeBase64(package.get("tbs"));
        const std::optional<DigestInfo> info = der ? parseDigestInfo(*der) : std::nullopt;
        if (!info) {
            call->fail(code::kBadParameter,
                       "tbs must be the base64 of a DER DigestInfo of SHA-256, SHA-384 or SHA-512");
            return;
        }
        if (info->hash == card::HashAlgorithm::Sha1 && !call->options.allowSha1) {
            call->fail(code::kBadParameter,
                       "a SHA-1 DigestInfo is refused ([hipki] allow_sha1 is off)");
            return;
        }
        sha1 = info->hash == card::HashAlgorithm::Sha1;
        params["digest"] = encodeBase64(info->digest);
        params["hash"] = card::hashAlgorithmName(info->hash);
        params["algorithm"] = "RSASSA-PKCS1-v1_5";
    } else {
        std::optional<card::Bytes> data;
        if (encoding == "base64") {
            // base64 text is never percent-decoded: its "+" arrives as it is.
            data = decodeBase64(package.get("tbs"));
            if (!data) {
                call->fail(code::kBadParameter, "tbs is not base64");
                return;
            }
        } else {
            const std::string text = percentDecodeOnce(package.get("tbs"));
            data = card::Bytes(text.begin(), text.end());
        }
        params["data"] = encodeBase64(*data);
        params["hash"] = card::hashAlgorithmName(*hash);
        sha1 = *hash == card::HashAlgorithm::Sha1;
        if (type == "PKCS7") {
            params["format"] = "cms";
            params["cms"] = {{"detached", false}, {"signingTime", true}};
        } else {
            params["algorithm"] = "RSASSA-PKCS1-v1_5";
        }
    }
    if (sha1) {
        // [hipki] allow_sha1: for this call only, and on the record.
        call->context.extensions.allowSha1Signature = true;
        spdlog::warn("{}: HiPKI MakeSignature {} with SHA-1 ([hipki] allow_sha1)",
                     clientText(call->context.origin), type);
    }
    const bool withCardSN = package.get("withCardSN") == "true";
    const std::string nonce(package.get("nonce"));
    withCertificates(
        call, call->lookupContext(),
        [call, params = std::move(params), withCardSN, nonce, pkcs7 = type == "PKCS7"](
            const nlohmann::json& readers, const nlohmann::json& certificates) mutable {
            const std::optional<nlohmann::json> key =
                requireKey(*call, readers, certificates, "sign");
            if (!key) {
                return;
            }
            const std::string cardId = stringOf(*key, "cardId");
            params["certificateId"] = stringOf(*key, "id");
            if (pkcs7) {
                if (!nonce.empty()) {
                    call->context.extensions.cmsRandomNonce = nonce;
                }
                if (withCardSN) {
                    call->context.extensions.cmsCardSerialNumber = cardId;
                }
            }
            runKeyOperation(
                call, "sign", std::move(params),
                [cardId, pkcs7](nlohmann::json& response, const nlohmann::json& result) {
                    response["signature"] = pkcs7 ? result["cms"] : result["signature"];
                    response["certb64"] = result["certificate"];
                    response["cardSN"] = cardId;
                },
                false);
        });
}

void decryptData(const CallPtr& call) {
    const Package& package = call->package;
    const std::string_view type = package.get("cipherType");
    if (type != "PKCS7" && type != "PKCS1") {
        call->fail(code::kBadParameter, "cipherType must be PKCS7 or PKCS1");
        return;
    }
    const std::string_view plainEncoding = package.get("plainEncoding");
    if (!plainEncoding.empty() && plainEncoding != "NONE" && plainEncoding != "base64") {
        call->fail(code::kBadParameter, "plainEncoding must be NONE or base64");
        return;
    }
    const std::optional<card::Bytes> cipher = decodeBase64(package.get("cipher"));
    if (!cipher || cipher->empty()) {
        call->fail(code::kBadParameter, "cipher must be base64");
        return;
    }
    nlohmann::json params = nlohmann::json::object();
    if (type == "PKCS7") {
        params["cms"] = encodeBase64(*cipher);
        // The portals' servers seal with DES-EDE3-CBC; accepted for this call only.
        call->context.extensions.allowDesEde3Envelope = true;
        spdlog::info("{}: HiPKI DecryptData, DES-EDE3-CBC envelopes accepted for this call",
                     clientText(call->context.origin));
    } else {
        params["algorithm"] = "RSAES-PKCS1-v1_5";
        params["ciphertext"] = encodeBase64(*cipher);
    }
    const bool base64 = plainEncoding == "base64";
    withCertificates(
        call, call->lookupContext(),
        [call, params = std::move(params), base64](const nlohmann::json& readers,
                                                   const nlohmann::json& certificates) mutable {
            const std::optional<nlohmann::json> key =
                requireKey(*call, readers, certificates, "decrypt");
            if (!key) {
                return;
            }
            params["certificateId"] = stringOf(*key, "id");
            runKeyOperation(
                call, "decrypt", std::move(params),
                [base64](nlohmann::json& response, const nlohmann::json& result) {
                    if (base64) {
                        response["plain"] = result["data"];
                        return;
                    }
                    std::optional<card::Bytes> plain =
                        decodeBase64(result["data"].get_ref<const std::string&>());
                    std::string text(plain->begin(), plain->end());
                    // The plaintext as text: bytes that are not UTF-8 are replaced, never sent
                    // as invalid JSON (a page that needs them asks for base64).
                    std::string sanitized = nlohmann::json(text).dump(
                        -1, ' ', false, nlohmann::json::error_handler_t::replace);
                    response["plain"] = nlohmann::json::parse(sanitized);
                    OPENSSL_cleanse(sanitized.data(), sanitized.size());
                    OPENSSL_cleanse(text.data(), text.size());
                    OPENSSL_cleanse(plain->data(), plain->size());
                },
                true);
        });
}

}  // namespace

Adapter::Adapter(Api& api, AdapterOptions options) : api_(api), options_(std::move(options)) {}

void Adapter::call(const CallContext& context, nlohmann::json& package,
                   ResponseHandler done) const {
    // The PIN leaves the package first, whatever the answer turns out to be.
    std::string pin;
    if (package.is_object()) {
        const auto it = package.find("pin");
        if (it != package.end() && it->is_string()) {
            auto& text = it->get_ref<std::string&>();
            pin = percentDecodeOnce(text);
            wipe(text);
        }
    }
    PackageError error{};
    std::optional<Package> parsed = parsePackage(package, error);
    if (!parsed) {
        wipe(pin);
        std::string func;
        if (package.is_object() && package.contains("func") && package["func"].is_string()) {
            func = package["func"].get<std::string>();
        }
        const std::int64_t retCode = error.kind == PackageError::Kind::BadJson ? code::kBadJson
                                     : error.kind == PackageError::Kind::UnsupportedFunction
                                         ? code::kUnsupportedMethod
                                         : code::kBadParameter;
        done({{"func", func},
              {"ret_code", retCode},
              {"last_error", 0},
              {"message", error.message},
              {"serverVersion", options_.serverVersion}});
        return;
    }
    auto call = std::make_shared<Call>(api_, context, options_, std::move(*parsed), std::move(pin),
                                       std::move(done));
    switch (call->function) {
        case Function::MakeSignature:
            makeSignature(call);
            break;
        case Function::DecryptData:
            decryptData(call);
            break;
        case Function::GetUserCert:
            pkcs11Info(call, true);
            break;
        case Function::CheckEnvir:
            pkcs11Info(call, false);
            break;
    }
}

}  // namespace tk::service::hipki
