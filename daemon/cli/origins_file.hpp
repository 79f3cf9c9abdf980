#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "service/config.hpp"

namespace tk::cli {

// Edits of the [[origins]] tables of a tenderkeyd configuration, made on the text so that
// comments, order and layout of everything else stay as the administrator wrote them.

// "ORIGIN" or "ORIGIN=cap,cap", checked with the daemon's own rules. Throws ConfigProblem.
struct OriginArgument {
    service::OriginEntry entry;  // canonical pattern
    bool explicitCapabilities = false;
};
OriginArgument parseOriginOperand(const std::string& operand);

// "read,sign,decrypt" in the order of the protocol.
std::string capabilityList(const service::Capabilities& capabilities);

// Where an allow-list entry sits in the file's text (1-based line of its `origin` key).
struct OriginLocation {
    service::OriginEntry entry;
    std::size_t originLine = 0;
};

// The [[origins]] entries of `text` (a TOML document), in order. Throws ConfigProblem when the
// text is not TOML or an entry cannot be read (the loader gives the precise message).
std::vector<OriginLocation> locateOrigins(const std::string& text, const std::string& path);

// `text` with a new [[origins]] table at its end.
std::string withOriginAppended(const std::string& text, const OriginArgument& origin);

// `text` without the [[origins]] table whose `origin` key is on `originLine`: from its header
// line to its last key line (comments after it, before the next table, stay). Throws
// ConfigProblem when that line is not inside an [[origins]] table (e.g. an inline array).
std::string withOriginRemoved(const std::string& text, std::size_t originLine);

// What an edit did.
struct EditResult {
    bool changed = false;
    std::string action;                         // "added", "updated", "removed", "unchanged"
    std::vector<service::OriginEntry> origins;  // the allow-list now in the file
};

// Reads the file under an exclusive flock (ConfigBusy when another edit holds it), applies
// `edit` to its text, checks the result with the daemon's loader (ConfigProblem when it does
// not load, or when anything but the allow-list would change), and replaces the file
// atomically: a temporary file in the same directory with the same mode and owner, fsync,
// rename, fsync of the directory. `edit` returns nullopt for "nothing to change".
struct PlannedEdit {
    std::optional<std::string> text;
    std::string action;
    std::vector<service::OriginEntry> expectedOrigins;
};
EditResult editConfigFile(const std::string& path,
                          const std::function<PlannedEdit(const std::string& text,
                                                          const service::Config& current)>& edit);

// The whole file-level operations of `tenderkey origins add|remove`.
EditResult addOrigin(const std::string& path, const OriginArgument& origin);
EditResult removeOrigin(const std::string& path, const std::string& pattern);

}  // namespace tk::cli
