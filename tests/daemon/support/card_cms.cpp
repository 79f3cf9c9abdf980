#include "support/card_cms.hpp"

#include <gtest/gtest.h>

#include "support/harness_files.hpp"
#include "support/test_env.hpp"

namespace tk::test {

std::string verifyCms(const std::string& der) {
    const auto file = [](const std::string& name) { return env("TK_HARNESS_DIR") + "/" + name; };
    writeFile(file("sig.der"), der);
    const std::string command = "openssl cms -verify -binary -inform DER -in " + file("sig.der") +
                                " -CAfile " + env("TK_VCARD_CA_0") + " -out " +
                                file("verified.bin");
    if (run(command, file("verify.log")) != 0) {
        ADD_FAILURE() << readFile(file("verify.log"));
        return {};
    }
    return readFile(file("verified.bin"));
}

}  // namespace tk::test
