#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tk::service {

// Whether `domain` (lowercase ASCII, internationalised labels in punycode) is a public suffix:
// a name under which unrelated parties register their own names (gov.tw, com.tw, co.uk,
// github.io, fly.dev, ...), on which a wildcard allow-list entry would admit strangers. Both
// sections of the Public Suffix List count, ICANN's and the private one (shared hosting), and
// so does every name the list does not know at the top level (its implicit `*` rule).
// nullopt when no list could be loaded: the caller must then refuse what it cannot check.
std::optional<bool> isPublicSuffix(std::string_view domain);

// The registrable domain of `host` (same form as above): the public suffix it is under plus one
// label ("web.pcc.gov.tw" -> "pcc.gov.tw"). nullopt for an IP literal, for a host that is itself
// a public suffix, and when no list could be loaded.
std::optional<std::string> registrableDomain(std::string_view host);

}  // namespace tk::service
