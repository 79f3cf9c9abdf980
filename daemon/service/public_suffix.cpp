#include "service/public_suffix.hpp"

#include <libpsl.h>

#include <string>

namespace tk::service {
namespace {

// The one place that decides where the Public Suffix List comes from, read once per process.
//
// psl_latest(NULL) takes the newest of the lists libpsl knows: the distribution's file
// (PSL_DISTFILE; on Debian /usr/share/publicsuffix/public_suffix_list.dafsa from the
// `publicsuffix` package, which the OS keeps up to date) and the copy compiled into libpsl.
// The newer one wins, so an updated `publicsuffix` package takes effect at the next start
// without rebuilding anything. On Windows libpsl is built without a distribution file and the
// same call returns the compiled-in copy, which is as current as the libpsl build the
// installer ships. A libpsl built with neither gives no list at all; the origin rules then
// refuse every wildcard entry rather than guess.
const psl_ctx_t* publicSuffixList() {
    // Kept for the life of the process (never psl_free'd: lookups may run until exit).
    static const psl_ctx_t* const list = psl_latest(nullptr);
    return list;
}

}  // namespace

std::optional<bool> isPublicSuffix(std::string_view domain) {
    const psl_ctx_t* list = publicSuffixList();
    if (list == nullptr) {
        return std::nullopt;
    }
    const std::string name(domain);
    return psl_is_public_suffix2(list, name.c_str(), PSL_TYPE_ANY) != 0;
}

std::optional<std::string> registrableDomain(std::string_view host) {
    const psl_ctx_t* list = publicSuffixList();
    const bool ipLiteral = host.empty() || host.front() == '[' ||
                           host.find_first_not_of("0123456789.") == std::string_view::npos;
    if (list == nullptr || ipLiteral) {
        return std::nullopt;
    }
    const std::string name(host);
    const char* domain = psl_registrable_domain(list, name.c_str());
    if (domain == nullptr) {
        return std::nullopt;
    }
    return std::string(domain);
}

}  // namespace tk::service
