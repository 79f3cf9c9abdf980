// dlopen: Linux and the other POSIX systems (daemon/card/pkcs11/CMakeLists.txt).
#include <dlfcn.h>

#include "card/pkcs11/library.hpp"
#include "card/pkcs11/module.hpp"

namespace tk::card::pkcs11 {

GetFunctionList loadFunctionList(const std::string& path) {
    // RTLD_LOCAL: two modules may export the same symbol names. The handle is never closed
    // (see Module).
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* error = dlerror();
        throw ModuleError("cannot load PKCS#11 module " + path + ": " +
                          (error != nullptr ? error : "unknown error"));
    }
    auto* getFunctionList = reinterpret_cast<GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
    if (getFunctionList == nullptr) {
        throw ModuleError(path + " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    return getFunctionList;
}

}  // namespace tk::card::pkcs11
