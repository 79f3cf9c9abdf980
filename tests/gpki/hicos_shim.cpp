// A PKCS#11 module for tests that makes a SoftHSM2 token look like a HiCOS card seen through
// Chunghwa Telecom's module: every call goes to the module named by TK_HICOS_SHIM_MODULE
// (SoftHSM2 by default), except
// - C_GetTokenInfo: HiCOS's label, manufacturer and model, PIN length 6 to 8, and the user PIN
//   flags of the shim's own counter (SoftHSM2 has no retry counter);
// - C_Login (user and context-specific): a 3-try counter per slot. A wrong PIN counts down
//   (CKF_USER_PIN_COUNT_LOW, then CKF_USER_PIN_FINAL_TRY at one try left, CKF_USER_PIN_LOCKED
//   at none); a locked PIN answers CKR_PIN_LOCKED without reaching the token; a right PIN
//   resets the counter.
// When TK_HICOS_SHIM_LOG names a file, every C_Login appends one line to it ("C_Login"), so a
// test can tell whether the token was touched. No PIN is ever written.

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace {

constexpr int kTries = 3;
constexpr const char* kDefaultTarget = "/usr/lib/softhsm/libsofthsm2.so";

CK_FUNCTION_LIST* target = nullptr;
CK_FUNCTION_LIST shim{};
std::mutex mutex;
std::map<CK_SLOT_ID, int> triesLeft;  // slots not in the map have all their tries

int tries(CK_SLOT_ID slot) {
    const auto it = triesLeft.find(slot);
    return it == triesLeft.end() ? kTries : it->second;
}

void setPadded(unsigned char* field, std::size_t size, const char* text) {
    std::memset(field, ' ', size);
    std::memcpy(field, text, std::min(size, std::strlen(text)));
}

void logLogin() {
    const char* path = std::getenv("TK_HICOS_SHIM_LOG");
    if (path == nullptr) {
        return;
    }
    if (FILE* file = std::fopen(path, "a"); file != nullptr) {
        std::fputs("C_Login\n", file);
        std::fclose(file);
    }
}

CK_RV shimGetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
    const CK_RV rv = target->C_GetTokenInfo(slot, info);
    if (rv != CKR_OK || info == nullptr) {
        return rv;
    }
    setPadded(info->label, sizeof info->label, "HiCOS PKI Smart Card");
    setPadded(info->manufacturerID, sizeof info->manufacturerID, "Chunghwa TeleCom Co., Ltd.");
    setPadded(info->model, sizeof info->model, "HiCOS PKI");
    info->ulMinPinLen = 6;
    info->ulMaxPinLen = 8;
    info->flags &= ~(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED |
                     CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED);
    std::lock_guard lock(mutex);
    const int left = tries(slot);
    if (left == 0) {
        info->flags |= CKF_USER_PIN_LOCKED;
    } else if (left == 1) {
        info->flags |= CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY;
    } else if (left < kTries) {
        info->flags |= CKF_USER_PIN_COUNT_LOW;
    }
    return CKR_OK;
}

CK_RV shimLogin(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR* pin, CK_ULONG length) {
    logLogin();
    if (user != CKU_USER && user != CKU_CONTEXT_SPECIFIC) {
        return target->C_Login(session, user, pin, length);
    }
    CK_SESSION_INFO info{};
    if (const CK_RV rv = target->C_GetSessionInfo(session, &info); rv != CKR_OK) {
        return rv;
    }
    std::lock_guard lock(mutex);
    if (tries(info.slotID) == 0) {
        return CKR_PIN_LOCKED;
    }
    const CK_RV rv = target->C_Login(session, user, pin, length);
    if (rv == CKR_PIN_INCORRECT) {
        triesLeft[info.slotID] = tries(info.slotID) - 1;
    } else if (rv == CKR_OK) {
        triesLeft.erase(info.slotID);
    }
    return rv;
}

CK_RV shimGetFunctionList(CK_FUNCTION_LIST** list);

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST** list) {
    return shimGetFunctionList(list);
}

namespace {

CK_RV shimGetFunctionList(CK_FUNCTION_LIST** list) {
    if (list == nullptr) {
        return CKR_ARGUMENTS_BAD;
    }
    std::lock_guard lock(mutex);
    if (target == nullptr) {
        const char* path = std::getenv("TK_HICOS_SHIM_MODULE");
        void* library = dlopen(path != nullptr ? path : kDefaultTarget, RTLD_NOW | RTLD_LOCAL);
        if (library == nullptr) {
            return CKR_GENERAL_ERROR;
        }
        auto* get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
        if (get == nullptr || get(&target) != CKR_OK || target == nullptr) {
            target = nullptr;
            return CKR_GENERAL_ERROR;
        }
        shim = *target;
        shim.C_GetFunctionList = C_GetFunctionList;
        shim.C_GetTokenInfo = shimGetTokenInfo;
        shim.C_Login = shimLogin;
    }
    *list = &shim;
    return CKR_OK;
}

}  // namespace
