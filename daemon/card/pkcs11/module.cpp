#include "card/pkcs11/module.hpp"

#include <cstdio>
#include <map>

#include "card/pkcs11/library.hpp"
#include "pcsc/errors.hpp"

namespace tk::card::pkcs11 {

namespace {

// SCARD_W_REMOVED_CARD: the code a token that left is reported with, as PC/SC would.
constexpr std::uint32_t kRemovedCard = 0x80100069;
// ISO 7816 "no precise diagnosis": the status word a module failure is reported with.
constexpr std::uint16_t kNoPreciseDiagnosis = 0x6F00;

std::mutex& registryMutex() {
    static std::mutex mutex;
    return mutex;
}

std::map<std::string, std::weak_ptr<Module>>& registry() {
    static std::map<std::string, std::weak_ptr<Module>> modules;
    return modules;
}

}  // namespace

std::string paddedText(const unsigned char* field, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(field), size);
    const auto end = text.find_last_not_of(std::string(" \0", 2));
    text.erase(end == std::string::npos ? 0 : end + 1);
    return text;
}

std::string rvName(CK_RV rv) {
    switch (rv) {
#define TK_RV(name) \
    case name:      \
        return #name;
        TK_RV(CKR_OK)
        TK_RV(CKR_CANCEL)
        TK_RV(CKR_HOST_MEMORY)
        TK_RV(CKR_SLOT_ID_INVALID)
        TK_RV(CKR_GENERAL_ERROR)
        TK_RV(CKR_FUNCTION_FAILED)
        TK_RV(CKR_ARGUMENTS_BAD)
        TK_RV(CKR_ATTRIBUTE_TYPE_INVALID)
        TK_RV(CKR_ATTRIBUTE_VALUE_INVALID)
        TK_RV(CKR_ATTRIBUTE_SENSITIVE)
        TK_RV(CKR_DATA_INVALID)
        TK_RV(CKR_DATA_LEN_RANGE)
        TK_RV(CKR_DEVICE_ERROR)
        TK_RV(CKR_DEVICE_MEMORY)
        TK_RV(CKR_DEVICE_REMOVED)
        TK_RV(CKR_ENCRYPTED_DATA_INVALID)
        TK_RV(CKR_ENCRYPTED_DATA_LEN_RANGE)
        TK_RV(CKR_FUNCTION_CANCELED)
        TK_RV(CKR_FUNCTION_NOT_SUPPORTED)
        TK_RV(CKR_KEY_HANDLE_INVALID)
        TK_RV(CKR_KEY_TYPE_INCONSISTENT)
        TK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED)
        TK_RV(CKR_MECHANISM_INVALID)
        TK_RV(CKR_MECHANISM_PARAM_INVALID)
        TK_RV(CKR_OBJECT_HANDLE_INVALID)
        TK_RV(CKR_OPERATION_ACTIVE)
        TK_RV(CKR_OPERATION_NOT_INITIALIZED)
        TK_RV(CKR_PIN_INCORRECT)
        TK_RV(CKR_PIN_INVALID)
        TK_RV(CKR_PIN_LEN_RANGE)
        TK_RV(CKR_PIN_EXPIRED)
        TK_RV(CKR_PIN_LOCKED)
        TK_RV(CKR_SESSION_CLOSED)
        TK_RV(CKR_SESSION_COUNT)
        TK_RV(CKR_SESSION_HANDLE_INVALID)
        TK_RV(CKR_SESSION_READ_ONLY)
        TK_RV(CKR_SIGNATURE_INVALID)
        TK_RV(CKR_TEMPLATE_INCOMPLETE)
        TK_RV(CKR_TEMPLATE_INCONSISTENT)
        TK_RV(CKR_TOKEN_NOT_PRESENT)
        TK_RV(CKR_TOKEN_NOT_RECOGNIZED)
        TK_RV(CKR_TOKEN_WRITE_PROTECTED)
        TK_RV(CKR_USER_ALREADY_LOGGED_IN)
        TK_RV(CKR_USER_NOT_LOGGED_IN)
        TK_RV(CKR_USER_PIN_NOT_INITIALIZED)
        TK_RV(CKR_USER_TYPE_INVALID)
        TK_RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
        TK_RV(CKR_BUFFER_TOO_SMALL)
        TK_RV(CKR_CRYPTOKI_NOT_INITIALIZED)
        TK_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED)
#undef TK_RV
        default: {
            char text[32];
            std::snprintf(text, sizeof text, "CKR 0x%lx", static_cast<unsigned long>(rv));
            return text;
        }
    }
}

void throwForRv(CK_RV rv, const char* function) {
    const std::string what = std::string(function) + ": " + rvName(rv);
    switch (rv) {
        case CKR_DEVICE_REMOVED:
        case CKR_TOKEN_NOT_PRESENT:
        case CKR_TOKEN_NOT_RECOGNIZED:
        case CKR_SESSION_HANDLE_INVALID:
        case CKR_SESSION_CLOSED:
        case CKR_SLOT_ID_INVALID:
            throw pcsc::CardRemoved(kRemovedCard, function, rvName(rv));
        case CKR_KEY_HANDLE_INVALID:
        case CKR_OBJECT_HANDLE_INVALID:
            throw KeyNotFound(what);
        case CKR_MECHANISM_INVALID:
        case CKR_MECHANISM_PARAM_INVALID:
        case CKR_KEY_TYPE_INCONSISTENT:
        case CKR_KEY_FUNCTION_NOT_PERMITTED:
        case CKR_FUNCTION_NOT_SUPPORTED:
            throw UnsupportedAlgorithm(what);
        case CKR_ENCRYPTED_DATA_INVALID:
        case CKR_ENCRYPTED_DATA_LEN_RANGE:
            throw DecryptFailed(what);
        case CKR_DATA_LEN_RANGE:
        case CKR_DATA_INVALID:
            throw InvalidInput(what);
        case CKR_PIN_LOCKED:
            throw PinBlocked();
        default:
            throw CardError(kNoPreciseDiagnosis, what);
    }
}

std::shared_ptr<Module> Module::load(const std::string& path) {
    std::lock_guard lock(registryMutex());
    auto& modules = registry();
    if (auto existing = modules[path].lock()) {
        return existing;
    }
    const GetFunctionList getFunctionList = loadFunctionList(path);
    CK_FUNCTION_LIST* functions = nullptr;
    if (const CK_RV rv = getFunctionList(&functions); rv != CKR_OK || functions == nullptr) {
        throw ModuleError(path + ": C_GetFunctionList: " + rvName(rv));
    }
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = functions->C_Initialize(&args);
    // Already initialised by another part of this process (a library that loaded the same
    // module): use it, and leave finalising to its owner.
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        throw ModuleError(path + ": C_Initialize: " + rvName(rv));
    }
    std::shared_ptr<Module> module(new Module(path, functions, rv == CKR_OK));
    modules[path] = module;
    return module;
}

Module::Module(std::string path, CK_FUNCTION_LIST* functions, bool finalize)
    : path_(std::move(path)), functions_(functions), finalize_(finalize) {}

Module::~Module() {
    if (finalize_) {
        functions_->C_Finalize(nullptr);
    }
}

std::string Module::libraryDescription() const {
    CK_INFO info{};
    if (functions_->C_GetInfo(&info) != CKR_OK) {
        return path_;
    }
    return paddedText(info.manufacturerID, sizeof info.manufacturerID) + " " +
           paddedText(info.libraryDescription, sizeof info.libraryDescription);
}

std::vector<SlotDescription> Module::slots(bool withToken) const {
    CK_ULONG count = 0;
    check(functions_->C_GetSlotList(withToken ? CK_TRUE : CK_FALSE, nullptr, &count),
          "C_GetSlotList");
    std::vector<CK_SLOT_ID> ids(count);
    if (count > 0) {
        check(functions_->C_GetSlotList(withToken ? CK_TRUE : CK_FALSE, ids.data(), &count),
              "C_GetSlotList");
        ids.resize(count);
    }
    std::vector<SlotDescription> out;
    for (const CK_SLOT_ID id : ids) {
        if (auto description = slot(id)) {
            out.push_back(std::move(*description));
        }
    }
    return out;
}

std::optional<SlotDescription> Module::slot(CK_SLOT_ID id) const {
    CK_SLOT_INFO info{};
    if (functions_->C_GetSlotInfo(id, &info) != CKR_OK) {
        return std::nullopt;  // went away between the list and this call
    }
    SlotDescription description;
    description.id = id;
    description.description = paddedText(info.slotDescription, sizeof info.slotDescription);
    description.manufacturer = paddedText(info.manufacturerID, sizeof info.manufacturerID);
    description.flags = info.flags;
    return description;
}

TokenDescription Module::token(CK_SLOT_ID id) const {
    CK_TOKEN_INFO info{};
    check(functions_->C_GetTokenInfo(id, &info), "C_GetTokenInfo");
    TokenDescription description;
    description.label = paddedText(info.label, sizeof info.label);
    description.manufacturer = paddedText(info.manufacturerID, sizeof info.manufacturerID);
    description.model = paddedText(info.model, sizeof info.model);
    description.serialNumber = paddedText(info.serialNumber, sizeof info.serialNumber);
    description.flags = info.flags;
    description.minPinLength = info.ulMinPinLen;
    description.maxPinLength = info.ulMaxPinLen;
    return description;
}

}  // namespace tk::card::pkcs11
