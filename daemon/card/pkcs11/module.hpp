#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <p11-kit/pkcs11.h>

#include "card/errors.hpp"

namespace tk::card::pkcs11 {

// A module that cannot be loaded or initialised (missing file, no C_GetFunctionList,
// C_Initialize refused).
class ModuleError : public Error {
  public:
    using Error::Error;
};

// What a slot says about itself, with the space padding of the fixed-size fields removed.
struct SlotDescription {
    CK_SLOT_ID id = 0;
    std::string description;
    std::string manufacturer;
    CK_FLAGS flags = 0;
    bool tokenPresent() const noexcept { return (flags & CKF_TOKEN_PRESENT) != 0; }
};

struct TokenDescription {
    std::string label;
    std::string manufacturer;
    std::string model;
    std::string serialNumber;
    CK_FLAGS flags = 0;
    unsigned long minPinLength = 0;
    unsigned long maxPinLength = 0;
};

// One PKCS#11 module (a vendor's .so or .dll), loaded by library.hpp and initialised once per
// process:
// C_Initialize with CKF_OS_LOCKING_OK (the module may be called from several threads; each
// token is used by one thread at a time) and C_Finalize when the last user lets go. The
// library stays mapped after C_Finalize: modules linked with OpenSSL or with their own
// atexit handlers crash the process at exit when they are unmapped.
class Module {
  public:
    // The module at `path`, shared with every other user of the same path in this process.
    // Throws ModuleError.
    static std::shared_ptr<Module> load(const std::string& path);

    ~Module();
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    Module(Module&&) = delete;
    Module& operator=(Module&&) = delete;

    const std::string& path() const noexcept { return path_; }
    CK_FUNCTION_LIST* functions() const noexcept { return functions_; }
    // The module's own description (CK_INFO), for logs.
    std::string libraryDescription() const;

    // Slots; `withToken` asks the module for slots with a token only.
    std::vector<SlotDescription> slots(bool withToken) const;
    std::optional<SlotDescription> slot(CK_SLOT_ID id) const;
    // Throws what throwForRv throws (e.g. pcsc::CardRemoved when the token is gone).
    TokenDescription token(CK_SLOT_ID id) const;

  private:
    Module(std::string path, CK_FUNCTION_LIST* functions, bool finalize);

    std::string path_;
    CK_FUNCTION_LIST* functions_;
    bool finalize_;
};

// "CKR_PIN_INCORRECT", or "CKR 0x…" for a value without a name here.
std::string rvName(CK_RV rv);

// Throws the card or PC/SC error that matches `rv` (which is not CKR_OK), naming `function`:
// - token gone (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
//   CKR_SESSION_CLOSED, CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_RECOGNIZED): pcsc::CardRemoved;
// - CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED and anything
//   else: CardError (CARD_ERROR), with the return value in its message;
// - CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID: KeyNotFound;
// - CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_KEY_TYPE_INCONSISTENT,
//   CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_FUNCTION_NOT_SUPPORTED: UnsupportedAlgorithm;
// - CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE: DecryptFailed;
// - CKR_DATA_LEN_RANGE, CKR_DATA_INVALID: InvalidInput.
// PIN answers are mapped by the token, which knows which secret was sent.
[[noreturn]] void throwForRv(CK_RV rv, const char* function);

// Calls throwForRv unless rv is CKR_OK.
inline void check(CK_RV rv, const char* function) {
    if (rv != CKR_OK) {
        throwForRv(rv, function);
    }
}

// A fixed-size, space-padded PKCS#11 text field without the padding.
std::string paddedText(const unsigned char* field, std::size_t size);

}  // namespace tk::card::pkcs11
