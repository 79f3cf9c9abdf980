#include "cli/origins_file.hpp"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <toml++/toml.h>

#include "cli/config_file.hpp"
#include "cli/exit_status.hpp"
#include "service/capabilities.hpp"

namespace tk::cli {
namespace {

namespace fs = std::filesystem;

constexpr service::Capability kAllCapabilities[] = {
    service::Capability::Read,     service::Capability::Sign,   service::Capability::Decrypt,
    service::Capability::Register, service::Capability::Manage, service::Capability::SignRaw,
    service::Capability::SignCms};

std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string trimmed(const std::string& line) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
        return {};
    }
    const auto last = line.find_last_not_of(" \t\r");
    return line.substr(first, last - first + 1);
}

bool isBlankOrComment(const std::string& line) {
    const std::string t = trimmed(line);
    return t.empty() || t.front() == '#';
}

bool isTableHeader(const std::string& line) {
    const std::string t = trimmed(line);
    return !t.empty() && t.front() == '[';
}

// "[[origins]]", also "[[ origins ]]" and with a comment after it.
bool isOriginsHeader(const std::string& line) {
    std::string t = trimmed(line);
    if (const auto hash = t.find('#'); hash != std::string::npos) {
        t = trimmed(t.substr(0, hash));
    }
    std::string compact;
    for (const char c : t) {
        if (c != ' ' && c != '\t') {
            compact += c;
        }
    }
    return compact == "[[origins]]";
}

std::string tomlString(const std::string& value) {
    std::string out = "\"";
    for (const char c : value) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

// The capabilities as the loader would give them for an [[origins]] entry.
bool sameOrigins(const std::vector<service::OriginEntry>& a,
                 const std::vector<service::OriginEntry>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].pattern != b[i].pattern || !(a[i].capabilities == b[i].capabilities)) {
            return false;
        }
    }
    return true;
}

bool sameListeners(const service::Config& a, const service::Config& b) {
    if (a.listeners.size() != b.listeners.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.listeners.size(); ++i) {
        const auto& x = a.listeners[i];
        const auto& y = b.listeners[i];
        if (x.address != y.address || x.port != y.port || x.certificateFile != y.certificateFile ||
            x.privateKeyFile != y.privateKeyFile) {
            return false;
        }
    }
    return true;
}

// Everything but the allow-list is equal.
bool sameRest(const service::Config& a, const service::Config& b) {
    const auto& x = a.limits;
    const auto& y = b.limits;
    return sameListeners(a, b) && x.maxMessageBytes == y.maxMessageBytes &&
           x.maxConnections == y.maxConnections &&
           x.maxInFlightPerConnection == y.maxInFlightPerConnection &&
           x.operationTimeout == y.operationTimeout && x.pinpadTimeout == y.pinpadTimeout &&
           x.maxParameterBytes == y.maxParameterBytes && a.logLevel == b.logLevel &&
           a.logSink == b.logSink && a.developmentMode == b.developmentMode &&
           a.allowNoPinKeys == b.allowNoPinKeys && a.pkcs11Modules == b.pkcs11Modules &&
           a.preferPkcs11 == b.preferPkcs11;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

}  // namespace

OriginArgument parseOriginOperand(const std::string& operand) {
    OriginArgument origin;
    try {
        origin.entry = service::parseOriginArgument(operand);
    } catch (const service::ConfigError& e) {
        // The loader words it for tenderkeyd's flag; say it for this command.
        std::string message = e.what();
        const std::string prefix = "--allow-origin " + operand + ": ";
        if (message.starts_with(prefix)) {
            message = message.substr(prefix.size());
        }
        throw ConfigProblem(operand + ": " + message);
    }
    origin.explicitCapabilities = operand.find('=') != std::string::npos;
    return origin;
}

std::string capabilityList(const service::Capabilities& capabilities) {
    std::string text;
    for (const auto capability : kAllCapabilities) {
        if (capabilities.has(capability)) {
            text += (text.empty() ? "" : ",") + std::string(service::capabilityName(capability));
        }
    }
    return text;
}

std::vector<OriginLocation> locateOrigins(const std::string& text, const std::string& path) {
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        throw ConfigProblem(path + ":" + std::to_string(e.source().begin.line) + ": " +
                            std::string(e.description()));
    }
    std::vector<OriginLocation> found;
    const toml::array* origins = root["origins"].as_array();
    if (origins == nullptr) {
        return found;
    }
    for (const toml::node& element : *origins) {
        const toml::table* table = element.as_table();
        const toml::node* origin = table != nullptr ? table->get("origin") : nullptr;
        if (origin == nullptr || !origin->is_string()) {
            throw ConfigProblem(path + ":" + std::to_string(element.source().begin.line) +
                                ": an [[origins]] entry without origin");
        }
        std::string argument = origin->as_string()->get();
        if (const toml::node* caps = table->get("capabilities"); caps && caps->is_array()) {
            std::string list;
            for (const toml::node& name : *caps->as_array()) {
                list += (list.empty() ? "" : ",") + name.value_or(std::string());
            }
            argument += "=" + list;
        }
        OriginLocation location;
        location.entry = parseOriginOperand(argument).entry;
        location.originLine = origin->source().begin.line;
        found.push_back(std::move(location));
    }
    return found;
}

std::string withOriginAppended(const std::string& text, const OriginArgument& origin) {
    std::string out = text;
    if (!out.empty() && out.back() != '\n') {
        out += '\n';
    }
    if (!out.empty()) {
        out += '\n';
    }
    out += "[[origins]]\norigin = " + tomlString(origin.entry.pattern) + "\n";
    if (origin.explicitCapabilities) {
        std::string list;
        for (const auto capability : kAllCapabilities) {
            if (origin.entry.capabilities.has(capability)) {
                list += (list.empty() ? "" : ", ") +
                        tomlString(std::string(service::capabilityName(capability)));
            }
        }
        out += "capabilities = [" + list + "]\n";
    }
    return out;
}

std::string withOriginRemoved(const std::string& text, std::size_t originLine) {
    const std::vector<std::string> lines = splitLines(text);
    if (originLine == 0 || originLine > lines.size()) {
        throw ConfigProblem("line " + std::to_string(originLine) + " is not in the file");
    }
    std::size_t header = originLine - 1;
    while (true) {
        if (isTableHeader(lines[header]) && header != originLine - 1) {
            break;
        }
        if (header == 0) {
            throw ConfigProblem("the origin at line " + std::to_string(originLine) +
                                " is not in an [[origins]] table; edit this file by hand");
        }
        --header;
    }
    if (!isOriginsHeader(lines[header])) {
        throw ConfigProblem("the origin at line " + std::to_string(originLine) +
                            " is not in an [[origins]] table; edit this file by hand");
    }
    std::size_t last = header;
    for (std::size_t i = header + 1; i < lines.size() && !isTableHeader(lines[i]); ++i) {
        if (!isBlankOrComment(lines[i])) {
            last = i;
        }
    }
    std::size_t first = header;
    // The blank line that separated the table from what came before goes with it.
    if (first > 0 && trimmed(lines[first - 1]).empty()) {
        --first;
    }
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i >= first && i <= last) {
            continue;
        }
        out += lines[i];
        if (i + 1 < lines.size() || (!text.empty() && text.back() == '\n')) {
            out += '\n';
        }
    }
    return out;
}

EditResult editConfigFile(const std::string& givenPath,
                          const std::function<PlannedEdit(const std::string& text,
                                                          const service::Config& current)>& edit) {
    std::error_code error;
    const fs::path path = fs::canonical(givenPath, error);  // follows a symlink to the real file
    if (error) {
        throw ConfigProblem(givenPath + ": " + error.message() +
                            " (create it from tenderkeyd.example.toml, or give --config)");
    }
    LockedConfigFile file(path);
    const std::string& text = file.text();
    service::Config current;
    try {
        current = service::loadConfigFile(path.string());
    } catch (const service::ConfigError& e) {
        throw ConfigProblem(std::string(e.what()) + " (the file must load before it is edited)");
    }
    PlannedEdit plan = edit(text, current);
    EditResult result;
    result.action = plan.action;
    if (!plan.text) {
        result.origins = current.origins;
        return result;
    }

    service::Config edited;
    file.replace(*plan.text, [&](const std::string& temporaryPath) {
        try {
            edited = service::loadConfigFile(temporaryPath);
        } catch (const service::ConfigError& e) {
            throw ConfigProblem("the change would make the configuration invalid: " +
                                replaceAll(e.what(), temporaryPath, path.string()) +
                                "; the file was not changed");
        }
        if (!sameRest(current, edited) || !sameOrigins(edited.origins, plan.expectedOrigins)) {
            throw ConfigProblem(
                "the edit would change more than the origin allow-list (unusual layout of " +
                path.string() + "?); the file was not changed, edit it by hand");
        }
    });
    result.changed = true;
    result.origins = edited.origins;
    return result;
}

EditResult addOrigin(const std::string& path, const OriginArgument& origin) {
    return editConfigFile(path, [&](const std::string& text, const service::Config& current) {
        PlannedEdit plan;
        std::vector<OriginLocation> located = locateOrigins(text, path);
        plan.expectedOrigins = current.origins;
        for (std::size_t i = 0; i < located.size(); ++i) {
            if (located[i].entry.pattern != origin.entry.pattern) {
                continue;
            }
            if (located[i].entry.capabilities == origin.entry.capabilities) {
                plan.action = "unchanged";
                return plan;
            }
            // Another capability set: the entry is replaced, at the end of the file.
            plan.text = withOriginAppended(withOriginRemoved(text, located[i].originLine), origin);
            plan.action = "updated";
            plan.expectedOrigins.erase(plan.expectedOrigins.begin() +
                                       static_cast<std::ptrdiff_t>(i));
            plan.expectedOrigins.push_back(origin.entry);
            return plan;
        }
        plan.text = withOriginAppended(text, origin);
        plan.action = "added";
        plan.expectedOrigins.push_back(origin.entry);
        return plan;
    });
}

EditResult removeOrigin(const std::string& path, const std::string& pattern) {
    return editConfigFile(path, [&](const std::string& text, const service::Config& current) {
        PlannedEdit plan;
        std::vector<OriginLocation> located = locateOrigins(text, path);
        plan.expectedOrigins = current.origins;
        for (std::size_t i = 0; i < located.size(); ++i) {
            if (located[i].entry.pattern == pattern) {
                plan.text = withOriginRemoved(text, located[i].originLine);
                plan.action = "removed";
                plan.expectedOrigins.erase(plan.expectedOrigins.begin() +
                                           static_cast<std::ptrdiff_t>(i));
                return plan;
            }
        }
        throw ConfigProblem(pattern + " is not in the allow-list of " + path);
    });
}

}  // namespace tk::cli
