#include "service/params.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "service/api_failure.hpp"
#include "service/base64.hpp"

namespace tk::service {
namespace {

bool isIdCharacter(char c, bool allowColon) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || (allowColon && c == ':');
}

}  // namespace

std::optional<card::SecureBytes>* Secrets::find(std::string_view name) {
    if (name == "pin") {
        return &pin;
    }
    if (name == "newPin") {
        return &newPin;
    }
    if (name == "puk") {
        return &puk;
    }
    if (name == "newPuk") {
        return &newPuk;
    }
    return nullptr;
}

Secrets takeSecrets(const nlohmann::json& params) {
    Secrets secrets;
    if (!params.is_object()) {
        return secrets;
    }
    for (const std::string_view name : kSecretNames) {
        const auto it = params.find(name);
        if (it == params.end() || !it->is_string()) {
            continue;
        }
        // The request object is the server's mutable parse result; only its secret strings
        // are touched, and only to erase them.
        auto& text = const_cast<std::string&>(it->get_ref<const std::string&>());
        *secrets.find(name) = card::SecureBytes::fromText(text);
        OPENSSL_cleanse(text.data(), text.size());
        text.clear();
    }
    return secrets;
}

ParamReader::ParamReader(const nlohmann::json& params,
                         std::initializer_list<std::string_view> known)
    : object_(nullptr) {
    if (params.is_null()) {
        return;  // omitted params are {}
    }
    if (params.is_array()) {
        throw invalidParams({}, "params must be an object (by-name parameters)");
    }
    if (!params.is_object()) {
        throw invalidParams({}, "params must be an object");
    }
    object_ = &params;
    checkKnown(known);
}

ParamReader::ParamReader(const nlohmann::json* object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

void ParamReader::checkKnown(std::initializer_list<std::string_view> known) const {
    if (object_ == nullptr) {
        return;
    }
    for (const auto& [key, value] : object_->items()) {
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            throw invalidParams(field(key), "unknown parameter " + field(key));
        }
    }
}

std::string ParamReader::field(std::string_view name) const {
    return prefix_.empty() ? std::string(name) : prefix_ + "." + std::string(name);
}

const nlohmann::json* ParamReader::member(std::string_view name) const {
    if (object_ == nullptr) {
        return nullptr;
    }
    const auto it = object_->find(name);
    if (it == object_->end()) {
        return nullptr;
    }
    if (it->is_null()) {
        throw invalidParams(field(name), field(name) + " is null (leave it out instead)");
    }
    return &*it;
}

bool ParamReader::has(std::string_view name) const {
    return object_ != nullptr && object_->contains(name);
}

std::string ParamReader::requiredString(std::string_view name) const {
    auto value = optionalString(name);
    if (!value) {
        throw invalidParams(field(name), field(name) + " is missing");
    }
    return std::move(*value);
}

std::optional<std::string> ParamReader::optionalString(std::string_view name) const {
    const nlohmann::json* value = member(name);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_string()) {
        throw invalidParams(field(name), field(name) + " must be a string");
    }
    return value->get<std::string>();
}

std::optional<bool> ParamReader::optionalBool(std::string_view name) const {
    const nlohmann::json* value = member(name);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_boolean()) {
        throw invalidParams(field(name), field(name) + " must be true or false");
    }
    return value->get<bool>();
}

std::optional<std::string> ParamReader::optionalEnum(
    std::string_view name, std::initializer_list<std::string_view> values) const {
    auto value = optionalString(name);
    if (value && std::find(values.begin(), values.end(), *value) == values.end()) {
        std::string list;
        for (const auto v : values) {
            list += list.empty() ? "" : ", ";
            list += v;
        }
        throw invalidParams(field(name), field(name) + " must be one of " + list);
    }
    return value;
}

std::optional<card::Bytes> ParamReader::optionalBase64(std::string_view name, bool allowEmpty,
                                                       std::size_t maxBytes) const {
    const nlohmann::json* value = member(name);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_string()) {
        throw invalidParams(field(name), field(name) + " must be a base64 string");
    }
    const auto& text = value->get_ref<const std::string&>();
    const auto notBase64 = [&] {
        return invalidParams(field(name),
                             field(name) + " is not canonical standard base64 with padding");
    };
    const std::optional<std::size_t> size = decodedBase64Size(text);
    if (!size) {
        throw notBase64();
    }
    if (maxBytes != 0 && *size > maxBytes) {
        throw ApiFailure(Reason::PayloadTooLarge, field(name) + " is too large",
                         {{"field", field(name)}, {"limit", maxBytes}});
    }
    auto bytes = decodeBase64(text);
    if (!bytes) {
        throw notBase64();
    }
    if (bytes->empty() && !allowEmpty) {
        throw invalidParams(field(name), field(name) + " must not be empty");
    }
    return bytes;
}

std::optional<ParamReader> ParamReader::optionalObject(
    std::string_view name, std::initializer_list<std::string_view> known) const {
    const nlohmann::json* value = member(name);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_object()) {
        throw invalidParams(field(name), field(name) + " must be an object");
    }
    ParamReader nested(value, field(name));
    nested.checkKnown(known);
    return nested;
}

void ParamReader::checkSecret(std::string_view name) const {
    const nlohmann::json* value = member(name);
    if (value != nullptr && !value->is_string()) {
        throw invalidParams(field(name), field(name) + " must be a string");
    }
}

std::string ParamReader::requiredCardId(std::string_view name) const {
    std::string value = requiredString(name);
    if (value.empty() || value.size() > 128 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return isIdCharacter(c, false); })) {
        throw invalidParams(field(name), field(name) + " is not a card id");
    }
    return value;
}

std::string ParamReader::requiredCertificateId(std::string_view name) const {
    std::string value = requiredString(name);
    if (value.empty() || value.size() > 256 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return isIdCharacter(c, true); })) {
        throw invalidParams(field(name), field(name) + " is not a certificate id");
    }
    return value;
}

}  // namespace tk::service
